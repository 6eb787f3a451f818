-- introspect_extensions.sql: which extensions are installed in this database?
-- Answers: name, installed version, schema, description.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select e.extname as name,
       e.extversion as version,
       n.nspname as schema,
       obj_description(e.oid, 'pg_extension') as description
from pg_extension e
join pg_namespace n on n.oid = e.extnamespace
order by 1
