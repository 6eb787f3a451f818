-- activity_overview.sql: which sessions are doing something (or holding a transaction open)?
-- Answers: every client session but this one that is not idle: pid, user,
-- database, application, client address, state, wait event type and event,
-- seconds since its query and its transaction started, and the query (whitespace
-- folded, cut to 300 characters). Sessions idle in a transaction are included,
-- since an open transaction holds locks and blocks vacuum; oldest transaction first.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 10 and later (backend_type); tested on 13-18.
select a.pid,
       a.usename as "user",
       a.datname as database,
       a.application_name as application,
       host(a.client_addr) as client_addr,
       a.state,
       a.wait_event_type,
       a.wait_event,
       round(extract(epoch from now() - a.query_start)::numeric, 1) as query_seconds,
       round(extract(epoch from now() - a.xact_start)::numeric, 1) as xact_seconds,
       left(regexp_replace(a.query, '\s+', ' ', 'g'), 300) as query,
       count(*) over () as total
from pg_stat_activity a
where a.pid <> pg_backend_pid()
  and a.backend_type = 'client backend'
  and a.state is distinct from 'idle'
order by a.xact_start nulls last, a.query_start nulls last, a.pid
limit $1
