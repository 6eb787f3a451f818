-- long_running_queries.sql: which queries have been running longer than a threshold?
-- Answers: active client sessions (not this one) whose current query started more
-- than $1 seconds ago: pid, user, database, application, seconds running, wait
-- event, and the query (whitespace folded, cut to 300 characters); longest first.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 numeric threshold in seconds, $2 int row limit.
-- Server versions: PostgreSQL 10 and later (backend_type); tested on 13-18.
select a.pid,
       a.usename as "user",
       a.datname as database,
       a.application_name as application,
       round(extract(epoch from now() - a.query_start)::numeric, 1) as running_seconds,
       a.wait_event_type,
       a.wait_event,
       left(regexp_replace(a.query, '\s+', ' ', 'g'), 300) as query,
       count(*) over () as total
from pg_stat_activity a
where a.pid <> pg_backend_pid()
  and a.backend_type = 'client backend'
  and a.state = 'active'
  and a.query_start < now() - make_interval(secs => $1::numeric::double precision)
order by a.query_start, a.pid
limit $2
