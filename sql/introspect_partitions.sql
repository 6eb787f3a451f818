-- introspect_partitions.sql: which tables are partitions, of what, for which values?
-- Answers: schema, name, the partitioned table it belongs to (schema-qualified), its bound
-- (FOR VALUES ... or DEFAULT), whether it is partitioned itself.
-- --table matches the partition or its partitioned table (the partitions belong to it).
-- Parameters: $1 text[] schemas (null: every user schema), $2 text[] table names (null: all).
-- Server versions: PostgreSQL 10 and later (declarative partitioning); tested on 13-18.
select n.nspname as schema,
       c.relname as name,
       quote_ident(pn.nspname) || '.' || quote_ident(pc.relname) as partition_of,
       pg_get_expr(c.relpartbound, c.oid) as bound,
       c.relkind = 'p' as partitioned
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_inherits i on i.inhrelid = c.oid
join pg_class pc on pc.oid = i.inhparent
join pg_namespace pn on pn.oid = pc.relnamespace
where c.relispartition
  and c.relkind in ('r', 'p', 'f')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and ($1::text[] is null or n.nspname = any ($1))
  and ($2::text[] is null or c.relname = any ($2) or pc.relname = any ($2))
order by 1, 3, 2
