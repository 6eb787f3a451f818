-- describe_table_referenced_by.sql: which foreign keys point at the relation?
-- Answers, for the relation with OID $1: every foreign key that references it, or a partitioned
-- table it is a partition of (as psql's "Referenced by" lists them; the copies PostgreSQL makes
-- per partition are not repeated): the referencing table, its columns, the constraint's name,
-- the referenced columns, ON DELETE and ON UPDATE, the table referenced when it is an ancestor,
-- and the definition. By referencing table, then name.
-- Parameters: $1 int8 the relation's OID.
-- Server versions: PostgreSQL 12 and later (pg_partition_ancestors); tested on 13-18.
with targets as (
  select $1::pg_catalog.int8::pg_catalog.oid as relid
  union
  select a.relid from pg_catalog.pg_partition_ancestors($1::pg_catalog.int8::pg_catalog.oid) a
)
select pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) as "table",
       array(select a.attname from pg_catalog.unnest(k.conkey) with ordinality as u(attnum, i)
               join pg_catalog.pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum
              order by u.i) as columns,
       k.conname as name,
       array(select a.attname from pg_catalog.unnest(k.confkey) with ordinality as u(attnum, i)
               join pg_catalog.pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.attnum
              order by u.i) as references_columns,
       case k.confdeltype when 'a' then 'no action' when 'r' then 'restrict'
                          when 'c' then 'cascade' when 'n' then 'set null'
                          when 'd' then 'set default' end as on_delete,
       case k.confupdtype when 'a' then 'no action' when 'r' then 'restrict'
                          when 'c' then 'cascade' when 'n' then 'set null'
                          when 'd' then 'set default' end as on_update,
       case when k.confrelid <> $1::pg_catalog.int8::pg_catalog.oid
            then (select pg_catalog.quote_ident(tn.nspname) || '.'
                         || pg_catalog.quote_ident(t.relname)
                    from pg_catalog.pg_class t
                    join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
                   where t.oid = k.confrelid) end as via,
       pg_catalog.pg_get_constraintdef(k.oid, true) as definition
from pg_catalog.pg_constraint k
join pg_catalog.pg_class c on c.oid = k.conrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where k.contype = 'f'
  and k.conparentid = 0
  and k.confrelid in (select relid from targets)
order by n.nspname, c.relname, k.conname
