-- introspect_columns.sql: which columns do these tables, views and materialized views have?
-- Answers, per relation: its oid and its columns in position order as one JSON array (nulls
-- left out: built by the server, so that a client reads one value per relation, not one row
-- per column), each with name, type, not_null (true, else left out), default, identity
-- (always, by default), generated expression, comment. A column a
-- partition or an INHERITS child has from its parent unchanged (same type, not-null, default,
-- identity and generation, no comment of its own) is left out, as pg_dump leaves it out of
-- the child's CREATE TABLE: the parent lists it. Run with pin_search_path.sql in force.
-- Parameters: $1 oid[] the relations (from introspect_relations.sql).
-- Server versions: PostgreSQL 12 and later (attgenerated); tested on 13-18.
with cols as (
  select a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.attidentity,
         a.attgenerated, a.attislocal, a.attinhcount,
         pg_get_expr(ad.adbin, ad.adrelid) as expr,
         dsc.description as comment
  from unnest($1::oid[]) as u(oid)
  join pg_attribute a on a.attrelid = u.oid
  left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
  left join pg_description dsc
    on dsc.classoid = 'pg_class'::regclass and dsc.objoid = a.attrelid
       and dsc.objsubid = a.attnum
  where a.attnum > 0 and not a.attisdropped
)
select c.attrelid as relation,
       json_strip_nulls(json_agg(json_build_object(
         'name', c.attname,
         'type', format_type(c.atttypid, c.atttypmod),
         'not_null', nullif(c.attnotnull, false),
         'default', case when c.attgenerated = '' then c.expr end,
         'identity', case c.attidentity when 'a' then 'always' when 'd' then 'by default' end,
         'generated', case when c.attgenerated <> '' then c.expr end,
         'comment', c.comment) order by c.attnum)) as items
from cols c
where c.attislocal
   or c.attinhcount = 0
   or c.comment is not null
   or not exists (
     select 1
     from pg_inherits i
     join pg_attribute pa on pa.attrelid = i.inhparent and pa.attname = c.attname
     left join pg_attrdef pd on pd.adrelid = pa.attrelid and pd.adnum = pa.attnum
     where i.inhrelid = c.attrelid
       and pa.atttypid = c.atttypid and pa.atttypmod = c.atttypmod
       and pa.attnotnull = c.attnotnull and pa.attidentity = c.attidentity
       and pa.attgenerated = c.attgenerated
       and pg_get_expr(pd.adbin, pd.adrelid) is not distinct from c.expr)
group by c.attrelid
