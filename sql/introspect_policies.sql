-- introspect_policies.sql: which row-level security policies exist, and is row security on?
-- Answers: schema, table, policy, permissive or restrictive, command (all, select, insert,
-- update, delete), roles it applies to, its USING and WITH CHECK expressions, whether the
-- table has row security enabled and forced (a policy does nothing while it is not enabled),
-- comment.
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 10 and later (restrictive policies); tested on 13-18.
select n.nspname as schema,
       c.relname as "table",
       p.polname as name,
       case when p.polpermissive then 'permissive' else 'restrictive' end as mode,
       case p.polcmd when '*' then 'all' when 'r' then 'select' when 'a' then 'insert'
                     when 'w' then 'update' when 'd' then 'delete' end as command,
       array(select case when r.oid = 0 then 'public' else pg_get_userbyid(r.oid) end
               from unnest(p.polroles) as r(oid) order by 1) as roles,
       pg_get_expr(p.polqual, p.polrelid) as using,
       pg_get_expr(p.polwithcheck, p.polrelid) as with_check,
       c.relrowsecurity as row_security,
       c.relforcerowsecurity as row_security_forced,
       obj_description(p.oid, 'pg_policy') as comment
from pg_policy p
join pg_class c on c.oid = p.polrelid
join pg_namespace n on n.oid = c.relnamespace
where n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2))
order by 1, 2, 3
