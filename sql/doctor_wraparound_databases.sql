-- doctor_wraparound_databases.sql: how close is each database to transaction ID and
-- multixact ID wraparound?
-- Answers: per database, the age of its oldest unfrozen transaction ID (datfrozenxid) and
-- multixact ID (datminmxid), and the age at which autovacuum forces a freeze; oldest first.
-- PostgreSQL stops assigning IDs about 2^31 (2147483648) IDs after the oldest.
-- Server versions: PostgreSQL 9.5 and later (mxid_age); tested on 13-18.
select d.datname as database,
       age(d.datfrozenxid) as xid_age,
       mxid_age(d.datminmxid) as multixact_age,
       current_setting('autovacuum_freeze_max_age')::bigint as freeze_max_age
from pg_database d
order by age(d.datfrozenxid) desc, d.datname
