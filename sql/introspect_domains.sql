-- introspect_domains.sql: which domains exist, over which types, with which checks?
-- Answers: schema, name, underlying type, not_null (true, else null), default, its check
-- constraints (each "name: CHECK (...)", in name order), comment.
-- Parameters: $1 text[] schemas (null: every user schema), $2 oid[] relations (null: every
--   domain; else only those their columns use, as such or as arrays).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select n.nspname as schema,
       t.typname as name,
       format_type(t.typbasetype, t.typtypmod) as type,
       nullif(t.typnotnull, false) as not_null,
       t.typdefault as "default",
       array(select k.conname || ': ' || pg_get_constraintdef(k.oid)
               from pg_constraint k
              where k.contypid = t.oid and k.contype = 'c'
              order by k.conname) as checks,
       dsc.description as comment
from pg_type t
join pg_namespace n on n.oid = t.typnamespace
left join pg_description dsc
  on dsc.classoid = 'pg_type'::regclass and dsc.objoid = t.oid and dsc.objsubid = 0
where t.typtype = 'd'
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
