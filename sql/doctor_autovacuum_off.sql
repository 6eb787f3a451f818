-- doctor_autovacuum_off.sql: where is autovacuum turned off?
-- Answers: one row for the server when autovacuum or track_counts (which autovacuum needs)
-- is off, and one per table of this database with autovacuum_enabled = false (or a TOAST
-- table with toast.autovacuum_enabled = false): scope, schema, table, setting.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select 'server' as scope, null::name as schema, null::name as "table", s.name || ' = off' as setting
from pg_settings s
where s.name in ('autovacuum', 'track_counts') and s.setting = 'off'
union all
select 'table', n.nspname, c.relname, o.option_name || ' = ' || o.option_value
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
cross join lateral pg_options_to_table(c.reloptions) o
where c.relkind in ('r', 'm')
  and o.option_name = 'autovacuum_enabled' and o.option_value::boolean = false
union all
select 'table', n.nspname, c.relname, 'toast.' || o.option_name || ' = ' || o.option_value
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_class t on t.oid = c.reltoastrelid
cross join lateral pg_options_to_table(t.reloptions) o
where o.option_name = 'autovacuum_enabled' and o.option_value::boolean = false
order by 1, 2, 3
