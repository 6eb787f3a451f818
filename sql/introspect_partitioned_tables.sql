-- introspect_partitioned_tables.sql: which tables are partitioned, and how?
-- Answers: schema, name, strategy (range, list, hash), partition key (as PARTITION BY writes it),
-- its partitions (direct ones, schema-qualified, in name order), the default partition.
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 11 and later (default partitions); tested on 13-18.
select n.nspname as schema,
       c.relname as name,
       case pt.partstrat when 'r' then 'range' when 'l' then 'list' when 'h' then 'hash' end
         as strategy,
       pg_get_partkeydef(c.oid) as partition_key,
       array(select quote_ident(cn.nspname) || '.' || quote_ident(cc.relname)
               from pg_inherits i
               join pg_class cc on cc.oid = i.inhrelid
               join pg_namespace cn on cn.oid = cc.relnamespace
              where i.inhparent = c.oid
              order by 1) as partitions,
       (select quote_ident(dn.nspname) || '.' || quote_ident(dc.relname)
          from pg_class dc join pg_namespace dn on dn.oid = dc.relnamespace
         where dc.oid = pt.partdefid) as default_partition
from pg_partitioned_table pt
join pg_class c on c.oid = pt.partrelid
join pg_namespace n on n.oid = c.relnamespace
where n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2))
order by 1, 2
