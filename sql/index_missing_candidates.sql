-- index_missing_candidates.sql: which large tables are read mostly by sequential scans?
-- Answers: schema, table, sequential scans, rows they read, index scans, live rows, size;
-- tables with at least $2 live rows where sequential scans outnumber index scans. A
-- partitioned table is judged as a whole: its partitions' scans, rows and sizes are added up
-- and it is listed once, under its own name.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 int row limit, $2 int smallest live row count that counts as large.
-- Server versions: PostgreSQL 12 and later (pg_partition_root); tested on 13-18.
with judged as (
  select case when c.relispartition then pg_partition_root(c.oid) else c.oid end as relid,
         sum(s.seq_scan) as seq_scan,
         sum(s.seq_tup_read) as seq_tup_read,
         sum(coalesce(s.idx_scan, 0)) as idx_scan,
         sum(s.n_live_tup) as live_rows,
         sum(pg_relation_size(s.relid)) as size_bytes
  from pg_stat_user_tables s
  join pg_class c on c.oid = s.relid
  group by 1
)
select n.nspname as schema,
       c.relname as "table",
       j.seq_scan::bigint as seq_scan,
       j.seq_tup_read::bigint as seq_tup_read,
       j.idx_scan::bigint as idx_scan,
       j.live_rows::bigint as live_rows,
       j.size_bytes::bigint as size_bytes,
       count(*) over () as total
from judged j
join pg_class c on c.oid = j.relid
join pg_namespace n on n.oid = c.relnamespace
where j.live_rows >= $2
  and j.seq_scan > j.idx_scan
order by j.seq_tup_read desc, 1, 2
limit $1
