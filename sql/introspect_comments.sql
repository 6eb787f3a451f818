-- introspect_comments.sql: which objects carry a comment (COMMENT ON) that no other part of a
-- schema introspection shows with its object, and what does it say?
-- Answers: schema (a schema's own is its name), kind of object as PostgreSQL names it (schema,
-- rule, domain constraint, type column, collation ...), its name as pg_identify_object writes
-- it (qualified, quoted where needed), the table it belongs to (for a rule), comment. Comments
-- on tables, views, sequences, their columns, indexes, constraints, triggers and policies, on
-- functions, enums, domains and composite types are left out: they are shown on the object.
-- Objects initdb made (oid below 16384; the public schema's comment counts once changed) and
-- objects owned by extensions are left out, and extensions themselves: theirs is the extension
-- author's comment.
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 9.6 and later (pg_identify_object, parse_ident); tested on 13-18.
with described as (
  select d.classoid, d.objoid, d.objsubid, d.description,
         case d.classoid
           when 'pg_class'::regclass then
             coalesce((select i.indrelid from pg_index i where i.indexrelid = d.objoid), d.objoid)
           when 'pg_constraint'::regclass then
             (select nullif(k.conrelid, 0) from pg_constraint k where k.oid = d.objoid)
           when 'pg_trigger'::regclass then
             (select t.tgrelid from pg_trigger t where t.oid = d.objoid)
           when 'pg_policy'::regclass then
             (select p.polrelid from pg_policy p where p.oid = d.objoid)
           when 'pg_rewrite'::regclass then
             (select r.ev_class from pg_rewrite r where r.oid = d.objoid)
         end as relation
  from pg_description d
  where d.classoid <> 'pg_extension'::regclass
    and (d.objoid >= 16384
         or (d.classoid = 'pg_namespace'::regclass and d.objoid = 'public'::regnamespace
             and d.description <> 'standard public schema'))
    and not exists (select 1 from pg_depend e
                    where e.classid = d.classoid and e.objid = d.objoid and e.deptype = 'e')
    -- Shown with the object itself.
    and d.classoid not in ('pg_trigger'::regclass, 'pg_policy'::regclass, 'pg_proc'::regclass)
    and not (d.classoid = 'pg_class'::regclass
             and exists (select 1 from pg_class c
                         where c.oid = d.objoid and c.relkind <> 'c'))
    and not (d.classoid = 'pg_constraint'::regclass
             and exists (select 1 from pg_constraint k
                         where k.oid = d.objoid and k.conrelid <> 0))
    and not (d.classoid = 'pg_type'::regclass
             and exists (select 1 from pg_type t
                         where t.oid = d.objoid and t.typtype in ('e', 'd', 'c')))
)
select x.schema,
       x.kind,
       x.name,
       x."table",
       x.comment
from (
  -- pg_identify_object quotes names where needed ("Mixed Case"); the schema column is the
  -- catalog's own spelling, as in every other section, so --schema matches it.
  select coalesce(rn.nspname, (parse_ident(o.schema))[1],
                  case when d.classoid = 'pg_namespace'::regclass
                       then (parse_ident(o.identity))[1] end) as schema,
         case when d.classoid = 'pg_type'::regclass
                   and (select t.typtype from pg_type t where t.oid = d.objoid) = 'd'
              then 'domain' else o.type end as kind,
         o.identity as name,
         rc.relname as "table",
         d.description as comment
  from described d
  cross join lateral pg_identify_object(d.classoid, d.objoid, d.objsubid) o
  left join pg_class rc on rc.oid = d.relation
  left join pg_namespace rn on rn.oid = rc.relnamespace
) x
where coalesce(x.schema, '') not in ('pg_catalog', 'information_schema')
  and coalesce(x.schema, '') !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or x.schema = any ($1))
  and ($2::text[] is null or x."table" = any ($2))
order by 1, 3, 2
