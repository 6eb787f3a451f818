-- doctor_table_bloat.sql: which tables take much more space than their rows need (bloat)?
-- Answers: tables of this database past $1 bytes and $2 percent of their pages estimated wasted,
-- most wasted first, up to $5: schema, table, its size (relpages), the rows it holds (reltuples),
-- fillfactor, estimated wasted bytes and percent; and on every row (one row of nulls but these
-- when none is past): total (tables past $1 and $2), critical (past $3 bytes and $4 percent),
-- estimated (tables with pages and complete statistics) and unestimated (tables with pages whose
-- statistics are missing: vacuumed but never analyzed, or columns this role may not read). Pages
-- are the catalog's count (relpages, set by VACUUM and ANALYZE): no table's file is opened.
-- The estimate is the one check_postgres and PgHero make, from the planner's statistics, never
-- by reading the table: a row takes its header (23 bytes, with a null bitmap when any column has
-- nulls) and its columns' average width (pg_stats avg_width less its null_frac), each padded to
-- 8 bytes, plus a 4-byte line pointer; the rows (reltuples) packed into pages of block_size less
-- the 24-byte page header, filled to the table's fillfactor, are the pages it needs; the rest of
-- relpages is wasted. Heap only: TOAST is left out on both sides (avg_width counts a toasted
-- value as stored in the row). Often off by 10-20%; pgstattuple measures exactly.
-- Parameters: $1 numeric warning bytes, $2 numeric warning percent, $3 numeric critical bytes,
-- $4 numeric critical percent, $5 int row limit.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
with tables as (
  select c.oid, n.nspname, c.relname, c.relpages::numeric as pages,
         c.reltuples::numeric as tuples,
         coalesce((select o.option_value::numeric
                     from pg_catalog.pg_options_to_table(c.reloptions) o
                    where o.option_name = 'fillfactor'), 100) as fillfactor
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'm')
    and c.relpages > 0
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
), widths as (
  select t.oid,
         -- The null bitmap has a bit for every attribute, dropped ones too.
         pg_catalog.max(a.attnum) as natts,
         pg_catalog.count(*) filter (where not a.attisdropped) as columns,
         pg_catalog.count(s.attname) as with_stats,
         coalesce(pg_catalog.bool_or(s.null_frac > 0), false) as has_nulls,
         coalesce(pg_catalog.sum((1 - s.null_frac::numeric) * s.avg_width), 0) as data_width
  from tables t
  join pg_catalog.pg_attribute a on a.attrelid = t.oid and a.attnum > 0
  left join pg_catalog.pg_stats s
    on s.schemaname = t.nspname and s.tablename = t.relname and s.attname = a.attname
   and not s.inherited and not a.attisdropped
  group by t.oid
), sized as (
  select t.*,
         w.columns > 0 and w.columns = w.with_stats and t.tuples >= 0 as estimated,
         pg_catalog.current_setting('block_size')::numeric as block_size,
         pg_catalog.ceil((23 + case when w.has_nulls then pg_catalog.ceil(w.natts / 8.0) else 0 end)
           / 8.0) * 8 + pg_catalog.ceil(w.data_width / 8.0) * 8 + 4 as row_bytes
  from tables t
  join widths w on w.oid = t.oid
), estimates as (
  select s.nspname, s.relname, s.estimated, s.pages, s.tuples, s.fillfactor, s.block_size,
         greatest(s.pages - pg_catalog.ceil(s.tuples / greatest(
           pg_catalog.floor((s.block_size - 24) * s.fillfactor / 100 / s.row_bytes), 1)), 0)
           as wasted_pages
  from sized s
  where s.estimated
  union all
  select s.nspname, s.relname, false, s.pages, s.tuples, s.fillfactor, s.block_size, 0
  from sized s
  where not s.estimated
), counts as (
  select pg_catalog.count(*) filter (where e.estimated) as estimated,
         pg_catalog.count(*) filter (where not e.estimated) as unestimated,
         pg_catalog.count(*) filter (where e.estimated and e.wasted_pages * e.block_size >= $1
           and 100 * e.wasted_pages / e.pages >= $2) as total,
         pg_catalog.count(*) filter (where e.estimated and e.wasted_pages * e.block_size >= $3
           and 100 * e.wasted_pages / e.pages >= $4) as critical
  from estimates e
)
select b.schema, b."table", b.table_bytes, b.rows, b.fillfactor, b.wasted_bytes, b.wasted_pct,
       k.total, k.critical, k.estimated, k.unestimated
from counts k
left join lateral (
  select e.nspname as schema,
         e.relname as "table",
         (e.pages * e.block_size)::bigint as table_bytes,
         e.tuples::bigint as rows,
         e.fillfactor::int as fillfactor,
         (e.wasted_pages * e.block_size)::bigint as wasted_bytes,
         pg_catalog.round(100 * e.wasted_pages / e.pages, 1) as wasted_pct
  from estimates e
  where e.estimated
    and e.wasted_pages * e.block_size >= $1
    and 100 * e.wasted_pages / e.pages >= $2
  order by e.wasted_pages * e.block_size desc, 1, 2
  limit $5
) b on true
order by b.wasted_bytes desc, 1, 2
