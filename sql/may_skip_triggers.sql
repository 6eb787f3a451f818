-- may_skip_triggers.sql: may this role switch triggers off for its session (session_replication_role
-- = replica), as a data-only restore needs so that triggers and foreign-key checks do not fire
-- on rows that are already consistent?
-- Answers one row, allowed = true; fails with SQLSTATE 42501 when the role may not (it is not a
-- superuser and, from PostgreSQL 15, was not granted SET on the parameter). The setting is local
-- to this statement's own transaction: nothing stays set, on a pooled connection neither.
-- Parameters: none.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select set_config('session_replication_role', 'replica', true) = 'replica' as allowed
