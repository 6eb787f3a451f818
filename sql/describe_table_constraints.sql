-- describe_table_constraints.sql: which constraints hold on the relation?
-- Answers, for the relation with OID $1: its primary key, unique, check and exclusion
-- constraints, and its foreign keys together with those declared on the partitioned tables it
-- is a partition of (they hold on it too; the copies PostgreSQL makes on each partition are not
-- repeated): name, type, the definition as the server writes it, the columns, whether it is
-- inherited (not declared on this table itself), where a foreign key is declared, and for a
-- foreign key the referenced table and columns and its ON DELETE and ON UPDATE actions. NOT NULL
-- constraints (rows of their own from PostgreSQL 18) are the columns' not_null instead.
-- Primary keys first, then unique, exclusion, check, foreign keys; by name.
-- Parameters: $1 int8 the relation's OID.
-- Server versions: PostgreSQL 12 and later (pg_partition_ancestors); tested on 13-18.
with owners as (
  select $1::pg_catalog.int8::pg_catalog.oid as relid
  union
  select a.relid from pg_catalog.pg_partition_ancestors($1::pg_catalog.int8::pg_catalog.oid) a
)
select k.conname as name,
       case k.contype when 'p' then 'primary key' when 'u' then 'unique' when 'c' then 'check'
                      when 'x' then 'exclusion' when 'f' then 'foreign key' end as type,
       pg_catalog.pg_get_constraintdef(k.oid, true) as definition,
       array(select a.attname from pg_catalog.unnest(k.conkey) with ordinality as c(attnum, i)
               join pg_catalog.pg_attribute a on a.attrelid = k.conrelid and a.attnum = c.attnum
              order by c.i) as columns,
       not k.conislocal as inherited,
       case when k.conrelid <> $1::pg_catalog.int8::pg_catalog.oid
            then (select pg_catalog.quote_ident(n.nspname) || '.'
                         || pg_catalog.quote_ident(c.relname)
                    from pg_catalog.pg_class c
                    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                   where c.oid = k.conrelid) end as declared_on,
       (select pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)
          from pg_catalog.pg_class c
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where c.oid = k.confrelid) as references_table,
       case when k.contype = 'f' then
         array(select a.attname from pg_catalog.unnest(k.confkey) with ordinality as c(attnum, i)
                 join pg_catalog.pg_attribute a on a.attrelid = k.confrelid and a.attnum = c.attnum
                order by c.i) end as references_columns,
       case when k.contype = 'f' then
         case k.confdeltype when 'a' then 'no action' when 'r' then 'restrict'
                            when 'c' then 'cascade' when 'n' then 'set null'
                            when 'd' then 'set default' end end as on_delete,
       case when k.contype = 'f' then
         case k.confupdtype when 'a' then 'no action' when 'r' then 'restrict'
                            when 'c' then 'cascade' when 'n' then 'set null'
                            when 'd' then 'set default' end end as on_update,
       k.conindid::pg_catalog.int8 as index_oid
from pg_catalog.pg_constraint k
where (k.conrelid = $1::pg_catalog.int8::pg_catalog.oid and k.contype in ('p', 'u', 'c', 'x'))
   or (k.conrelid in (select relid from owners) and k.contype = 'f' and k.conparentid = 0)
order by pg_catalog.strpos('pucxf', k.contype::text), k.conname
