-- describe_table_target.sql: which relation does the name typed mean?
-- Answers: the relation that $1 names as the server reads a name (schema.name, a bare name found
-- on the search_path, "Quoted Names" keeping their case), with its schema, name and kind: no row
-- when nothing has that name. The text is bound and resolved by to_regclass, never spliced.
-- Before PostgreSQL 16 to_regclass raises invalid_name (42602) and the like for text that is no
-- name at all; the caller reads those as "not found".
-- Runs under the role's own search_path (the name is read as the user's SQL would read it), so
-- every operator is pg_catalog's by name: one planted in public (=(oid, regclass)) is never called.
-- Parameters: $1 text the name as typed.
-- Server versions: PostgreSQL 9.6 and later (to_regclass(text)); tested on 13-18.
select c.oid::pg_catalog.int8 as oid,
       n.nspname as schema,
       c.relname as name,
       pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
         pg_catalog.quote_ident(c.relname) as qualified,
       c.relkind::text as relkind
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1::pg_catalog.text)::pg_catalog.oid
