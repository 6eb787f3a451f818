-- restore_transaction_id.sql: which transaction does a plain restore run the file in?
-- Answers the id of psql's --single-transaction transaction, assigned here if it has none yet,
-- before the file runs: psql keeps it in a variable the file cannot set (under \restrict), for
-- restore_same_transaction.sql after the file, and the skill asks pg_xact_status about it
-- after a failure (committed: the file committed part of itself).
-- Parameters: none.
-- Server versions: 13 and later (pg_current_xact_id); tested on 13-18.
select pg_catalog.pg_current_xact_id() as skill_restore_xid
