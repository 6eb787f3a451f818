-- introspect_composite_types.sql: which composite types (CREATE TYPE ... AS (...)) exist?
-- Answers: schema, name, attributes in order (each "name type"), comment. A table's or view's
-- row type is not listed: the tables and views describe those.
-- Parameters: $1 text[] schemas (null: every user schema), $2 oid[] relations (null: every
--   composite type; else only those their columns use, as such or as arrays).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select n.nspname as schema,
       t.typname as name,
       array(select quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
               from pg_attribute a
              where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
              order by a.attnum) as attributes,
       dsc.description as comment
from pg_type t
join pg_class c on c.oid = t.typrelid
join pg_namespace n on n.oid = t.typnamespace
left join pg_description dsc
  on dsc.classoid = 'pg_type'::regclass and dsc.objoid = t.oid and dsc.objsubid = 0
where t.typtype = 'c'
  and c.relkind = 'c'
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::oid[] is null
       or exists (select 1 from pg_attribute a
                  where a.attrelid = any ($2) and a.attnum > 0 and not a.attisdropped
                    and a.atttypid in (t.oid, t.typarray)))
  and not exists (select 1 from pg_depend d
                  where d.classid = 'pg_type'::regclass and d.objid = t.oid and d.deptype = 'e')
order by 1, 2
