-- describe_table_relation.sql: what is this relation as a whole?
-- Answers, for the relation with OID $1: its kind (table, partitioned table, partition, foreign
-- table, view, materialized view), persistence when not permanent, owner, comment, row-level
-- security (enabled, forced), storage options, tablespace when not the default, estimated rows
-- (null when never counted: reltuples -1 from PostgreSQL 14; on 13, 0 rows in 0 pages without a
-- VACUUM or ANALYZE; a partitioned table's are its partitions', null when any is unknown), sizes
-- in bytes and readable (total = table + indexes + TOAST; a partitioned table counts its
-- partitions), scans, live and dead rows and rows changed since ANALYZE (none for a partitioned
-- table, which holds no rows itself), the last (auto)vacuum and (auto)analyze (to the second),
-- what it is a partition of with its bound, its partition key, the tables it inherits from, a
-- view's definition (its first $2 characters, and its length), whether a materialized view is
-- populated, a foreign table's server and options.
-- Sizes call pg_total_relation_size and friends, which take ACCESS SHARE on the relation (as
-- psql's \d+ does): the session's lock_timeout bounds the wait behind an ACCESS EXCLUSIVE.
-- Parameters: $1 int8 the relation's OID, $2 int the most characters of a view's definition.
-- Server versions: PostgreSQL 12 and later (pg_partition_tree, attgenerated); tested on 13-18.
with rel as (
  select c.*
  from pg_catalog.pg_class c
  where c.oid = $1::pg_catalog.int8::pg_catalog.oid
),
stats as (
  select s.*
  from pg_catalog.pg_stat_all_tables s
  where s.relid = $1::pg_catalog.int8::pg_catalog.oid
),
-- The relations holding the data: itself, or a partitioned table's leaf partitions.
storage as (
  select r.oid, r.reltuples, r.relpages, r.reltoastrelid
  from rel r where r.relkind in ('r', 'm', 't')
  union all
  select c.oid, c.reltuples, c.relpages, c.reltoastrelid
  from rel r, pg_catalog.pg_partition_tree(r.oid) t
  join pg_catalog.pg_class c on c.oid = t.relid
  where r.relkind = 'p' and t.isleaf and c.relkind in ('r', 'm')
),
counted as (
  select st.oid,
         pg_catalog.pg_total_relation_size(st.oid) as total_bytes,
         pg_catalog.pg_indexes_size(st.oid) as index_bytes,
         case when st.reltoastrelid = 0 then 0
              else pg_catalog.pg_total_relation_size(st.reltoastrelid) end as toast_bytes,
         case when st.reltuples >= 0
                   and not (st.reltuples = 0 and st.relpages = 0 and s.last_vacuum is null
                            and s.last_autovacuum is null and s.last_analyze is null
                            and s.last_autoanalyze is null)
                then st.reltuples end as rows
  from storage st
  left join pg_catalog.pg_stat_all_tables s on s.relid = st.oid
),
sizes as (
  select pg_catalog.sum(total_bytes)::pg_catalog.int8 as total_bytes,
         pg_catalog.sum(total_bytes - index_bytes - toast_bytes)::pg_catalog.int8 as table_bytes,
         pg_catalog.sum(index_bytes)::pg_catalog.int8 as index_bytes,
         pg_catalog.sum(toast_bytes)::pg_catalog.int8 as toast_bytes,
         case when pg_catalog.count(*) = pg_catalog.count(rows)
              then pg_catalog.sum(rows)::pg_catalog.int8 end as estimated_rows,
         pg_catalog.count(*) as storage_count
  from counted
)
select n.nspname as schema,
       r.relname as name,
       case r.relkind when 'r' then case when r.relispartition then 'partition' else 'table' end
                      when 'p' then 'partitioned table'
                      when 'f' then 'foreign table' when 'v' then 'view'
                      when 'm' then 'materialized view' end as kind,
       case r.relpersistence when 'u' then 'unlogged' when 't' then 'temporary' end as persistence,
       pg_catalog.pg_get_userbyid(r.relowner) as owner,
       pg_catalog.obj_description(r.oid, 'pg_class') as comment,
       r.relrowsecurity as rls_enabled,
       r.relforcerowsecurity as rls_forced,
       r.reloptions as options,
       (select t.spcname from pg_catalog.pg_tablespace t where t.oid = r.reltablespace)
         as tablespace,
       case when r.relkind in ('r', 'p', 'm') then z.estimated_rows end as estimated_rows,
       case when z.storage_count > 0 then z.total_bytes end as total_bytes,
       case when z.storage_count > 0 then z.table_bytes end as table_bytes,
       case when z.storage_count > 0 then z.index_bytes end as index_bytes,
       case when z.storage_count > 0 then z.toast_bytes end as toast_bytes,
       case when z.storage_count > 0 then pg_catalog.pg_size_pretty(z.total_bytes) end
         as total_size,
       case when z.storage_count > 0 then pg_catalog.pg_size_pretty(z.table_bytes) end
         as table_size,
       case when z.storage_count > 0 then pg_catalog.pg_size_pretty(z.index_bytes) end
         as index_size,
       case when z.storage_count > 0 then pg_catalog.pg_size_pretty(z.toast_bytes) end
         as toast_size,
       -- A partitioned table holds no rows itself: its counters (PostgreSQL 15+) stay 0.
       case when r.relkind <> 'p' then s.seq_scan end as seq_scan,
       case when r.relkind <> 'p' then s.idx_scan end as idx_scan,
       case when r.relkind <> 'p' then s.n_live_tup end as live_rows,
       case when r.relkind <> 'p' then s.n_dead_tup end as dead_rows,
       case when r.relkind <> 'p' then s.n_mod_since_analyze end as changed_since_analyze,
       pg_catalog.date_trunc('second', s.last_vacuum) as last_vacuum,
       pg_catalog.date_trunc('second', s.last_autovacuum) as last_autovacuum,
       pg_catalog.date_trunc('second', s.last_analyze) as last_analyze,
       pg_catalog.date_trunc('second', s.last_autoanalyze) as last_autoanalyze,
       (select pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(p.relname)
          from pg_catalog.pg_inherits i
          join pg_catalog.pg_class p on p.oid = i.inhparent
          join pg_catalog.pg_namespace pn on pn.oid = p.relnamespace
         where i.inhrelid = r.oid and r.relispartition) as partition_of,
       case when r.relispartition then pg_catalog.pg_get_expr(r.relpartbound, r.oid) end
         as partition_bound,
       case when r.relkind = 'p' then pg_catalog.pg_get_partkeydef(r.oid) end as partition_key,
       array(select pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(p.relname)
               from pg_catalog.pg_inherits i
               join pg_catalog.pg_class p on p.oid = i.inhparent
               join pg_catalog.pg_namespace pn on pn.oid = p.relnamespace
              where i.inhrelid = r.oid and not r.relispartition
              order by i.inhseqno) as inherits,
       case when r.relkind in ('v', 'm')
            then pg_catalog.left(pg_catalog.pg_get_viewdef(r.oid, true), $2::pg_catalog.int4) end
         as definition,
       case when r.relkind in ('v', 'm')
            then pg_catalog.length(pg_catalog.pg_get_viewdef(r.oid, true)) end
         as definition_length,
       case when r.relkind = 'm' then r.relispopulated end as populated,
       (select fs.srvname from pg_catalog.pg_foreign_table ft
          join pg_catalog.pg_foreign_server fs on fs.oid = ft.ftserver
         where ft.ftrelid = r.oid) as foreign_server,
       (select ft.ftoptions from pg_catalog.pg_foreign_table ft where ft.ftrelid = r.oid)
         as foreign_options
from rel r
join pg_catalog.pg_namespace n on n.oid = r.relnamespace
cross join sizes z
left join stats s on true
