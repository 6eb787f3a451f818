-- backend_session.sql: what is session $1, and is it this very session?
-- Answers: pid, user, database, backend type, state and query (cut to 200
-- characters) of the server process $1, whether it is the caller's own
-- session, and when it started and when its query started (as text, to the
-- microsecond: signal_backend.sql signals only the session, and the query,
-- seen here); no row when no such process exists.
-- Parameters: $1 int pid.
-- Server versions: PostgreSQL 10 and later (backend_type); tested on 13-18.
select a.pid,
       a.usename as "user",
       a.datname as database,
       a.backend_type,
       a.state,
       left(regexp_replace(coalesce(a.query, ''), '\s+', ' ', 'g'), 200) as query,
       a.pid = pg_backend_pid() as is_self,
       a.backend_start::text as backend_start,
       a.query_start::text as query_start
from pg_stat_activity a
where a.pid = $1::int
