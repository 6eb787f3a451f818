-- migration_verify.sql: do the objects a migration created, altered or dropped exist now?
-- The cheapest catalog lookup for each (to_regclass, to_regtype, one index probe), in this
-- session, so inside a transaction it sees that transaction's changes.
-- Answers, per object asked (in order): ord, and found: what the catalog holds (a relation's
-- kind, a column's type, a constraint's type, a function's signatures, an extension's
-- version ...) or null when absent, and invalid: true for an index a failed concurrent build
-- left (INVALID). Unqualified names resolve through the session's
-- search_path, as the migration's statements did.
-- Parameters: $1 text[] lookups (relation, column, constraint, trigger, policy, function, type,
-- schema, extension), $2 text[] schemas (null: search_path), $3 text[] names, $4 text[] items
-- (the column, constraint, trigger or policy name; a routine's argument types as
-- to_regprocedure reads them, null for any routine of the name; null otherwise), all of one
-- length.
-- Every function, operator, type and catalog is named with its schema: this runs after the
-- migration's own statements, which may have set search_path or made temporary objects.
-- Server versions: PostgreSQL 9.5 and later (to_regnamespace); tested on 13-18.
with asked as (
  select a.ord, a.lookup, a.schema, a.name, a.item,
         case when a.schema is null then pg_catalog.quote_ident(a.name)
              else pg_catalog.concat(pg_catalog.quote_ident(a.schema), '.',
                                     pg_catalog.quote_ident(a.name)) end as qualified
  from rows from (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.text[]),
                 pg_catalog.unnest($3::pg_catalog.text[]), pg_catalog.unnest($4::pg_catalog.text[]))
         with ordinality as a(lookup, schema, name, item, ord)
)
select a.ord,
       case
         when a.lookup operator(pg_catalog.=) 'relation' then
           (select case
                     when c.relkind operator(pg_catalog.=) 'r' then 'table'
                     when c.relkind operator(pg_catalog.=) 'p' then 'partitioned table'
                     when c.relkind operator(pg_catalog.=) 'v' then 'view'
                     when c.relkind operator(pg_catalog.=) 'm' then 'materialized view'
                     when c.relkind operator(pg_catalog.=) 'i' then 'index'
                     when c.relkind operator(pg_catalog.=) 'I' then 'partitioned index'
                     when c.relkind operator(pg_catalog.=) 'S' then 'sequence'
                     when c.relkind operator(pg_catalog.=) 'f' then 'foreign table'
                     when c.relkind operator(pg_catalog.=) 'c' then 'composite type'
                     else c.relkind::pg_catalog.text end
              from pg_catalog.pg_class c
             where c.oid operator(pg_catalog.=) pg_catalog.to_regclass(a.qualified))
         when a.lookup operator(pg_catalog.=) 'column' then
           (select pg_catalog.format_type(t.atttypid, t.atttypmod) from pg_catalog.pg_attribute t
             where t.attrelid operator(pg_catalog.=) pg_catalog.to_regclass(a.qualified)
               and t.attname operator(pg_catalog.=) a.item
               and t.attnum operator(pg_catalog.>) 0 and not t.attisdropped)
         when a.lookup operator(pg_catalog.=) 'constraint' then
           (select case
                     when k.contype operator(pg_catalog.=) 'p' then 'primary key'
                     when k.contype operator(pg_catalog.=) 'f' then 'foreign key'
                     when k.contype operator(pg_catalog.=) 'u' then 'unique'
                     when k.contype operator(pg_catalog.=) 'c' then 'check'
                     when k.contype operator(pg_catalog.=) 'x' then 'exclusion'
                     else k.contype::pg_catalog.text end
              from pg_catalog.pg_constraint k
             where k.conrelid operator(pg_catalog.=) pg_catalog.to_regclass(a.qualified)
               and k.conname operator(pg_catalog.=) a.item)
         when a.lookup operator(pg_catalog.=) 'trigger' then
           (select 'trigger' from pg_catalog.pg_trigger g
             where g.tgrelid operator(pg_catalog.=) pg_catalog.to_regclass(a.qualified)
               and g.tgname operator(pg_catalog.=) a.item)
         when a.lookup operator(pg_catalog.=) 'policy' then
           (select 'policy' from pg_catalog.pg_policy p
             where p.polrelid operator(pg_catalog.=) pg_catalog.to_regclass(a.qualified)
               and p.polname operator(pg_catalog.=) a.item)
         when a.lookup operator(pg_catalog.=) 'function' then
           case when a.item is not null
                -- the exact routine: to_regprocedure('app.f("text", "pg_catalog"."int4"[])')
                then pg_catalog.to_regprocedure(
                       pg_catalog.concat(a.qualified, '(', a.item, ')'))::pg_catalog.text
                -- a bare name: any routine of that name
                else (select pg_catalog.string_agg(p.oid::pg_catalog.regprocedure::pg_catalog.text,
                                                   ', ' order by p.oid)
                        from pg_catalog.pg_proc p
                       where p.proname operator(pg_catalog.=) a.name
                         and case when a.schema is null then pg_catalog.pg_function_is_visible(p.oid)
                                  else p.pronamespace operator(pg_catalog.=)
                                       pg_catalog.to_regnamespace(pg_catalog.quote_ident(a.schema))
                             end)
           end
         when a.lookup operator(pg_catalog.=) 'type' then
           pg_catalog.format_type(pg_catalog.to_regtype(a.qualified), null)
         when a.lookup operator(pg_catalog.=) 'schema' then
           (select n.nspname::pg_catalog.text from pg_catalog.pg_namespace n
             where n.nspname operator(pg_catalog.=) a.name)
         when a.lookup operator(pg_catalog.=) 'extension' then
           (select e.extversion from pg_catalog.pg_extension e
             where e.extname operator(pg_catalog.=) a.name)
       end as found,
       -- What a concurrent index build that failed leaves: an index, not the one the files make.
       a.lookup operator(pg_catalog.=) 'relation'
         and exists (select 1 from pg_catalog.pg_index x
                      where x.indexrelid operator(pg_catalog.=) pg_catalog.to_regclass(a.qualified)
                        and not x.indisvalid) as invalid
from asked a
order by a.ord
