-- doctor_connections.sql: how many of the server's connection slots are in use?
-- Answers: client sessions now (every database), max_connections, the slots kept for
-- superusers (and, from PostgreSQL 16, for roles with pg_use_reserved_connections), and
-- the slots ordinary roles can use; the five user@database pairs holding the most client
-- sessions (busiest, as 'user@database: sessions') and how many pairs there are (pairs).
-- Server versions: PostgreSQL 10 and later (backend_type); tested on 13-18.
select count(*) filter (where a.backend_type = 'client backend') as in_use,
       current_setting('max_connections')::int as max_connections,
       current_setting('superuser_reserved_connections')::int
         + coalesce(current_setting('reserved_connections', true)::int, 0) as reserved,
       current_setting('max_connections')::int
         - current_setting('superuser_reserved_connections')::int
         - coalesce(current_setting('reserved_connections', true)::int, 0) as usable,
       array(select coalesce(g.usename::text, '?') || '@' || coalesce(g.datname::text, '?') || ': '
                    || count(*)
               from pg_stat_activity g
              where g.backend_type = 'client backend'
              group by g.usename, g.datname
              order by count(*) desc, g.usename, g.datname
              limit 5) as busiest,
       (select count(*) from (select distinct g.usename, g.datname from pg_stat_activity g
                               where g.backend_type = 'client backend') p) as pairs
from pg_stat_activity a
