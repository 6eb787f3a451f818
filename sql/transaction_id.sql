-- transaction_id.sql: which transaction id does this transaction hold, if it has one yet?
-- Answers what to ask the server about later when the connection is lost during COMMIT: a
-- transaction that changed nothing has none (NULL), and then there is nothing to lose.
-- Named with its schema, and no cast (a cast to text is the statements' to redefine): it runs
-- after the user's statements, which may set search_path or create casts. The id comes back as
-- xid8's own text.
-- Server versions: 13 and later (pg_current_xact_id_if_assigned); tested on 13-18.
select pg_catalog.pg_current_xact_id_if_assigned() as xid
