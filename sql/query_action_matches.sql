-- query_action_matches.sql: which non-idle sessions run a query matching a pattern?
-- Answers: pid, user, database, state, seconds since the query started, and the
-- query (cut to 300 characters) of every client session but this one that is not
-- idle, whose query matches the ILIKE pattern $1 and, when $2 is given, whose
-- user is $2; oldest query first.
-- total: how many rows match in all, before the limit (the same on every row).
-- backend_start, query_start: when the session and its query started, as text to the
-- microsecond: the signal goes only to the session still running the query listed.
-- Parameters: $1 text ILIKE pattern, $2 text user name or null, $3 int row limit.
-- Server versions: PostgreSQL 10 and later (backend_type); tested on 13-18.
select a.pid,
       a.usename as "user",
       a.datname as database,
       a.state,
       round(extract(epoch from now() - a.query_start)::numeric, 1) as query_seconds,
       left(regexp_replace(a.query, '\s+', ' ', 'g'), 300) as query,
       count(*) over () as total,
       a.backend_start::text as backend_start,
       a.query_start::text as query_start
from pg_stat_activity a
where a.pid <> pg_backend_pid()
  and a.backend_type = 'client backend'
  and a.state is distinct from 'idle'
  and a.query ilike $1::text
  and ($2::text is null or a.usename = $2::text)
order by a.query_start, a.pid
limit $3
