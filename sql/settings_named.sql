-- settings_named.sql: what value does this session have for each of these settings?
-- Answers: name and setting (in the setting's base unit: milliseconds for the timeouts) of each
-- setting named in $1, from pg_settings. Read right after connecting, it shows whether the
-- settings sent in the startup packet took effect: a connection pooler can accept them and
-- drop them (PgBouncer's ignore_startup_parameters = options).
-- Parameters: $1 text[] setting names, lower case.
-- Server versions: any; tested on 13-18.
select name, setting
from pg_catalog.pg_settings
where name operator(pg_catalog.=) any ($1::pg_catalog.text[])
