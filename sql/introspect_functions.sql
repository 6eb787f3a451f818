-- introspect_functions.sql: which functions and procedures exist (not those of extensions)?
-- Answers: schema, name, identity arguments, result, kind (function, procedure, aggregate,
-- window), language, volatility, security_definer (true, else null), definition (cut to $2
-- characters when given; aggregates have none), comment.
-- With relations ($3): only the functions their triggers call, without definitions (the
-- triggers name them; their bodies are another question). Functions of any user schema then:
-- a trigger may call one elsewhere; pg_catalog's built-ins (tsvector_update_trigger) are
-- left out, as their trigger already names them.
-- Parameters: $1 text[] schemas (null: every user schema), $2 int definition length limit,
--   $3 oid[] relations (null: every function).
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
       nullif(p.prosecdef, false) as security_definer,
       case when p.prokind = 'a' or $3::oid[] is not null then null
            when $2::int is null then pg_get_functiondef(p.oid)
            else left(pg_get_functiondef(p.oid), $2::int) end as definition,
       dsc.description as comment
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
join pg_language l on l.oid = p.prolang
left join pg_description dsc
  on dsc.classoid = 'pg_proc'::regclass and dsc.objoid = p.oid and dsc.objsubid = 0
where ($3::oid[] is null
       and n.nspname not in ('pg_catalog', 'information_schema')
       and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
       and ($1::text[] is null or n.nspname = any ($1))
       and not exists (select 1 from pg_depend d
                       where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                         and d.deptype = 'e'))
   or (p.oid in (select tg.tgfoid from pg_trigger tg
                 where tg.tgrelid = any ($3::oid[]) and not tg.tgisinternal)
       and n.nspname not in ('pg_catalog', 'information_schema'))
order by 1, 2, 3
