-- introspect_check_constraints.sql: which check constraints exist?
-- Answers: schema, table, constraint, its definition, validation state.
-- Each constraint where it is declared: copies a partition or child table inherits (not local)
-- are left out, as pg_dump leaves them out.
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select n.nspname as schema,
       c.relname as "table",
       k.conname as name,
       pg_get_constraintdef(k.oid) as definition,
       k.convalidated as validated
from pg_constraint k
join pg_class c on c.oid = k.conrelid
join pg_namespace n on n.oid = c.relnamespace
where k.contype = 'c'
  and k.conislocal
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2))
order by 1, 2, 3
