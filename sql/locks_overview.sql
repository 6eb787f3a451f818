-- locks_overview.sql: which sessions wait on a lock, and which session holds it up?
-- Answers: one row per blocked session and each session blocking it
-- (pg_blocking_pids): both pids, users and queries, how long the blocked query
-- has run, the lock it waits for (type and mode) and the relation involved,
-- and whether the blocker is itself waiting, so that chains (A blocks B blocks
-- C) show as rows linked by pid. Longest wait first.
-- Server versions: PostgreSQL 9.6 and later (pg_blocking_pids); tested on 13-18.
select w.pid as blocked_pid,
       w.usename as blocked_user,
       round(extract(epoch from now() - w.query_start)::numeric, 1) as blocked_seconds,
       wl.locktype as lock_type,
       wl.mode as lock_mode,
       coalesce(wl.relation, held.relation)::regclass::text as relation,
       left(regexp_replace(w.query, '\s+', ' ', 'g'), 200) as blocked_query,
       b.pid as blocking_pid,
       b.usename as blocking_user,
       b.state as blocking_state,
       cardinality(pg_blocking_pids(b.pid)) > 0 as blocking_is_waiting,
       round(extract(epoch from now() - b.xact_start)::numeric, 1) as blocking_xact_seconds,
       left(regexp_replace(b.query, '\s+', ' ', 'g'), 200) as blocking_query
from pg_stat_activity w
cross join lateral unnest(pg_blocking_pids(w.pid)) as blocker(pid)
join pg_stat_activity b on b.pid = blocker.pid
left join lateral (
  select l.locktype, l.mode, l.relation
  from pg_locks l
  where l.pid = w.pid and not l.granted
  limit 1
) wl on true
left join lateral (
  select l.relation
  from pg_locks l
  join pg_class c on c.oid = l.relation
  where l.pid = w.pid and l.granted and l.locktype = 'relation' and c.relkind in ('r', 'p')
  order by l.relation
  limit 1
) held on true
where w.pid <> pg_backend_pid()
order by w.query_start, w.pid, b.pid
