-- missing_fk_indexes.sql: which foreign keys have no index to support them?
-- Answers: schema, table, constraint, key columns, referenced table, table size,
-- and the CREATE INDEX that would support the key. A key counts as indexed only
-- when some valid, non-partial index's leading columns are exactly the key's
-- columns (in any order); a key column appearing elsewhere in an index does not
-- count, since it cannot serve the lookups that deletes on the referenced table do.
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 11 and later (indnkeyatts); tested on 13-18.
select n.nspname as schema,
       c.relname as "table",
       k.conname as constraint_name,
       array(select a.attname from unnest(k.conkey) with ordinality as u(attnum, ord)
             join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum
             order by u.ord) as columns,
       quote_ident(rn.nspname) || '.' || quote_ident(rc.relname) as referenced_table,
       pg_relation_size(c.oid) as table_bytes,
       'CREATE INDEX CONCURRENTLY ON ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
         || ' (' || array_to_string(array(
              select quote_ident(a.attname) from unnest(k.conkey) with ordinality as u(attnum, ord)
              join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum
              order by u.ord), ', ') || ');' as suggestion
from pg_constraint k
join pg_class c on c.oid = k.conrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_class rc on rc.oid = k.confrelid
join pg_namespace rn on rn.oid = rc.relnamespace
where k.contype = 'f'
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
order by pg_relation_size(c.oid) desc, 1, 2, 3
limit $1
