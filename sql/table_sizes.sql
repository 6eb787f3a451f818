-- table_sizes.sql: which tables take the most space?
-- Answers: schema, table, kind (table, partitioned table, partition, materialized view), the
-- partitioned table it belongs to, total size and its parts (table with its free-space and
-- visibility maps, indexes, TOAST), readable and in bytes, and estimated rows; largest first.
-- total_bytes = table_bytes + index_bytes + toast_bytes. A partitioned table counts all of its
-- partitions, down to the last level of sub-partitioning (they hold its data); its partitions
-- are listed only when $2 is true, marked as such, with the table they are a partition of
-- (a partition that is itself partitioned counts its own partitions, the same way). Estimated
-- rows come from the last ANALYZE or VACUUM (or CREATE INDEX); a table never counted has null,
-- unknown, not 0 (reltuples -1 from PostgreSQL 14; 0 rows in 0 pages and no ANALYZE or VACUUM
-- in the statistics on 13), unless it is empty: then 0. A partitioned table's are null when any
-- partition's is.
-- sizes_estimated: true when another session held or awaited ACCESS EXCLUSIVE on the table (or
-- one of its partitions), whose sizes are then pg_class's page counts, not measured.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 int row limit, $2 boolean list partitions too (false: only their parents).
-- Server versions: PostgreSQL 10 and later (declarative partitioning); tested on 13-18.
with recursive relations as (
  select c.oid, n.nspname, c.relname, c.relkind, c.relispartition
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'm')
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    and ($2::boolean or not c.relispartition)
),
-- The relations whose storage counts for each listed relation: itself, or a
-- partitioned table's whole tree.
members as (
  select r.oid as listed, r.oid as member from relations r where r.relkind <> 'p'
  union all
  select t.root, t.relid from tree t join pg_class c on c.oid = t.relid where c.relkind <> 'p'
),
-- A partitioned table's whole tree, from pg_inherits: pg_partition_tree would lock each
-- partition, and wait behind a session holding one.
tree (root, relid) as (
  select r.oid, r.oid from relations r where r.relkind = 'p'
  union all
  select t.root, i.inhrelid from tree t join pg_inherits i on i.inhparent = t.relid
),
counted as (
  select m.listed,
         sum(case when lk.locked then est.table_bytes + est.toast_bytes + est.index_bytes
                  else pg_total_relation_size(m.member) end) as total_bytes,
         sum(case when lk.locked then est.index_bytes else pg_indexes_size(m.member) end)
           as index_bytes,
         sum(case when lk.locked then est.toast_bytes
                  else coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) end)
           as toast_bytes,
         sum(case when lk.locked then est.table_bytes + est.toast_bytes
                  else pg_table_size(m.member) end) as table_and_toast_bytes,
         sum(known.rows) as rows_known,
         bool_and(known.rows is not null) as all_known,
         bool_or(lk.locked) as locked
  from members m
  join pg_class c on c.oid = m.member
  -- Another session holds or waits for ACCESS EXCLUSIVE on it (an ALTER TABLE, a VACUUM FULL):
  -- measuring it would wait behind that lock, so its sizes come from pg_class's page counts (as
  -- of its last VACUUM or ANALYZE) instead of failing the whole list on the lock timeout.
  cross join lateral (
    select exists (select 1 from pg_locks l
                    where l.locktype = 'relation' and l.relation = m.member
                      and l.mode = 'AccessExclusiveLock'
                      and l.pid <> pg_backend_pid()) as locked
  ) lk
  cross join lateral (
    select c.relpages::bigint * current_setting('block_size')::bigint as table_bytes,
           coalesce((select t.relpages::bigint from pg_class t where t.oid = c.reltoastrelid), 0)
             * current_setting('block_size')::bigint as toast_bytes,
           coalesce((select sum(i.relpages)::bigint from pg_index x
                       join pg_class i on i.oid = x.indexrelid
                      where x.indrelid = m.member), 0)
             * current_setting('block_size')::bigint as index_bytes
  ) est
  cross join lateral (
    select case
             when c.reltuples > 0 or c.relpages > 0 then c.reltuples
             -- 0 rows in 0 pages: counted empty from PostgreSQL 14 (never counted is -1); on 13
             -- only when the statistics show an ANALYZE or VACUUM.
             when c.reltuples = 0
                  and (current_setting('server_version_num')::int >= 140000
                       or coalesce(pg_stat_get_last_analyze_time(c.oid),
                                   pg_stat_get_last_autoanalyze_time(c.oid),
                                   pg_stat_get_last_vacuum_time(c.oid),
                                   pg_stat_get_last_autovacuum_time(c.oid)) is not null)
               then 0
             -- Never counted: empty is 0, else unknown.
             when (case when lk.locked then c.relpages = 0
                        else pg_relation_size(c.oid) = 0 end) then 0
           end as rows
  ) known
  group by m.listed
)
select r.nspname as schema,
       r.relname as "table",
       case when r.relkind = 'p' then 'partitioned table'
            when r.relispartition then 'partition'
            when r.relkind = 'm' then 'materialized view'
            else 'table' end as kind,
       (select quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
          from pg_inherits i
          join pg_class pc on pc.oid = i.inhparent
          join pg_namespace pn on pn.oid = pc.relnamespace
         where i.inhrelid = r.oid and r.relispartition) as partition_of,
       pg_size_pretty(k.total_bytes) as total_size,
       pg_size_pretty(k.table_and_toast_bytes - k.toast_bytes) as table_size,
       pg_size_pretty(k.index_bytes) as index_size,
       pg_size_pretty(k.toast_bytes) as toast_size,
       k.total_bytes::bigint as total_bytes,
       (k.table_and_toast_bytes - k.toast_bytes)::bigint as table_bytes,
       k.index_bytes::bigint as index_bytes,
       k.toast_bytes::bigint as toast_bytes,
       case when k.all_known then k.rows_known::bigint end as estimated_rows,
       k.locked as sizes_estimated,
       count(*) over () as total
from relations r
join counted k on k.listed = r.oid
order by k.total_bytes desc, 1, 2
limit $1
