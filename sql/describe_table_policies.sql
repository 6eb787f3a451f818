-- describe_table_policies.sql: which row-level security policies does the relation have?
-- Answers, for the relation with OID $1: each policy's name, whether it is permissive or
-- restrictive, the command it applies to (all, select, insert, update, delete), the roles
-- (public when none are named), the USING expression and the WITH CHECK expression. Whether
-- row-level security is enabled and forced is the relation's (describe_table_relation.sql).
-- By name.
-- Parameters: $1 int8 the relation's OID.
-- Server versions: PostgreSQL 10 and later (polpermissive); tested on 13-18.
select p.polname as name,
       case when p.polpermissive then 'permissive' else 'restrictive' end as mode,
       case p.polcmd when '*' then 'all' when 'r' then 'select' when 'a' then 'insert'
                     when 'w' then 'update' when 'd' then 'delete' end as command,
       case when p.polroles = '{0}' then array['public']::pg_catalog.text[]
            else array(select pg_catalog.quote_ident(r.rolname) from pg_catalog.pg_roles r
                        where r.oid = any (p.polroles) order by 1) end as roles,
       pg_catalog.pg_get_expr(p.polqual, p.polrelid) as using,
       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as with_check
from pg_catalog.pg_policy p
where p.polrelid = $1::pg_catalog.int8::pg_catalog.oid
order by p.polname
