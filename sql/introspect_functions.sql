-- introspect_functions.sql: which functions and procedures exist (not those of extensions)?
-- Answers: schema, name, identity arguments, result, kind, language, volatility,
-- security definer, definition (cut to $2 characters when given; aggregates have none).
-- Parameters: $1 text[] schemas (null: every user schema), $2 int definition length limit.
-- Server versions: PostgreSQL 11 and later (prokind); tested on 13-18.
select n.nspname as schema,
       p.proname as name,
       pg_get_function_identity_arguments(p.oid) as arguments,
       pg_get_function_result(p.oid) as result,
       case p.prokind when 'f' then 'function' when 'p' then 'procedure'
                      when 'a' then 'aggregate' when 'w' then 'window' end as kind,
       l.lanname as language,
       case p.provolatile when 'i' then 'immutable' when 's' then 'stable'
                          when 'v' then 'volatile' end as volatility,
       p.prosecdef as security_definer,
       case when p.prokind = 'a' then null
            when $2::int is null then pg_get_functiondef(p.oid)
            else left(pg_get_functiondef(p.oid), $2::int) end as definition
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
join pg_language l on l.oid = p.prolang
where n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and not exists (select 1 from pg_depend d
                  where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
order by 1, 2, 3
