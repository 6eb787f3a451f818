-- apply_session_settings.sql: give this transaction the session's settings.
-- Behind a pooler in transaction mode (PgBouncer) a session's settings cannot travel in the
-- startup packet, and a plain SET would stay on a server connection that others then get:
-- set_config(..., true) lasts exactly as long as the transaction.
-- Parameters: $1 text[] setting names, $2 text[] values (same order).
-- Named with their schemas: a pooled server connection may carry another client's search_path.
-- Server versions: any; tested on 13-18.
select pg_catalog.count(pg_catalog.set_config(name, value, true)) as applied
from rows from (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.text[]))
       as s(name, value)
