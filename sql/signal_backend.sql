-- signal_backend.sql: cancel the query of, or terminate, server process $1, if it is still
-- the session (and, when $4 is given, still running the query) that was confirmed.
-- Answers: one row, signalled: whether the signal was sent; no row when the process is gone,
-- its PID now belongs to another session (backend_start differs from $3), or it runs another
-- query than the one confirmed (query_start differs from $4). The check and the signal are one
-- statement, so what was confirmed is what is signalled.
-- Raises 42501 when the caller may not signal that session.
-- Parameters: $1 int pid, $2 text action ('cancel' or 'terminate'), $3 text backend_start,
-- $4 text query_start or null (any query). Both are null where the caller may not see them
-- (another role's session without pg_read_all_stats): then only the PID is checked.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select case $2::text
         when 'cancel' then pg_cancel_backend(a.pid)
         when 'terminate' then pg_terminate_backend(a.pid)
       end as signalled
from pg_stat_activity a
where a.pid = $1::int
  and a.backend_start is not distinct from $3::text::timestamptz
  and ($4::text is null or a.query_start = $4::text::timestamptz)
