-- index_advisor_workload.sql: which statements of this database cost the most time
-- (pg_stat_statements 1.8 and later)?
-- Answers: the query ID, calls, total execution time in ms and the normalised text (whole:
-- the advisor plans it, with $1, $2 ... where the constants were), costliest first, at most
-- $1 rows, without the skill's own statements (their texts end with the comment matched by the
-- regular expression $2, see pg_stat_statements_top.sql). Only the connected database's, and
-- only top-level statements where the extension tells (1.9 and later keep those inside
-- functions apart; before, they are counted as the function's caller ran them). One row per
-- query ID: the same statement run by several roles is one entry per role there, summed here;
-- roles: the roles that ran it; own: whether the session's role (current_user) is one of them.
-- @extschema@ is pg_stat_statements' schema, quoted by the server
-- (pg_stat_statements_version.sql), put in by the caller.
-- Parameters: $1 int row limit, $2 text regular expression of the skill's mark.
-- Server versions: PostgreSQL 13 and later with pg_stat_statements 1.8+; tested on 15.
select s.queryid::pg_catalog.text as query_id,
       pg_catalog.sum(s.calls)::pg_catalog.int8 as calls,
       pg_catalog.round(pg_catalog.sum(s.total_exec_time)::pg_catalog.numeric, 2) as total_ms,
       pg_catalog.min(s.query) as query,
       pg_catalog.array_agg(distinct pg_catalog.pg_get_userbyid(s.userid)) as roles,
       pg_catalog.bool_or(s.userid OPERATOR(pg_catalog.=)
         (select r.oid from pg_catalog.pg_roles r where r.rolname OPERATOR(pg_catalog.=) current_user))
         as own
from @extschema@.pg_stat_statements s
where s.dbid OPERATOR(pg_catalog.=) (select oid from pg_catalog.pg_database
                                     where datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
  and s.query OPERATOR(pg_catalog.!~) $2::pg_catalog.text
  and coalesce((pg_catalog.to_jsonb(s) OPERATOR(pg_catalog.->>) 'toplevel')::pg_catalog.bool, true)
group by s.queryid
order by pg_catalog.sum(s.total_exec_time) desc
limit $1::pg_catalog.int4
