-- describe_table_columns.sql: what are the relation's columns?
-- Answers, for the relation with OID $1, in column order: name, type (with its modifier), not
-- null, the default expression, identity (always, by default), generated column (stored, or
-- virtual from PostgreSQL 18) with its expression, the collation when it is not the type's
-- default, and the column's comment. Dropped columns are left out.
-- Parameters: $1 int8 the relation's OID.
-- Server versions: PostgreSQL 12 and later (attgenerated); tested on 13-18 (18: virtual).
select a.attname as name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) as type,
       a.attnotnull as not_null,
       case when a.attgenerated = '' then pg_catalog.pg_get_expr(d.adbin, d.adrelid) end
         as "default",
       case a.attidentity when 'a' then 'always' when 'd' then 'by default' end as identity,
       case a.attgenerated when 's' then 'stored' when 'v' then 'virtual' end as generated,
       case when a.attgenerated <> '' then pg_catalog.pg_get_expr(d.adbin, d.adrelid) end
         as generation_expression,
       case when a.attcollation <> t.typcollation
            then case when cn.nspname = 'pg_catalog' then co.collname::text
                      else pg_catalog.quote_ident(cn.nspname) || '.'
                           || pg_catalog.quote_ident(co.collname) end
       end as collation,
       pg_catalog.col_description(a.attrelid, a.attnum) as comment
from pg_catalog.pg_attribute a
join pg_catalog.pg_type t on t.oid = a.atttypid
left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
left join pg_catalog.pg_collation co on co.oid = a.attcollation
left join pg_catalog.pg_namespace cn on cn.oid = co.collnamespace
where a.attrelid = $1::pg_catalog.int8::pg_catalog.oid
  and a.attnum > 0
  and not a.attisdropped
order by a.attnum
