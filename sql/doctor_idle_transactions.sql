-- doctor_idle_transactions.sql: which sessions have sat idle inside a transaction too long?
-- Answers: client sessions (not this one) idle in a transaction (or in a failed one) for
-- more than $1 seconds: pid, user, database, application, seconds idle, seconds since the
-- transaction began, and the last query (whitespace folded, cut to 200 characters); longest
-- idle first. Such a session holds its locks and keeps vacuum from removing dead rows.
-- total: how many such sessions there are in all, before the limit (the same on every row).
-- Parameters: $1 numeric threshold in seconds, $2 int row limit.
-- Server versions: PostgreSQL 10 and later (backend_type); tested on 13-18.
select a.pid,
       a.usename as "user",
       a.datname as database,
       a.application_name as application,
       round(extract(epoch from now() - a.state_change)::numeric, 1) as idle_seconds,
       round(extract(epoch from now() - a.xact_start)::numeric, 1) as xact_seconds,
       left(regexp_replace(a.query, '\s+', ' ', 'g'), 200) as query,
       count(*) over () as total
from pg_stat_activity a
where a.pid <> pg_backend_pid()
  and a.backend_type = 'client backend'
  and a.state in ('idle in transaction', 'idle in transaction (aborted)')
  and a.state_change < now() - make_interval(secs => $1::numeric::double precision)
order by a.state_change, a.pid
limit $2
