-- vacuum_analyze_status.sql: how fresh are VACUUM and ANALYZE, and how many dead rows wait?
-- Answers: schema, table, live and dead rows, dead share, last manual and auto
-- vacuum and analyze, their counts, rows modified since the last analyze.
-- Tables never analyzed come first, then those with the most dead rows.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select s.schemaname as schema,
       s.relname as "table",
       s.n_live_tup as live_rows,
       s.n_dead_tup as dead_rows,
       round(100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0), 1) as dead_pct,
       coalesce(s.last_analyze, s.last_autoanalyze) is null as never_analyzed,
       s.last_vacuum,
       s.last_autovacuum,
       s.last_analyze,
       s.last_autoanalyze,
       s.vacuum_count,
       s.autovacuum_count,
       s.analyze_count,
       s.autoanalyze_count,
       s.n_mod_since_analyze as modified_since_analyze,
       count(*) over () as total
from pg_stat_user_tables s
order by coalesce(s.last_analyze, s.last_autoanalyze) is null desc,
         s.n_dead_tup desc, 1, 2
limit $1
