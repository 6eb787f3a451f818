-- index_advisor_generic_plans.sql: plan prepared statements without their parameters' values.
-- Answers: the new plan_cache_mode (force_generic_plan), set for this session, or for this
-- transaction when $1 (behind a pooler, where a session's setting would stay on a server
-- connection that others then get): the advisor's EXPLAIN EXECUTE of a statement with $1,
-- $2 ... (as pg_stat_statements keeps them) then shows the generic plan, the one an
-- application's prepared statement gets once custom plans are no cheaper.
-- Parameters: $1 boolean for this transaction only.
-- Server versions: PostgreSQL 12 and later (plan_cache_mode); tested on 13-18.
select pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', $1::pg_catalog.bool)
  as plan_cache_mode
