-- introspect_enums.sql: which enum types exist, with their labels in order?
-- Answers: schema, name, labels (in sort order), comment.
-- Parameters: $1 text[] schemas (null: every user schema), $2 oid[] relations (null: every
--   enum; else only those their columns use, as such or as arrays).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select n.nspname as schema,
       t.typname as name,
       array(select e.enumlabel from pg_enum e where e.enumtypid = t.oid
             order by e.enumsortorder) as labels,
       dsc.description as comment
from pg_type t
join pg_namespace n on n.oid = t.typnamespace
left join pg_description dsc
  on dsc.classoid = 'pg_type'::regclass and dsc.objoid = t.oid and dsc.objsubid = 0
where t.typtype = 'e'
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
