-- transaction_status.sql: what became of a transaction whose COMMIT got no answer?
-- Answers 'committed', 'aborted' or 'in progress' for a recent transaction id, NULL when it is
-- too old for the server to know (its commit log has been truncated).
-- Parameters: $1 text, the transaction id as transaction_id.sql gave it.
-- Server versions: 13 and later (pg_xact_status on xid8); tested on 13-18.
select pg_xact_status($1::xid8) as status
