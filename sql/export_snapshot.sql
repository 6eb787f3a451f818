-- export_snapshot.sql: which snapshot does this transaction see, for other sessions to share?
-- Answers: the snapshot identifier that SET TRANSACTION SNAPSHOT takes in another session,
-- so that several sessions of one report read the same state (as pg_dump's workers do).
-- Run inside a REPEATABLE READ transaction. Server versions: 9.2 and later; tested on 13-18.
select pg_export_snapshot() as snapshot
