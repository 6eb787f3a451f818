-- introspect_exclusion_constraints.sql: which exclusion constraints exist?
-- Answers: schema, table, constraint, its definition (EXCLUDE USING ...), the index that enforces
-- it, deferrability. Each once, as declared (copies on partitions are left out).
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 11 and later (conparentid); tested on 13-18.
select n.nspname as schema,
       c.relname as "table",
       k.conname as name,
       pg_get_constraintdef(k.oid) as definition,
       (select quote_ident(n.nspname) || '.' || quote_ident(ic.relname)
          from pg_class ic where ic.oid = k.conindid) as index,
       k.condeferrable as deferrable,
       k.condeferred as initially_deferred
from pg_constraint k
join pg_class c on c.oid = k.conrelid
join pg_namespace n on n.oid = c.relnamespace
where k.contype = 'x'
  and k.conparentid = 0
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2))
order by 1, 2, 3
