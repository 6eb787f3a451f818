-- sequence_positions.sql: where does each sequence stand right now?
-- Answers which sequences a rolled-back migration check moved: nextval and setval are not undone
-- by a rollback, so positions read before the check and after its rollback differ exactly where
-- a sequence moved (by the check, or by other sessions meanwhile). last_value is NULL for a
-- sequence never used, and for one this role may not read.
-- Server versions: 10 and later (pg_sequences); tested on 13-18.
select pg_catalog.format('%I.%I', schemaname, sequencename) as name,
       last_value::pg_catalog.text as last_value
from pg_catalog.pg_sequences
order by 1
