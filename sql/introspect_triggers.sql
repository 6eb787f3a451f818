-- introspect_triggers.sql: which user triggers exist, on what, and are they enabled?
-- Answers: schema, table, trigger, definition, enabled state, function called.
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select n.nspname as schema,
       c.relname as "table",
       tg.tgname as name,
       pg_get_triggerdef(tg.oid) as definition,
       case tg.tgenabled when 'O' then 'enabled' when 'D' then 'disabled'
                         when 'R' then 'replica' when 'A' then 'always' end as enabled,
       tg.tgfoid::regprocedure::text as function
from pg_trigger tg
join pg_class c on c.oid = tg.tgrelid
join pg_namespace n on n.oid = c.relnamespace
where not tg.tgisinternal
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2))
order by 1, 2, 3
