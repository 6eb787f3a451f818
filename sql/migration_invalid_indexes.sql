-- migration_invalid_indexes.sql: which INVALID indexes are on this table (or this index's table)?
-- Answers: each index of the table that is not valid, as regclass writes it (schema-qualified
-- when off the search path), ready to be named in DROP INDEX CONCURRENTLY. A failed CREATE
-- INDEX CONCURRENTLY leaves its index so; a failed REINDEX CONCURRENTLY, its _ccnew copies.
-- Parameters: $1 text schema or null, $2 text table (or index) name as written, $3 boolean
--   $2 names an index (REINDEX INDEX): its table's are meant.
-- Server versions: 9.6 and later; tested on 13-18.
with named as (
  select pg_catalog.to_regclass(
           case when $1::pg_catalog.text is null then pg_catalog.quote_ident($2::pg_catalog.text)
                else pg_catalog.quote_ident($1::pg_catalog.text) operator(pg_catalog.||) '.'
                     operator(pg_catalog.||) pg_catalog.quote_ident($2::pg_catalog.text) end)
           as oid
),
owner as (
  select case when $3::pg_catalog.bool
              then (select x.indrelid from pg_catalog.pg_index x, named
                     where x.indexrelid operator(pg_catalog.=) named.oid)
              else (select oid from named) end as oid
)
select x.indexrelid::pg_catalog.regclass::pg_catalog.text as index
from pg_catalog.pg_index x, owner
where x.indrelid operator(pg_catalog.=) owner.oid and not x.indisvalid
order by 1
