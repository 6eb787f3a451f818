-- find_objects.sql: which objects have a name that matches a pattern?
-- Answers: tables (plain, partitioned, foreign), views, materialized views, indexes,
-- sequences, columns, functions, procedures, aggregates, types (enum, domain, composite,
-- range, base; not the row types of tables nor array types), triggers, constraints (of
-- tables and domains: primary key, unique, check, foreign key, exclusion; not the NOT NULL
-- ones PostgreSQL 18 keeps as constraints, one per column) and row-level security policies
-- outside the system schemas whose name matches $1 (a LIKE pattern, matched case-insensitively with
-- backslash as the escape): kind, family (what --kind names), schema, name, the table it
-- belongs to (columns, indexes, triggers, constraints, policies, owned sequences), and a
-- detail (a column's type,
-- a function's arguments, an index's method and columns (read from the catalogs, so a
-- locked table does not hold the search up), a trigger's definition, a type's flavour, a
-- constraint's type (", inherited" on a partition's or child table's copy), a policy's
-- permissive or restrictive and its command). Names equal to the pattern's text come first
-- ($3), then by family, schema, table, name.
-- Unless $6, what belongs to a partition (its columns, indexes, constraints, triggers,
-- policies: copies of its parent's, one per partition) is left out and counted instead, as
-- partition_members; partitions themselves are listed.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 text LIKE pattern, $2 text[] families to keep (null: all), $3 text the
-- plain text typed (for ranking exact names first), $4 int row limit, $5 text LIKE pattern the
-- schema must match (null: any), $6 boolean partitions' members too.
-- Server versions: PostgreSQL 11 and later (prokind); tested on 13-18 (18 keeps NOT NULL in
-- pg_constraint, contype 'n', left out here).
with objects as (
  select case c.relkind when 'r' then 'table' when 'p' then 'partitioned table'
                        when 'f' then 'foreign table' when 'v' then 'view'
                        when 'm' then 'materialized view' when 'i' then 'index'
                        when 'I' then 'partitioned index' when 'S' then 'sequence' end as kind,
         case when c.relkind in ('r', 'p', 'f') then 'table'
              when c.relkind in ('i', 'I') then 'index'
              when c.relkind = 'm' then 'materialized_view'
              when c.relkind = 'v' then 'view'
              else 'sequence' end as family,
         c.relnamespace as nsp,
         c.relname::text as name,
         coalesce(x.indrelid, owner.refobjid) as owner_rel,
         -- Built from the catalogs: pg_get_indexdef would wait for a lock on the table.
         case when c.relkind in ('i', 'I') then
           case when x.indisunique then 'unique ' else '' end || am.amname || ' ('
           || (select string_agg(coalesce(a.attname::text, 'expression'), ', ' order by k.ord)
                 from unnest(x.indkey::int2[]) with ordinality as k(attnum, ord)
                 left join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
                                         and k.attnum > 0)
           || ')' || case when x.indpred is not null then ' partial' else '' end
         end as detail
  from pg_class c
  left join pg_index x on x.indexrelid = c.oid
  left join pg_am am on am.oid = c.relam
  left join pg_depend owner on c.relkind = 'S' and owner.classid = 'pg_class'::regclass
        and owner.objid = c.oid and owner.refclassid = 'pg_class'::regclass
        and owner.deptype in ('a', 'i')
  where c.relkind in ('r', 'p', 'f', 'v', 'm', 'i', 'I', 'S')
  union all
  select 'column', 'column', c.relnamespace, a.attname::text, c.oid,
         format_type(a.atttypid, a.atttypmod)
  from pg_attribute a
  join pg_class c on c.oid = a.attrelid
  where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'f', 'v', 'm')
  union all
  select case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate'
                        when 'w' then 'window function' else 'function' end,
         case p.prokind when 'p' then 'procedure' else 'function' end,
         p.pronamespace, p.proname::text, null::oid,
         '(' || pg_get_function_identity_arguments(p.oid) || ')'
  from pg_proc p
  union all
  select 'type', 'type', t.typnamespace, t.typname::text, null::oid,
         case t.typtype when 'e' then 'enum' when 'd' then 'domain over '
                                   || format_type(t.typbasetype, t.typtypmod)
                        when 'c' then 'composite' when 'r' then 'range'
                        when 'm' then 'multirange' when 'p' then 'pseudo' else 'base' end
  from pg_type t
  left join pg_class tc on tc.oid = t.typrelid
  where (t.typrelid = 0 or tc.relkind = 'c')
    and not (t.typelem <> 0 and t.typlen = -1 and t.typtype = 'b'
             and exists (select 1 from pg_type e where e.oid = t.typelem and e.typarray = t.oid))
  union all
  select 'trigger', 'trigger', c.relnamespace, g.tgname::text, c.oid,
         pg_get_triggerdef(g.oid)
  from pg_trigger g
  join pg_class c on c.oid = g.tgrelid
  where not g.tgisinternal
  union all
  -- Constraint triggers are listed as triggers above; NOT NULL ('n') is a column's property.
  select 'constraint', 'constraint', k.connamespace, k.conname::text, nullif(k.conrelid, 0),
         case k.contype when 'p' then 'primary key' when 'u' then 'unique' when 'c' then 'check'
                        when 'f' then 'foreign key' when 'x' then 'exclusion' end
         || case when k.contypid <> 0 then ' on domain ' || format_type(k.contypid, null)
                 else '' end
         || case when k.coninhcount > 0 then ', inherited' else '' end
  from pg_constraint k
  where k.contype in ('p', 'u', 'c', 'f', 'x')
  union all
  select 'policy', 'policy', c.relnamespace, p.polname::text, c.oid,
         case when p.polpermissive then 'permissive' else 'restrictive' end || ' for '
         || case p.polcmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update'
                          when 'd' then 'delete' else 'all' end
  from pg_policy p
  join pg_class c on c.oid = p.polrelid
),
matched as (
  select o.kind,
         o.family,
         n.nspname as schema,
         o.name,
         r.relname as "table",
         o.detail,
         coalesce(r.relispartition, false) and not $6::boolean as member
  from objects o
  join pg_namespace n on n.oid = o.nsp
  left join pg_class r on r.oid = o.owner_rel
  where o.name ilike $1
    and ($2::text[] is null or o.family = any($2::text[]))
    and ($5::text is null or n.nspname ilike $5::text)
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
)
select m.kind,
       m.family,
       m.schema,
       m.name,
       m."table",
       m.detail,
       count(*) over () as total,
       (select count(*) from matched where member) as partition_members
from matched m
where not m.member
order by lower(m.name) = lower($3) desc, m.family, m.schema, m."table" nulls first, m.name,
         m.detail
limit $4
