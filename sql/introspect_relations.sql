-- introspect_relations.sql: which relations does a schema introspection describe, in what order?
-- Answers: the oid and kind (r table, p partitioned table, f foreign table, v view,
-- m materialized view) of each, tables first, then views, then materialized views, each in
-- schema and name order. With names ($2), the relations of those names and every partition
-- below a partitioned table named (in whichever schema). Objects owned by extensions and the
-- system schemas are left out. Run with pin_search_path.sql in force.
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] relation names (null: all).
-- Server versions: PostgreSQL 12 and later (pg_partition_tree); tested on 13-18.
with chosen as (
  select c.oid
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'f', 'v', 'm')
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    and ($1::text[] is null or n.nspname = any ($1))
    and ($2::text[] is null or c.relname = any ($2))
  union
  -- A partitioned table's partitions belong to it.
  select t.relid
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  cross join lateral pg_partition_tree(c.oid) t
  where $2::text[] is not null
    and c.relkind = 'p'
    and c.relname = any ($2)
    and n.nspname not in ('pg_catalog', 'information_schema')
    and ($1::text[] is null or n.nspname = any ($1))
)
select c.oid, c.relkind as kind
from chosen
join pg_class c on c.oid = chosen.oid
join pg_namespace n on n.oid = c.relnamespace
where not exists (select 1 from pg_depend d
                  where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
order by case when c.relkind in ('r', 'p', 'f') then 0 when c.relkind = 'v' then 1 else 2 end,
         n.nspname, c.relname
