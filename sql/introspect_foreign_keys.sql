-- introspect_foreign_keys.sql: which foreign keys exist, whole and in column order?
-- Answers: schema, table, constraint, columns, referenced schema/table/columns
-- (paired position by position, across schemas), update and delete actions,
-- deferrability, validation state. Each key once, as declared: the copies PostgreSQL keeps
-- for the partitions on either side (conparentid set) are left out, as pg_dump leaves them.
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 11 and later (conparentid); tested on 13-18.
select n.nspname as schema,
       c.relname as "table",
       k.conname as name,
       array(select a.attname from unnest(k.conkey) with ordinality as u(attnum, ord)
             join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum
             order by u.ord) as columns,
       rn.nspname as referenced_schema,
       rc.relname as referenced_table,
       array(select a.attname from unnest(k.confkey) with ordinality as u(attnum, ord)
             join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.attnum
             order by u.ord) as referenced_columns,
       case k.confupdtype when 'a' then 'no action' when 'r' then 'restrict' when 'c' then 'cascade'
                          when 'n' then 'set null' when 'd' then 'set default' end as on_update,
       case k.confdeltype when 'a' then 'no action' when 'r' then 'restrict' when 'c' then 'cascade'
                          when 'n' then 'set null' when 'd' then 'set default' end as on_delete,
       k.condeferrable as deferrable,
       k.convalidated as validated
from pg_constraint k
join pg_class c on c.oid = k.conrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_class rc on rc.oid = k.confrelid
join pg_namespace rn on rn.oid = rc.relnamespace
where k.contype = 'f'
  and k.conparentid = 0
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2))
order by 1, 2, 3
