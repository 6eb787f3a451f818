-- introspect_tables.sql: which tables exist (ordinary, partitioned, partitions, foreign)?
-- Answers: schema, name, kind, the partitioned table it is a partition of, the tables it
-- inherits from (INHERITS; an empty list for none), owner, estimated
-- rows, whether row-level security is enabled and forced, comment. Estimated rows come from the
-- last ANALYZE or VACUUM (or CREATE INDEX); a table never counted has null, unknown, not 0
-- (reltuples -1 from PostgreSQL 14; 0 rows in 0 pages and no ANALYZE or VACUUM in the
-- statistics on 13), unless it is empty: then 0. A partitioned table's are its partitions'
-- together (null when any is unknown). (Sizes cost a file system call per relation:
-- table_sizes.sql answers them; here only a never-counted table's size is read.)
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 12 and later (pg_partition_tree); tested on 13-18.
with estimates as (
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
  from pg_class c
  where c.relkind in ('r', 'f')
),
-- A partitioned table's rows: its leaf partitions' together, null when any is unknown.
partitioned as (
  select p.oid, case when bool_and(e.rows is not null) then sum(e.rows) end as rows
  from pg_class p
  cross join lateral pg_partition_tree(p.oid) t
  join estimates e on e.oid = t.relid
  where p.relkind = 'p' and t.isleaf
  group by p.oid
)
select n.nspname as schema,
       c.relname as name,
       case when c.relkind = 'p' then 'partitioned table'
            when c.relispartition then 'partition'
            when c.relkind = 'f' then 'foreign table'
            else 'table' end as kind,
       (select quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
          from pg_inherits i
          join pg_class pc on pc.oid = i.inhparent
          join pg_namespace pn on pn.oid = pc.relnamespace
         where i.inhrelid = c.oid and c.relispartition) as partition_of,
       -- Table inheritance (INHERITS, as TimescaleDB chunks and older partitioning schemes use
       -- it): the parents, in declared order. Partitions have partition_of instead.
       array(select quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
               from pg_inherits i
               join pg_class pc on pc.oid = i.inhparent
               join pg_namespace pn on pn.oid = pc.relnamespace
              where i.inhrelid = c.oid and not c.relispartition
              order by i.inhseqno) as inherits,
       pg_get_userbyid(c.relowner) as owner,
       (case when c.relkind = 'p' then whole.rows else own.rows end)::bigint as estimated_rows,
       c.relrowsecurity as row_security,
       c.relforcerowsecurity as row_security_forced,
       dsc.description as comment
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join estimates own on own.oid = c.oid
left join partitioned whole on whole.oid = c.oid
left join pg_description dsc
  on dsc.classoid = 'pg_class'::regclass and dsc.objoid = c.oid and dsc.objsubid = 0
where c.relkind in ('r', 'p', 'f')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2))
  and not exists (select 1 from pg_depend d
                  where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
order by 1, 2
