-- index_advisor_generic_plans.sql: plan prepared statements without their parameters' values.
-- Answers: the new plan_cache_mode (force_generic_plan), set for this transaction only (behind
-- a pooler a session's setting would stay on a server connection that others then get): the
-- advisor's EXPLAIN EXECUTE of a statement with $1, $2 ... (as pg_stat_statements keeps them)
-- then shows the generic plan, the one an application's prepared statement gets once custom
-- plans are no cheaper.
-- Parameters: none.
-- Server versions: PostgreSQL 12 and later (plan_cache_mode); tested on 13-18.
select pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true) as plan_cache_mode
