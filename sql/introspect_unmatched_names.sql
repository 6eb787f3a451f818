-- introspect_unmatched_names.sql: which of the schemas and relation names asked for exist
-- nowhere, and which names do exist (to suggest close ones)?
-- Answers: one row per name that matched nothing: kind (schema or table), the name asked for,
-- the names that exist (every user schema, or every table, view, materialized view, sequence
-- and foreign table in the schemas asked for, all user schemas when none), and for a table the
-- other schemas that hold a relation of exactly that name.
-- Names are compared exactly, as the sections compare them.
-- Parameters: $1 text[] schemas (null: none asked), $2 text[] relation names (null: none).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
with schemas as (
  select n.oid, n.nspname
  from pg_namespace n
  where n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
relations as (
  select distinct c.relname
  from pg_class c
  join schemas s on s.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
    and ($1::text[] is null or s.nspname = any ($1))
)
select 'schema' as kind,
       asked.name,
       array(select s.nspname from schemas s order by 1) as existing,
       '{}'::text[] as elsewhere
from unnest($1::text[]) as asked(name)
where not exists (select 1 from schemas s where s.nspname = asked.name)
union all
select 'table',
       asked.name,
       array(select r.relname from relations r order by 1),
       array(select distinct s.nspname
               from pg_class c join schemas s on s.oid = c.relnamespace
              where c.relname = asked.name and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
              order by 1)
from unnest($2::text[]) as asked(name)
where not exists (select 1 from relations r where r.relname = asked.name)
