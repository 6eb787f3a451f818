-- restore_same_transaction.sql: after psql ran a plain restore's file, is it still in the
-- transaction the restore began, or did the file end that one itself (a COMMIT or ROLLBACK that
-- the check before the restore could not see)?
-- Answers one boolean, skill_restore_same; a transaction of the file's own (or none: a new id is
-- then assigned) is never the one recorded.
-- Parameters: the psql variable skill_restore_xid (set by restore_transaction_id.sql): this runs
-- in psql, which binds no $n, and the file cannot change the variable (it runs under \restrict).
-- Server versions: 13 and later (pg_current_xact_id); tested on 13-18.
-- Compared as xid8, the recorded id read by xid8's input function: the file may have created
-- a cast from xid8 to text, which a comparison as text would use.
select pg_catalog.pg_current_xact_id()
         operator(pg_catalog.=) :'skill_restore_xid'::pg_catalog.xid8
  as skill_restore_same
