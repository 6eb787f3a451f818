-- jit_off.sql: no JIT compilation for the rest of this transaction.
-- Answers nothing; for reports of many small catalog queries (schema introspection): the
-- planner's costs of a query over a few hundred relations pass jit_above_cost, and compiling
-- then takes far longer (about 90 ms) than the query itself. Lasts the transaction only.
-- Parameters: none.
-- Server versions: PostgreSQL 11 and later (jit); tested on 13-18.
select pg_catalog.set_config('jit', 'off', true) as jit
