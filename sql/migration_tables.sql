-- migration_tables.sql: the tables a migration will lock, as they are now, and who uses them.
-- Answers: for each table named in $1/$2 (schema or null, and name, as the migration writes
-- them; a null schema resolves through the session's search_path, as the migration's own
-- statements will): its oid (null when there is no such table yet), its name as the catalog
-- gives it, total size (readable and in bytes: the table, its indexes and TOAST), estimated rows
-- (null when never counted; a partitioned table's are its partitions', as its size is), for a
-- partitioned table how many partitions hold its rows (a lock on it is taken on each of them too),
-- and the other sessions that hold a lock on it (or on one of its partitions) now, granted, or
-- wait for one, with how long the oldest of the holders has been in its transaction, in seconds.
-- Read before the migration's statements take their locks, so that the sessions counted are
-- those already there, not those the check itself makes wait.
-- Parameters: $1 text[] schemas (null elements: none written), $2 text[] table names.
-- Server versions: 12 and later (pg_partition_tree); tested on 13-18.
with named as (
  select t.ord, t.schema, t.name,
         pg_catalog.to_regclass(
           case when t.schema is null then pg_catalog.quote_ident(t.name)
                else pg_catalog.quote_ident(t.schema) operator(pg_catalog.||) '.'
                     operator(pg_catalog.||) pg_catalog.quote_ident(t.name) end) as oid
  from unnest($1::pg_catalog.text[], $2::pg_catalog.text[]) with ordinality as t(schema, name, ord)
)
select n.ord,
       n.oid::pg_catalog.oid::pg_catalog.text as oid,
       n.oid::pg_catalog.text as "table",
       pg_catalog.pg_size_pretty(leaves.bytes) as size,
       leaves.bytes as size_bytes,
       leaves.rows as estimated_rows,
       case when c.relkind operator(pg_catalog.=) 'p' then leaves.count end as partitions,
       (select pg_catalog.count(distinct l.pid) from pg_catalog.pg_locks l
         where l.relation operator(pg_catalog.=) any (leaves.relids) and l.granted
           and l.pid operator(pg_catalog.<>) pg_catalog.pg_backend_pid()) as sessions_holding,
       (select pg_catalog.count(distinct l.pid) from pg_catalog.pg_locks l
         where l.relation operator(pg_catalog.=) any (leaves.relids) and not l.granted
           and l.pid operator(pg_catalog.<>) pg_catalog.pg_backend_pid()) as sessions_waiting,
       (select pg_catalog.round(pg_catalog.max(pg_catalog.date_part('epoch',
                 pg_catalog.now() operator(pg_catalog.-) a.xact_start))::pg_catalog.numeric)
          from pg_catalog.pg_locks l
          join pg_catalog.pg_stat_activity a on a.pid operator(pg_catalog.=) l.pid
         where l.relation operator(pg_catalog.=) any (leaves.relids) and l.granted
           and l.pid operator(pg_catalog.<>) pg_catalog.pg_backend_pid()) as oldest_holder_seconds
from named n
left join pg_catalog.pg_class c on c.oid operator(pg_catalog.=) n.oid
-- A partitioned table's rows and storage are its leaves'; a plain table is its own only leaf.
left join lateral (
  select pg_catalog.sum(pg_catalog.pg_total_relation_size(t.relid))::pg_catalog.int8 as bytes,
         case when pg_catalog.bool_and(l.reltuples operator(pg_catalog.>=) 0)
              then pg_catalog.sum(l.reltuples)::pg_catalog.int8 end as rows,
         pg_catalog.count(*) as count,
         -- The table and every partition under it: a session using any of them holds a lock.
         pg_catalog.array_append(pg_catalog.array_agg(t.relid::pg_catalog.oid),
                                 n.oid::pg_catalog.oid) as relids
  from (select t.relid from pg_catalog.pg_partition_tree(n.oid) t
         where t.isleaf and c.relkind operator(pg_catalog.=) 'p'
        union all
        select n.oid where c.relkind operator(pg_catalog.<>) 'p') t
  join pg_catalog.pg_class l on l.oid operator(pg_catalog.=) t.relid
) leaves on true
order by n.ord
