-- signal_backend.sql: cancel the query of, or terminate, server process $1.
-- Answers: whether the signal was sent (false: no such backend any more).
-- Raises 42501 when the caller may not signal that session.
-- Parameters: $1 int pid, $2 text action ('cancel' or 'terminate').
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select case $2::text
         when 'cancel' then pg_cancel_backend($1::int)
         when 'terminate' then pg_terminate_backend($1::int)
       end as signalled
