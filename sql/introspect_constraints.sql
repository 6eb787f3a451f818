-- introspect_constraints.sql: which primary keys, unique, check, exclusion and foreign key
-- constraints do these tables have?
-- Answers, per table and part (primary_key, unique, checks, exclusions, foreign_keys): the
-- table's oid, the part, and its constraints in name order as one JSON array (the primary key
-- as one object; nulls left out; built by the server, one value per table and part), each with
-- name, columns in key order (keys), definition (checks
-- and exclusions, as pg_get_constraintdef writes it), the index of a key when it is more than
-- its method and columns (INCLUDE, WITH, NULLS NOT DISTINCT ...: what follows USING), the
-- referenced table (schema-qualified) and columns, on_update and on_delete (when not
-- NO ACTION), match (full, when MATCH FULL), and deferrable, initially_deferred, not_valid
-- (true, else null), comment. Each constraint once, where it is declared: the copies
-- PostgreSQL keeps on partitions (conparentid) and inherited checks (not local) are left out,
-- as pg_dump leaves them out. An index that backs a key has the key's name.
-- Run with pin_search_path.sql in force.
-- Parameters: $1 oid[] the tables (from introspect_relations.sql).
-- Server versions: PostgreSQL 11 and later (conparentid); tested on 13-18.
with keys as (
  select k.*,
         array(select a.attname from unnest(k.conkey) with ordinality as u(attnum, ord)
               join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum
               order by u.ord) as cols
  from unnest($1::oid[]) as u(oid)
  join pg_constraint k on k.conrelid = u.oid
  where k.contype in ('p', 'u', 'c', 'x', 'f')
    and k.conparentid = 0
    and (k.contype <> 'c' or k.conislocal)
)
select y.relation,
       y.part,
       json_strip_nulls(case when y.part = 'primary_key' then y.items -> 0 else y.items end)
         as items
from (
  select x.relation,
         x.part,
         json_agg(json_build_object(
             'name', x.name,
             'columns', x.columns,
             'definition', x.definition,
             'index', x."index",
             'referenced_table', x.referenced_table,
             'referenced_columns', x.referenced_columns,
             'on_update', x.on_update,
             'on_delete', x.on_delete,
             'match', x."match",
             'deferrable', x.deferrable,
             'initially_deferred', x.initially_deferred,
             'not_valid', x.not_valid,
             'comment', x.comment) order by x.name) as items
  from (
    select k.conrelid as relation,
           case k.contype when 'p' then 'primary_key' when 'u' then 'unique' when 'c' then 'checks'
                          when 'x' then 'exclusions' else 'foreign_keys' end as part,
           k.conname as name,
           case when k.contype in ('p', 'u', 'f') then k.cols end as columns,
           case when k.contype in ('c', 'x') then pg_get_constraintdef(k.oid) end as definition,
           case when k.contype in ('p', 'u') and not plain.plain then
             (select case when x.def <> x.amname || ' (' || array_to_string(array(
                            select quote_ident(c) from unnest(k.cols) as c), ', ') || ')'
                          then x.def end
                from (select case when starts_with(d.def, d.prefix)
                                  then substr(d.def, length(d.prefix) + 1) else d.def end as def,
                             am.amname
                        from pg_class ic
                        join pg_am am on am.oid = ic.relam
                        join pg_class t on t.oid = k.conrelid
                        join pg_namespace n on n.oid = t.relnamespace
                        cross join lateral (
                          select pg_get_indexdef(ic.oid) as def,
                                 'CREATE UNIQUE INDEX ' || quote_ident(ic.relname) || ' ON '
                                   || case when t.relkind = 'p' then 'ONLY ' else '' end
                                   || quote_ident(n.nspname) || '.' || quote_ident(t.relname)
                                   || ' USING ' as prefix) d
                       where ic.oid = k.conindid) x)
           end as index,
           case when k.contype = 'f' then
             (select quote_ident(rn.nspname) || '.' || quote_ident(rc.relname)
                from pg_class rc join pg_namespace rn on rn.oid = rc.relnamespace
               where rc.oid = k.confrelid) end as referenced_table,
           case when k.contype = 'f' then
             array(select a.attname from unnest(k.confkey) with ordinality as u(attnum, ord)
                   join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.attnum
                   order by u.ord) end as referenced_columns,
           case when k.contype = 'f' then
             case k.confupdtype when 'r' then 'restrict' when 'c' then 'cascade'
                                when 'n' then 'set null' when 'd' then 'set default' end
           end as on_update,
           case when k.contype = 'f' then
             case k.confdeltype when 'r' then 'restrict' when 'c' then 'cascade'
                                when 'n' then 'set null' when 'd' then 'set default' end
           end as on_delete,
           case when k.contype = 'f' and k.confmatchtype = 'f' then 'full' end as match,
           nullif(k.condeferrable, false) as deferrable,
           nullif(k.condeferred, false) as initially_deferred,
           nullif(not k.convalidated, false) as not_valid,
           dsc.description as comment
    from keys k
    -- A key's index is plain when it holds the key's columns only, with the default operator
    -- classes and collations and no options: then pg_get_indexdef (costly) is not called.
    cross join lateral (
      select coalesce(bool_and(
               i.indnkeyatts = i.indnatts and ic.reloptions is null and ic.reltablespace = 0
               -- NULLS NOT DISTINCT (PostgreSQL 15): read so that 13 and 14 need no column.
               and not coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::bool, false)
               and not exists (select 1 from unnest(i.indclass::oid[]) as o(opclass)
                               join pg_opclass oc on oc.oid = o.opclass
                               where not oc.opcdefault)
               and not exists (select 1
                               from unnest(i.indkey::int2[], i.indcollation::oid[]) as k(attnum, coll)
                               join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                               where k.coll <> a.attcollation)), false) as plain
      from pg_index i
      join pg_class ic on ic.oid = i.indexrelid
      where i.indexrelid = k.conindid and k.contype in ('p', 'u')
    ) plain
    left join pg_description dsc
      on dsc.classoid = 'pg_constraint'::regclass and dsc.objoid = k.oid and dsc.objsubid = 0
  ) x
  group by x.relation, x.part
) y
