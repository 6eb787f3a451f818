-- index_unused.sql: which indexes have never been scanned since statistics were reset?
-- Answers: schema, table, index, size, scans, and how many such indexes there are in all
-- (total, the same on every row); unique and primary key indexes are left out (they enforce
-- constraints even when never read); largest first. Candidates are ranked by the catalog's
-- page count and only the rows returned are measured (pg_relation_size opens each file and
-- takes a lock: on thousands of indexes that alone took seconds).
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select u.schema, u."table", u.index, pg_relation_size(u.indexrelid) as size_bytes, u.idx_scan,
       u.total
from (
  select s.schemaname as schema,
         s.relname as "table",
         s.indexrelname as index,
         s.indexrelid,
         s.idx_scan,
         c.relpages,
         count(*) over () as total
  from pg_stat_user_indexes s
  join pg_index i on i.indexrelid = s.indexrelid
  join pg_class c on c.oid = s.indexrelid
  where s.idx_scan = 0
    and not i.indisunique
    and not i.indisprimary
    -- NOT IN over a hashed list: the planner misjudges the idx_scan filter and ran NOT EXISTS
    -- as a nested loop (24 million comparisons, 5 s, on 4,000 indexes).
    and i.indexrelid not in (select k.conindid from pg_constraint k where k.conindid <> 0)
  order by c.relpages desc, 1, 2, 3
  limit $1
) u
order by size_bytes desc, 1, 2, 3
