-- public_create_schemas.sql: where may every role (PUBLIC) create objects?
-- Answers, per place, the place (a schema outside the system's in which PUBLIC has CREATE:
-- public, on a database made before PostgreSQL 15 or upgraded from one; or 'the database' when
-- PUBLIC may create schemas) and the REVOKE that ends it, quoted by the server: a reader role
-- could put a function there that another role's queries then run as that role
-- (CVE-2018-1058), so none may be made while they exist.
-- Every function, operator and catalog is named with its schema.
-- Parameters: none.
-- Server versions: any; tested on 13-18.
select n.nspname::pg_catalog.text as place,
       pg_catalog.format('revoke create on schema %I from public', n.nspname) as revoke
from pg_catalog.pg_namespace n
where n.nspname operator(pg_catalog.!~) '^pg_'
  and n.nspname operator(pg_catalog.<>) 'information_schema'
  and pg_catalog.has_schema_privilege('public', n.oid, 'CREATE')
union all
select 'the database',
       pg_catalog.format('revoke create on database %I from public', pg_catalog.current_database())
where pg_catalog.has_database_privilege('public', pg_catalog.current_database(), 'CREATE')
order by 1
