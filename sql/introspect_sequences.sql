-- introspect_sequences.sql: which sequences exist, and which column owns each?
-- Answers: schema, name, data type, start, increment, min, max, cycle (true, else null),
-- owning column (schema.table.column), comment.
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] names (null: all), $3 oid[]
--   tables (with $2: a sequence one of them owns counts as named).
-- Server versions: PostgreSQL 10 and later (pg_sequence); tested on 13-18.
select n.nspname as schema,
       c.relname as name,
       format_type(s.seqtypid, null) as data_type,
       s.seqstart as start,
       s.seqincrement as increment,
       s.seqmin as min,
       s.seqmax as max,
       nullif(s.seqcycle, false) as cycle,
       (select quote_ident(tn.nspname) || '.' || quote_ident(t.relname) || '.' || quote_ident(a.attname)
          from pg_depend d
          join pg_class t on t.oid = d.refobjid
          join pg_namespace tn on tn.oid = t.relnamespace
          join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
         where d.classid = 'pg_class'::regclass and d.objid = c.oid
           and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
         limit 1) as owned_by,
       dsc.description as comment
from pg_sequence s
join pg_class c on c.oid = s.seqrelid
join pg_namespace n on n.oid = c.relnamespace
left join pg_description dsc
  on dsc.classoid = 'pg_class'::regclass and dsc.objoid = c.oid and dsc.objsubid = 0
where n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2)
       or exists (select 1 from pg_depend d
                  where d.classid = 'pg_class'::regclass and d.objid = c.oid
                    and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
                    and d.refobjid = any ($3::oid[])))
  and not exists (select 1 from pg_depend d
                  where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
order by 1, 2
