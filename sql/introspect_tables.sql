-- introspect_tables.sql: which tables exist (ordinary, partitioned, foreign)?
-- Answers: schema, name, kind, owner, estimated rows, comment. (Sizes cost a file
-- system call per relation: table_sizes.sql answers them.)
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 10 and later (partitioned tables); tested on 13-18.
select n.nspname as schema,
       c.relname as name,
       case c.relkind when 'r' then 'table' when 'p' then 'partitioned table'
                      when 'f' then 'foreign table' end as kind,
       pg_get_userbyid(c.relowner) as owner,
       greatest(c.reltuples, 0)::bigint as estimated_rows,
       dsc.description as comment
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_description dsc
  on dsc.classoid = 'pg_class'::regclass and dsc.objoid = c.oid and dsc.objsubid = 0
where c.relkind in ('r', 'p', 'f')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2))
  and not exists (select 1 from pg_depend d
                  where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
order by 1, 2
