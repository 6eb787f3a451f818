-- index_advisor_names_taken.sql: which of these names are taken in the schema with OID $1?
-- Answers: each name of $2 that a relation of that schema (table, index, sequence ...) has,
-- so that an index the advisor proposes gets a name CREATE INDEX accepts.
-- It may run under the role's own search_path (the index advisor's), where a schema listed
-- before pg_catalog could plant an operator of the same name: every one is named in pg_catalog.
-- Parameters: $1 int8 the schema's OID, $2 text[] names.
-- Server versions: any; tested on 13-18.
select c.relname as name
from pg_catalog.pg_class c
where c.relnamespace OPERATOR(pg_catalog.=) $1::pg_catalog.int8::pg_catalog.oid
  and c.relname OPERATOR(pg_catalog.=) any ($2::pg_catalog.text[])
