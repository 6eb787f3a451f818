-- doctor_cache_hit.sql: how often are table and index pages found in shared buffers?
-- Answers, for this database since its statistics were reset: blocks found in the cache
-- (hit) and read from the operating system or disk (read), for tables and for indexes; the five
-- tables (or indexes) that read the most blocks (most_read, schema.name) and how many read any
-- (reading).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select 'tables' as what,
       coalesce(sum(heap_blks_hit), 0) as hit,
       coalesce(sum(heap_blks_read), 0) as read,
       array(select t.schemaname || '.' || t.relname
               from pg_statio_user_tables t
              where t.heap_blks_read > 0
              order by t.heap_blks_read desc, 1
              limit 5) as most_read,
       count(*) filter (where heap_blks_read > 0) as reading
from pg_statio_user_tables
union all
select 'indexes',
       coalesce(sum(idx_blks_hit), 0),
       coalesce(sum(idx_blks_read), 0),
       array(select i.schemaname || '.' || i.indexrelname
               from pg_statio_user_indexes i
              where i.idx_blks_read > 0
              order by i.idx_blks_read desc, 1
              limit 5),
       count(*) filter (where idx_blks_read > 0)
from pg_statio_user_indexes
