-- index_unused.sql: which indexes have never been scanned since statistics were reset?
-- Answers: schema, table, index, size, scans; unique and primary key indexes are
-- left out (they enforce constraints even when never read); largest first.
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select s.schemaname as schema,
       s.relname as "table",
       s.indexrelname as index,
       pg_relation_size(s.indexrelid) as size_bytes,
       s.idx_scan
from pg_stat_user_indexes s
join pg_index i on i.indexrelid = s.indexrelid
where s.idx_scan = 0
  and not i.indisunique
  and not i.indisprimary
  and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
order by pg_relation_size(s.indexrelid) desc, 1, 2, 3
limit $1
