-- column_types.sql: what type does each of these columns have now?
-- Answers: for each (schema or null, table, column) in $1/$2/$3, as a migration writes them (a
-- null schema resolves through the session's search_path), the column's type as format_type
-- writes it (character varying(20), numeric(10,2) ...), or null when there is no such column.
-- Read before a migration runs, to tell a type change that rewrites the table from one that
-- only widens the column.
-- Parameters: $1 text[] schemas (null elements: none written), $2 text[] tables, $3 text[] columns.
-- Server versions: 9.6 and later (to_regclass on text); tested on 13-18.
select t.ord,
       pg_catalog.format_type(a.atttypid, a.atttypmod) as type
from unnest($1::pg_catalog.text[], $2::pg_catalog.text[], $3::pg_catalog.text[])
       with ordinality as t(schema, "table", "column", ord)
left join pg_catalog.pg_attribute a
  on a.attrelid operator(pg_catalog.=) pg_catalog.to_regclass(
       case when t.schema is null then pg_catalog.quote_ident(t."table")
            else pg_catalog.quote_ident(t.schema) operator(pg_catalog.||) '.'
                 operator(pg_catalog.||) pg_catalog.quote_ident(t."table") end)
 and a.attname operator(pg_catalog.=) t."column"
 and a.attnum operator(pg_catalog.>) 0 and not a.attisdropped
order by t.ord
