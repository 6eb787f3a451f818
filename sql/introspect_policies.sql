-- introspect_policies.sql: which row-level security policies do these tables have?
-- Answers, per table: its oid and its policies in name order as one JSON array (nulls left
-- out; built by the server, one value per table), each with name, mode (permissive, restrictive),
-- command (all, select, insert, update, delete), roles it applies to, its USING and WITH CHECK
-- expressions, comment. (Whether the table has row security enabled and forced, without which
-- a policy does nothing, is on the table: introspect_tables.sql.) Run with pin_search_path.sql
-- in force.
-- Parameters: $1 oid[] the tables (from introspect_relations.sql).
-- Server versions: PostgreSQL 10 and later (restrictive policies); tested on 13-18.
select x.relation,
       json_strip_nulls(json_agg(json_build_object(
         'name', x.name,
         'mode', x.mode,
         'command', x.command,
         'roles', x.roles,
         'using', x."using",
         'with_check', x.with_check,
         'comment', x.comment) order by x.name)) as items
from (
  select p.polrelid as relation,
         p.polname as name,
         case when p.polpermissive then 'permissive' else 'restrictive' end as mode,
         case p.polcmd when '*' then 'all' when 'r' then 'select' when 'a' then 'insert'
                       when 'w' then 'update' when 'd' then 'delete' end as command,
         array(select case when r.oid = 0 then 'public' else pg_get_userbyid(r.oid) end
                 from unnest(p.polroles) as r(oid) order by 1) as roles,
         pg_get_expr(p.polqual, p.polrelid) as using,
         pg_get_expr(p.polwithcheck, p.polrelid) as with_check,
         dsc.description as comment
  from unnest($1::oid[]) as u(oid)
  join pg_policy p on p.polrelid = u.oid
  left join pg_description dsc
    on dsc.classoid = 'pg_policy'::regclass and dsc.objoid = p.oid and dsc.objsubid = 0
) x
group by x.relation
