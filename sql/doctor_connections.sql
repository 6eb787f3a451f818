-- doctor_connections.sql: how many of the server's connection slots are in use?
-- Answers: client sessions now (every database), max_connections, the slots kept for
-- superusers (and, from PostgreSQL 16, for roles with pg_use_reserved_connections), and
-- the slots ordinary roles can use.
-- Server versions: PostgreSQL 10 and later (backend_type); tested on 13-18.
select count(*) filter (where a.backend_type = 'client backend') as in_use,
       current_setting('max_connections')::int as max_connections,
       current_setting('superuser_reserved_connections')::int
         + coalesce(current_setting('reserved_connections', true)::int, 0) as reserved,
       current_setting('max_connections')::int
         - current_setting('superuser_reserved_connections')::int
         - coalesce(current_setting('reserved_connections', true)::int, 0) as usable
from pg_stat_activity a
