-- doctor_vacuum_due.sql: which tables have more dead rows than should trigger autovacuum?
-- Answers: schema, table, live and dead rows, the dead-row count at which autovacuum
-- vacuums the table (autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor x
-- reltuples, the table's own settings first), whether autovacuum is enabled for it, and
-- the last (auto)vacuum; most dead rows beyond the trigger first.
-- total: how many tables are past their trigger in all, before the limit (the same on every
-- row).
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
with opts as (
  select c.oid,
         (select option_value from pg_options_to_table(c.reloptions)
           where option_name = 'autovacuum_vacuum_threshold')::numeric as threshold,
         (select option_value from pg_options_to_table(c.reloptions)
           where option_name = 'autovacuum_vacuum_scale_factor')::numeric as scale_factor,
         (select option_value from pg_options_to_table(c.reloptions)
           where option_name = 'autovacuum_enabled')::boolean as enabled,
         greatest(c.reltuples, 0) as reltuples
  from pg_class c
  where c.relkind in ('r', 'm')
)
select s.schemaname as schema,
       s.relname as "table",
       s.n_live_tup as live_rows,
       s.n_dead_tup as dead_rows,
       round(coalesce(o.threshold, current_setting('autovacuum_vacuum_threshold')::numeric)
         + coalesce(o.scale_factor, current_setting('autovacuum_vacuum_scale_factor')::numeric)
           * o.reltuples) as vacuum_trigger,
       coalesce(o.enabled, true) and current_setting('autovacuum')::boolean as autovacuum,
       greatest(s.last_vacuum, s.last_autovacuum) as last_vacuum,
       count(*) over () as total
from pg_stat_user_tables s
join opts o on o.oid = s.relid
where s.n_dead_tup > coalesce(o.threshold, current_setting('autovacuum_vacuum_threshold')::numeric)
        + coalesce(o.scale_factor, current_setting('autovacuum_vacuum_scale_factor')::numeric)
          * o.reltuples
order by s.n_dead_tup - (coalesce(o.threshold,
           current_setting('autovacuum_vacuum_threshold')::numeric)
         + coalesce(o.scale_factor,
           current_setting('autovacuum_vacuum_scale_factor')::numeric) * o.reltuples) desc,
         1, 2
limit $1
