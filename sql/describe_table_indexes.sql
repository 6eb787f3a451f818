-- describe_table_indexes.sql: which indexes does the relation have, how big, how used?
-- Answers, for the relation with OID $1: each index's name, its definition after "USING"
-- (method, columns, INCLUDE, WHERE: the rest of pg_get_indexdef, which is given whole when its
-- start is not the expected one), primary, unique, the constraint it backs (primary key, unique,
-- exclusion) with its name and the constraint's own definition for an exclusion constraint,
-- whether it is deferrable, valid (an invalid one is left by a failed CREATE INDEX
-- CONCURRENTLY and is not used by queries) and ready, its size in bytes and readable, and scans
-- since the statistics were reset (neither for a partitioned index, which stores nothing).
-- Primary key first, then by name.
-- Parameters: $1 int8 the relation's OID.
-- Server versions: PostgreSQL 11 and later (partitioned indexes); tested on 13-18.
with ix as (
  select x.*, ic.relname as index_name, ic.relkind as index_kind,
         pg_catalog.pg_get_indexdef(x.indexrelid) as full_definition,
         'CREATE ' || case when x.indisunique then 'UNIQUE ' else '' end || 'INDEX '
           || pg_catalog.quote_ident(ic.relname) || ' ON ' as head,
         pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname)
           || ' USING ' as tail
  from pg_catalog.pg_index x
  join pg_catalog.pg_class ic on ic.oid = x.indexrelid
  join pg_catalog.pg_class t on t.oid = x.indrelid
  join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
  where x.indrelid = $1::pg_catalog.int8::pg_catalog.oid
),
shaped as (
  select ix.*,
         case when pg_catalog.starts_with(ix.full_definition, ix.head || ix.tail)
              then pg_catalog.substr(ix.full_definition,
                                     pg_catalog.length(ix.head || ix.tail) + 1)
              when pg_catalog.starts_with(ix.full_definition, ix.head || 'ONLY ' || ix.tail)
              then pg_catalog.substr(ix.full_definition,
                                     pg_catalog.length(ix.head || 'ONLY ' || ix.tail) + 1)
              else ix.full_definition end as definition
  from ix
)
select s.index_name as name,
       s.definition,
       s.indisprimary as "primary",
       s.indisunique as "unique",
       case k.contype when 'p' then 'primary key' when 'u' then 'unique'
                      when 'x' then 'exclusion' end as constraint_type,
       k.conname as constraint_name,
       case when k.contype = 'x' then pg_catalog.pg_get_constraintdef(k.oid, true) end
         as constraint_definition,
       coalesce(k.condeferrable, false) as deferrable,
       coalesce(k.condeferred, false) as deferred,
       s.indisvalid as valid,
       s.indisready as ready,
       -- A partitioned index has no storage of its own: its partitions' indexes hold the entries.
       case when s.index_kind <> 'I' then pg_catalog.pg_relation_size(s.indexrelid) end
         as size_bytes,
       case when s.index_kind <> 'I'
            then pg_catalog.pg_size_pretty(pg_catalog.pg_relation_size(s.indexrelid)) end as size,
       case when s.index_kind <> 'I' then st.idx_scan end as scans
from shaped s
left join pg_catalog.pg_constraint k
       on k.conindid = s.indexrelid and k.conrelid = s.indrelid and k.contype in ('p', 'u', 'x')
left join pg_catalog.pg_stat_all_indexes st on st.indexrelid = s.indexrelid
order by s.indisprimary desc, s.index_name
