-- index_advisor_hypopg.sql: can this session plan with hypothetical indexes (hypopg)?
-- Answers: the server's major version, the installed hypopg version and its schema quoted
-- (both null when it is not created in this database), and whether the server has the
-- extension to create (available: its files are installed).
-- It may run under the role's own search_path (the index advisor's), where a schema listed
-- before pg_catalog could plant an operator of the same name: every one is named in pg_catalog.
-- Parameters: none.
-- Server versions: any; tested on 13-18.
select pg_catalog.current_setting('server_version_num')::pg_catalog.int4 OPERATOR(pg_catalog./) 10000 as major,
       e.extversion as version,
       pg_catalog.quote_ident(n.nspname) as schema,
       exists (select from pg_catalog.pg_available_extensions where name OPERATOR(pg_catalog.=) 'hypopg') as available
from (select 1) as one
left join pg_catalog.pg_extension e on e.extname OPERATOR(pg_catalog.=) 'hypopg'
left join pg_catalog.pg_namespace n on n.oid OPERATOR(pg_catalog.=) e.extnamespace
