-- introspect_tables.sql: which tables exist (ordinary, partitioned, partitions, foreign)?
-- Answers: schema, name, kind, the partitioned table it is a partition of, owner, estimated
-- rows, whether row-level security is enabled and forced, comment. Estimated rows come from the
-- last ANALYZE or VACUUM; an empty table has 0; a table with data never counted (reltuples -1
-- from PostgreSQL 14; 0 rows in 0 pages on 13, or when counted empty and filled since) has
-- null, unknown, not 0. A partitioned table's are its partitions' together (null when any is
-- unknown). (Sizes cost a file system call per relation: table_sizes.sql answers them.)
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 12 and later (pg_partition_tree); tested on 13-18.
with estimates as (
  select c.oid,
         case
           when c.reltuples > 0 or (c.reltuples = 0 and c.relpages > 0) then c.reltuples
           when c.relkind = 'f' then null
           when pg_relation_size(c.oid) = 0 then 0
         end as rows
  from pg_class c
  where c.relkind in ('r', 'f')
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
       pg_get_userbyid(c.relowner) as owner,
       case when c.relkind = 'p'
            then (select case when bool_and(e.rows is not null) then sum(e.rows) end
                    from pg_partition_tree(c.oid) t
                    join estimates e on e.oid = t.relid
                   where t.isleaf)
            else (select e.rows from estimates e where e.oid = c.oid)
       end::bigint as estimated_rows,
       c.relrowsecurity as row_security,
       c.relforcerowsecurity as row_security_forced,
       dsc.description as comment
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
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
