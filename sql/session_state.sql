-- session_state.sql: is the server a standby, and are its transactions read-only by default?
-- Answers target_session_attrs (read-write, read-only, primary, standby) as libpq checks it.
-- Server versions: any (pg_is_in_recovery exists since 9.0); tested on 13-18.
select pg_is_in_recovery() as in_recovery,
       current_setting('default_transaction_read_only') = 'on' as read_only_default
