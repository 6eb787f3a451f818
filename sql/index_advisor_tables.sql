-- index_advisor_tables.sql: what does the index advisor need to know of the tables a plan scans?
-- Answers, for each relation $1[i].$2[i] that a plan names (a partition is answered for its
-- root, the partitioned table an index would be made on): the scanned schema and name, the
-- root's OID, schema, name and its name quoted for DDL, its kind (r table, p partitioned,
-- m materialized view), its estimated rows (a partitioned table's are its leaves') and heap
-- size in bytes, its direct partitions that are leaves (schema OID, schema quoted, name, both quoted) and their count,
-- its columns (name, quoted name, pg_stats' n_distinct: below 0 a share of the rows, null when
-- not analyzed) and its indexes (name, also quoted, key columns in order, null for an expression, INCLUDE
-- columns, whether partial, valid, and the access method).
-- Runs under the role's own search_path (the advisor plans the user's query there), where a
-- schema listed before pg_catalog could plant an operator or type of the same name: every one
-- below is named in pg_catalog.
-- Parameters: $1 text[] schemas, $2 text[] relation names, as the plan writes them.
-- Server versions: PostgreSQL 12 and later (pg_partition_root); tested on 13-18.
with scanned as (
  select s.schema, s.name, c.oid as scanned_oid
  from (select ($1::pg_catalog.text[])[i] as schema, ($2::pg_catalog.text[])[i] as name
        from pg_catalog.generate_subscripts($1::pg_catalog.text[], 1) as i) as s
  join pg_catalog.pg_namespace n on n.nspname OPERATOR(pg_catalog.=) s.schema
  join pg_catalog.pg_class c on c.relnamespace OPERATOR(pg_catalog.=) n.oid and c.relname OPERATOR(pg_catalog.=) s.name
),
rooted as (
  select s.*, coalesce(pg_catalog.pg_partition_root(s.scanned_oid), s.scanned_oid) as root
  from scanned s
)
select r.schema as scanned_schema,
       r.name as scanned_name,
       t.oid::pg_catalog.int8 as oid,
       tn.oid::pg_catalog.int8 as schema_oid,
       tn.nspname as schema,
       pg_catalog.quote_ident(tn.nspname) as schema_quoted,
       t.relname as name,
       pg_catalog.quote_ident(tn.nspname) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(t.relname) as qualified,
       t.relkind::pg_catalog.text as kind,
       case when t.relkind OPERATOR(pg_catalog.=) 'p'
            then (select coalesce(pg_catalog.sum(greatest(l.reltuples, 0)), 0)
                  from pg_catalog.pg_partition_tree(t.oid) pt
                  join pg_catalog.pg_class l on l.oid OPERATOR(pg_catalog.=) pt.relid where pt.isleaf)
            else greatest(t.reltuples, 0) end::pg_catalog.float8 as rows,
       case when t.relkind OPERATOR(pg_catalog.=) 'p'
            then (select coalesce(pg_catalog.sum(pg_catalog.pg_relation_size(pt.relid)), 0)
                  from pg_catalog.pg_partition_tree(t.oid) pt where pt.isleaf)
            else pg_catalog.pg_relation_size(t.oid) end::pg_catalog.int8 as heap_bytes,
       (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                 'schemaOid', pn.oid::pg_catalog.int8,
                 'schema', pg_catalog.quote_ident(pn.nspname),
                 'name', p.relname,
                 'qualified', pg_catalog.quote_ident(pn.nspname) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
                              pg_catalog.quote_ident(p.relname)) order by p.relname), '[]')
        from pg_catalog.pg_inherits i
        join pg_catalog.pg_class p on p.oid OPERATOR(pg_catalog.=) i.inhrelid
        join pg_catalog.pg_namespace pn on pn.oid OPERATOR(pg_catalog.=) p.relnamespace
        where i.inhparent OPERATOR(pg_catalog.=) t.oid and (p.relkind OPERATOR(pg_catalog.=) 'r' or p.relkind OPERATOR(pg_catalog.=) 'm')) as leaf_partitions,
       (select pg_catalog.count(*) from pg_catalog.pg_inherits i where i.inhparent OPERATOR(pg_catalog.=) t.oid)
         ::pg_catalog.int4 as partitions,
       (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                 'name', a.attname, 'quoted', pg_catalog.quote_ident(a.attname),
                 'distinct', st.n_distinct) order by a.attnum), '[]')
        from pg_catalog.pg_attribute a
        left join pg_catalog.pg_stats st
          on st.schemaname OPERATOR(pg_catalog.=) tn.nspname and st.tablename OPERATOR(pg_catalog.=) t.relname
         and st.attname OPERATOR(pg_catalog.=) a.attname and st.inherited OPERATOR(pg_catalog.=) (t.relkind OPERATOR(pg_catalog.=) 'p')
        where a.attrelid OPERATOR(pg_catalog.=) t.oid and a.attnum OPERATOR(pg_catalog.>) 0 and not a.attisdropped) as columns,
       (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                 'name', ic.relname,
                 'quoted', pg_catalog.quote_ident(ic.relname),
                 'keys', (select pg_catalog.jsonb_agg(ka.attname order by k.ord)
                          from pg_catalog.unnest(x.indkey::pg_catalog.int2[])
                                 with ordinality as k(attnum, ord)
                          left join pg_catalog.pg_attribute ka
                            on ka.attrelid OPERATOR(pg_catalog.=) t.oid and ka.attnum OPERATOR(pg_catalog.=) k.attnum and k.attnum OPERATOR(pg_catalog.<>) 0
                          where k.ord OPERATOR(pg_catalog.<=) x.indnkeyatts),
                 'include', (select coalesce(pg_catalog.jsonb_agg(ka.attname order by k.ord), '[]')
                             from pg_catalog.unnest(x.indkey::pg_catalog.int2[])
                                    with ordinality as k(attnum, ord)
                             join pg_catalog.pg_attribute ka
                               on ka.attrelid OPERATOR(pg_catalog.=) t.oid and ka.attnum OPERATOR(pg_catalog.=) k.attnum
                             where k.ord OPERATOR(pg_catalog.>) x.indnkeyatts),
                 'partial', x.indpred is not null,
                 'valid', x.indisvalid,
                 'method', am.amname) order by ic.relname), '[]')
        from pg_catalog.pg_index x
        join pg_catalog.pg_class ic on ic.oid OPERATOR(pg_catalog.=) x.indexrelid
        join pg_catalog.pg_am am on am.oid OPERATOR(pg_catalog.=) ic.relam
        where x.indrelid OPERATOR(pg_catalog.=) t.oid) as indexes
from rooted r
join pg_catalog.pg_class t on t.oid OPERATOR(pg_catalog.=) r.root
join pg_catalog.pg_namespace tn on tn.oid OPERATOR(pg_catalog.=) t.relnamespace
