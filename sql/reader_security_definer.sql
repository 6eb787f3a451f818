-- reader_security_definer.sql: which functions may role $1 call that run with another
-- role's rights (SECURITY DEFINER), so that the role's own privileges do not bound them?
-- Answers: one row per such function outside pg_catalog and information_schema that role $1
-- may execute and does not own: its schema-qualified signature and owner, by signature;
-- total: how many there are in all, before the limit (the same on every row).
-- Parameters: $1 text role name, $2 int row limit.
-- Server versions: PostgreSQL 9.5 and later; tested on 13-18.
select pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
                         pg_catalog.pg_get_function_identity_arguments(p.oid)) as function,
       pg_catalog.pg_get_userbyid(p.proowner) as owner,
       pg_catalog.count(*) over () as total
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid operator(pg_catalog.=) p.pronamespace
where p.prosecdef
  and n.nspname operator(pg_catalog.<>) all (array['pg_catalog', 'information_schema'])
  and pg_catalog.pg_get_userbyid(p.proowner) operator(pg_catalog.<>) $1::pg_catalog.text
  and pg_catalog.has_function_privilege($1::pg_catalog.text, p.oid, 'EXECUTE')
order by 1
limit $2
