-- missing_fk_indexes.sql: which foreign keys have no index to support them?
-- Answers: schema, table, constraint, key columns, referenced table, table size, and the
-- CREATE INDEX that would support the key, with a note where it needs one. A key counts as
-- indexed only when some valid, non-partial index's leading columns are exactly the key's
-- columns (in any order); a key column appearing elsewhere in an index does not count, since it
-- cannot serve the lookups that deletes on the referenced table do. Each key once, as declared
-- (the copies kept for partitions are left out); a partitioned table's size is its partitions'.
-- For a partitioned table CONCURRENTLY is refused by the server: the suggestion is a plain
-- CREATE INDEX, and the note says how to build it without a long lock.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 12 and later (pg_partition_tree); tested on 13-18.
-- Names and statements are built in the outer select, after the sort and the limit: only for the
-- rows shown.
with keys as (
  select k.oid, k.conname, k.conrelid, k.confrelid, k.conkey,
         n.nspname, c.relname, c.relkind,
         case when c.relkind = 'p'
              then (select coalesce(sum(pg_relation_size(t.relid)), 0)
                      from pg_partition_tree(k.conrelid) t where t.isleaf)
              else pg_relation_size(k.conrelid) end as table_bytes,
         count(*) over () as total
  from pg_constraint k
  join pg_class c on c.oid = k.conrelid
  join pg_namespace n on n.oid = c.relnamespace
  where k.contype = 'f'
    and k.conparentid = 0
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    and not exists (
      select 1
      from pg_index i
      where i.indrelid = k.conrelid
        and i.indisvalid
        and i.indpred is null
        and i.indnkeyatts >= cardinality(k.conkey)
        and (select array_agg(x order by x)
               from unnest((i.indkey::int2[])[0:cardinality(k.conkey) - 1]) x)
          = (select array_agg(x order by x) from unnest(k.conkey) x)
    )
  order by table_bytes desc, n.nspname, c.relname, k.conname
  limit $1
)
select s.nspname as schema,
       s.relname as "table",
       s.conname as constraint_name,
       cols.names as columns,
       quote_ident(rn.nspname) || '.' || quote_ident(rc.relname) as referenced_table,
       s.table_bytes::bigint as table_bytes,
       case when s.relkind = 'p' then 'CREATE INDEX ON ' else 'CREATE INDEX CONCURRENTLY ON ' end
         || quote_ident(s.nspname) || '.' || quote_ident(s.relname) || ' ('
         || array_to_string(array(select quote_ident(x) from unnest(cols.names) x), ', ') || ');'
         as suggestion,
       case when s.relkind = 'p'
            then 'partitioned table: CONCURRENTLY is refused; see --help for a build without a long lock' end as note,
       s.total
from keys s
cross join lateral (
  select array(select a.attname from unnest(s.conkey) with ordinality as u(attnum, ord)
               join pg_attribute a on a.attrelid = s.conrelid and a.attnum = u.attnum
               order by u.ord) as names
) cols
join pg_class rc on rc.oid = s.confrelid
join pg_namespace rn on rn.oid = rc.relnamespace
order by s.table_bytes desc, 1, 2, 3
