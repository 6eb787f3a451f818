-- introspect_tables.sql: what is each of these tables (ordinary, partitioned, partition, foreign)?
-- Answers, per table: oid, schema, name, and as one JSON object (nulls and empty lists left
-- out; built by the server, one value per table) schema, name, kind (table, partitioned table,
-- foreign table), owner,
-- estimated rows, row_security and row_security_forced (true when on, else null), the
-- partitioned table it is a partition of (schema-qualified) and its bound (FOR VALUES ... or
-- DEFAULT), its partition key (PARTITION BY as written, for a partitioned table), the tables
-- it inherits from (INHERITS, in declared order), comment. Estimated rows come from the last
-- ANALYZE or VACUUM (or CREATE INDEX); a table never counted has null, unknown, not 0
-- (reltuples -1 from PostgreSQL 14; 0 rows in 0 pages and no ANALYZE or VACUUM in the
-- statistics on 13), unless it is empty: then 0. A partitioned table's are its leaf
-- partitions' together (null when any is unknown). (Sizes cost a file system call per
-- relation: table_sizes.sql answers them; here only a never-counted table's size is read.)
-- Parameters: $1 oid[] the tables (from introspect_relations.sql), in the order wanted.
-- Server versions: PostgreSQL 12 and later (pg_partition_tree); tested on 13-18.
with chosen as (
  select u.oid, u.ord from unnest($1::oid[]) with ordinality as u(oid, ord)
),
-- The tables' own and, for a partitioned table, its leaf partitions'.
counted as (
  select ch.oid from chosen ch
  union
  select t.relid
  from chosen ch
  join pg_class p on p.oid = ch.oid and p.relkind = 'p'
  cross join lateral pg_partition_tree(p.oid) t
  where t.isleaf
),
estimates as (
  select c.oid,
         case
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
           when c.relkind = 'f' then null
           -- Never counted: empty (one file size, read only here) is 0, else unknown.
           when pg_relation_size(c.oid) = 0 then 0
         end as rows
  from counted
  join pg_class c on c.oid = counted.oid
  where c.relkind in ('r', 'f')
)
-- Table inheritance (INHERITS, as TimescaleDB chunks and older partitioning schemes use it):
-- the parents, in declared order. Partitions have partition_of instead.
select c.oid,
       n.nspname as schema,
       c.relname as name,
       json_strip_nulls(json_build_object(
         'schema', n.nspname,
         'name', c.relname,
         'kind', case c.relkind when 'p' then 'partitioned table' when 'f' then 'foreign table'
                                else 'table' end,
         'owner', pg_get_userbyid(c.relowner),
         'estimated_rows',
         (case when c.relkind = 'p' then
            (select case when bool_and(e.rows is not null) then sum(e.rows) end
               from pg_partition_tree(c.oid) t join estimates e on e.oid = t.relid
              where t.isleaf)
          else own.rows end)::bigint,
         'row_security', nullif(c.relrowsecurity, false),
         'row_security_forced', nullif(c.relforcerowsecurity, false),
         'partition_of', (select quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
                            from pg_inherits i
                            join pg_class pc on pc.oid = i.inhparent
                            join pg_namespace pn on pn.oid = pc.relnamespace
                           where i.inhrelid = c.oid and c.relispartition),
         'bound', case when c.relispartition then pg_get_expr(c.relpartbound, c.oid) end,
         'partition_key', case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end,
         'inherits', nullif(array(select quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
                                    from pg_inherits i
                                    join pg_class pc on pc.oid = i.inhparent
                                    join pg_namespace pn on pn.oid = pc.relnamespace
                                   where i.inhrelid = c.oid and not c.relispartition
                                   order by i.inhseqno), '{}'),
         'comment', dsc.description)) as facts
from chosen u
join pg_class c on c.oid = u.oid
join pg_namespace n on n.oid = c.relnamespace
left join estimates own on own.oid = c.oid
left join pg_description dsc
  on dsc.classoid = 'pg_class'::regclass and dsc.objoid = c.oid and dsc.objsubid = 0
order by u.ord
