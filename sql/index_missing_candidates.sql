-- index_missing_candidates.sql: which large tables are read mostly by sequential scans?
-- Answers: schema, table, sequential scans, rows they read, index scans, live rows,
-- size; tables with at least $2 live rows where sequential scans outnumber index scans.
-- Parameters: $1 int row limit, $2 int smallest live row count that counts as large.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select s.schemaname as schema,
       s.relname as "table",
       s.seq_scan,
       s.seq_tup_read,
       coalesce(s.idx_scan, 0) as idx_scan,
       s.n_live_tup as live_rows,
       pg_relation_size(s.relid) as size_bytes
from pg_stat_user_tables s
where s.n_live_tup >= $2
  and s.seq_scan > coalesce(s.idx_scan, 0)
order by s.seq_tup_read desc, 1, 2
limit $1
