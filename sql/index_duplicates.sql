-- index_duplicates.sql: which indexes are redundant with another on the same table?
-- Answers: schema, table, the redundant index, the index that covers it, sizes.
-- An index is redundant when another index of the same method and predicate has
-- the same key columns, or starts with all of its key columns (a prefix), and the
-- redundant one enforces nothing (not unique, or an exact copy of a unique one).
-- Expression indexes are compared by their expressions too.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
with idx as (
  select i.indexrelid, i.indrelid, i.indisunique, i.indisprimary,
         (i.indkey::int2[])[0:i.indnkeyatts - 1] as keys,
         ic.relam,
         coalesce(pg_get_expr(i.indexprs, i.indrelid), '') as exprs,
         coalesce(pg_get_expr(i.indpred, i.indrelid), '') as pred,
         (i.indclass::oid[])[0:i.indnkeyatts - 1] as opclasses
  from pg_index i
  join pg_class ic on ic.oid = i.indexrelid
  where i.indisvalid
)
select n.nspname as schema,
       t.relname as "table",
       a_c.relname as index,
       b_c.relname as covered_by,
       case when a.keys = b.keys then 'same columns' else 'prefix' end as reason,
       pg_relation_size(a.indexrelid) as size_bytes,
       count(*) over () as total
from idx a
join idx b on b.indrelid = a.indrelid and b.indexrelid <> a.indexrelid
join pg_class a_c on a_c.oid = a.indexrelid
join pg_class b_c on b_c.oid = b.indexrelid
join pg_class t on t.oid = a.indrelid
join pg_namespace n on n.oid = t.relnamespace
where a.relam = b.relam
  and a.pred = b.pred
  and a.exprs = b.exprs
  and not a.indisprimary
  and a.keys = b.keys[1:array_length(a.keys, 1)]
  and a.opclasses = b.opclasses[1:array_length(a.keys, 1)]
  and (
    -- an exact copy: report the younger one, unless only it enforces something
    (a.keys = b.keys and (a.indisunique = b.indisunique or b.indisunique)
       and (a.indexrelid > b.indexrelid or (b.indisunique and not a.indisunique)))
    -- a strict prefix of another index: redundant unless it enforces uniqueness
    or (a.keys <> b.keys and not a.indisunique)
  )
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and n.nspname not in ('pg_catalog', 'information_schema')
order by 1, 2, 3
limit $1
