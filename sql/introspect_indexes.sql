-- introspect_indexes.sql: which indexes do these tables and materialized views have?
-- Answers, per relation: its oid and its indexes in name order as one JSON array (nulls left
-- out; built by the server, one value per relation), each with name, definition (what follows
-- USING in CREATE INDEX: method, columns, INCLUDE, WITH, WHERE ...), unique and invalid (true, else
-- null), the partitioned table's index it is attached to (schema-qualified; then the
-- definition, which is the same, is left out), comment. An index that backs a primary key,
-- unique or exclusion constraint is left out: the constraint describes it.
-- A plain index (columns only, default operator classes, collations and order, no options) is
-- spelled from the catalog without pg_get_indexdef, which costs far more per index and writes
-- the same. (Sizes and usage: index_health and table_sizes.) Run with pin_search_path.sql in
-- force.
-- Parameters: $1 oid[] the relations (from introspect_relations.sql).
-- Server versions: PostgreSQL 11 and later (indnkeyatts); tested on 13-18.
select x.relation,
       json_strip_nulls(json_agg(json_build_object(
         'name', x.name,
         'definition', x.definition,
         'unique', x."unique",
         'invalid', x.invalid,
         'of', x."of",
         'comment', x.comment) order by x.name)) as items
from (
  select i.indrelid as relation,
         ic.relname as name,
         case when parent.name is null then
           case when i.indexprs is null and i.indpred is null and i.indnkeyatts = i.indnatts
                     and ic.reloptions is null and ic.reltablespace = 0
                     and 0 = all (i.indoption::int2[])
                     -- NULLS NOT DISTINCT (PostgreSQL 15): read so that 13 and 14 need no column.
                     and not coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::bool, false)
                     and not exists (select 1 from unnest(i.indclass::oid[]) as k(opclass)
                                     join pg_opclass o on o.oid = k.opclass
                                     where not o.opcdefault)
                     and not exists (
                           select 1
                           from unnest(i.indkey::int2[], i.indcollation::oid[]) as k(attnum, coll)
                           join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                           where k.coll <> a.attcollation)
                then am.amname || ' (' || array_to_string(array(
                       select quote_ident(a.attname)
                       from unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
                       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                       order by k.ord), ', ') || ')'
                else (select case when starts_with(d.def, d.prefix)
                                  then substr(d.def, length(d.prefix) + 1) else d.def end
                      from (select pg_get_indexdef(i.indexrelid) as def,
                                   'CREATE ' || case when i.indisunique then 'UNIQUE ' else '' end
                                     || 'INDEX ' || quote_ident(ic.relname) || ' ON '
                                     || case when t.relkind = 'p' then 'ONLY ' else '' end
                                     || quote_ident(n.nspname) || '.' || quote_ident(t.relname)
                                     || ' USING ' as prefix) d)
           end
         end as definition,
         case when parent.name is null then nullif(i.indisunique, false) end as "unique",
         nullif(not i.indisvalid, false) as invalid,
         parent.name as "of",
         dsc.description as comment
  from unnest($1::oid[]) as u(oid)
  join pg_index i on i.indrelid = u.oid
  join pg_class ic on ic.oid = i.indexrelid
  join pg_class t on t.oid = i.indrelid
  join pg_namespace n on n.oid = t.relnamespace
  join pg_am am on am.oid = ic.relam
  left join lateral (
    select quote_ident(pn.nspname) || '.' || quote_ident(pc.relname) as name
    from pg_inherits h
    join pg_class pc on pc.oid = h.inhparent
    join pg_namespace pn on pn.oid = pc.relnamespace
    where h.inhrelid = i.indexrelid
  ) parent on true
  left join pg_description dsc
    on dsc.classoid = 'pg_class'::regclass and dsc.objoid = i.indexrelid and dsc.objsubid = 0
  where not exists (select 1 from pg_constraint k
                    where k.conindid = i.indexrelid and k.conrelid = i.indrelid
                      and k.contype in ('p', 'u', 'x') and k.conparentid = 0)
) x
group by x.relation
