-- doctor_cache_hit.sql: how often are table and index pages found in shared buffers?
-- Answers, for this database since its statistics were reset: blocks found in the cache
-- (hit) and read from the operating system or disk (read), for tables and for indexes.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select 'tables' as what,
       coalesce(sum(heap_blks_hit), 0) as hit,
       coalesce(sum(heap_blks_read), 0) as read
from pg_statio_user_tables
union all
select 'indexes',
       coalesce(sum(idx_blks_hit), 0),
       coalesce(sum(idx_blks_read), 0)
from pg_statio_user_indexes
