-- migration_verify.sql: do the objects a migration created, altered or dropped exist now?
-- The cheapest catalog lookup for each (to_regclass, to_regtype, one index probe), in this
-- session, so inside a transaction it sees that transaction's changes.
-- Answers, per object asked (in order): ord, and found: what the catalog holds (a relation's
-- kind, a column's type, a constraint's type, a function's signatures, an extension's
-- version ...) or null when absent. Unqualified names resolve through the session's
-- search_path, as the migration's statements did.
-- Parameters: $1 text[] lookups (relation, column, constraint, trigger, policy, function, type,
-- schema, extension), $2 text[] schemas (null: search_path), $3 text[] names, $4 text[] items
-- (the column, constraint, trigger or policy name; a routine's argument types as
-- to_regprocedure reads them, null for any routine of the name; null otherwise), all of one
-- length.
-- Server versions: PostgreSQL 9.5 and later (to_regnamespace); tested on 13-18.
with asked as (
  select a.ord, a.lookup, a.schema, a.name, a.item,
         case when a.schema is null then quote_ident(a.name)
              else quote_ident(a.schema) || '.' || quote_ident(a.name) end as qualified
  from unnest($1::text[], $2::text[], $3::text[], $4::text[])
         with ordinality as a(lookup, schema, name, item, ord)
)
select a.ord,
       case a.lookup
         when 'relation' then
           (select case c.relkind when 'r' then 'table' when 'p' then 'partitioned table'
                                  when 'v' then 'view' when 'm' then 'materialized view'
                                  when 'i' then 'index' when 'I' then 'partitioned index'
                                  when 'S' then 'sequence' when 'f' then 'foreign table'
                                  when 'c' then 'composite type' else c.relkind::text end
              from pg_class c where c.oid = to_regclass(a.qualified))
         when 'column' then
           (select format_type(t.atttypid, t.atttypmod) from pg_attribute t
             where t.attrelid = to_regclass(a.qualified) and t.attname = a.item
               and t.attnum > 0 and not t.attisdropped)
         when 'constraint' then
           (select case k.contype when 'p' then 'primary key' when 'f' then 'foreign key'
                                  when 'u' then 'unique' when 'c' then 'check'
                                  when 'x' then 'exclusion' else k.contype::text end
              from pg_constraint k
             where k.conrelid = to_regclass(a.qualified) and k.conname = a.item)
         when 'trigger' then
           (select 'trigger' from pg_trigger g
             where g.tgrelid = to_regclass(a.qualified) and g.tgname = a.item)
         when 'policy' then
           (select 'policy' from pg_policy p
             where p.polrelid = to_regclass(a.qualified) and p.polname = a.item)
         when 'function' then
           case when a.item is not null
                -- the exact routine: to_regprocedure('app.f("text", "pg_catalog"."int4"[])')
                then to_regprocedure(a.qualified || '(' || a.item || ')')::text
                -- a bare name: any routine of that name
                else (select string_agg(p.oid::regprocedure::text, ', ' order by p.oid)
                        from pg_proc p
                       where p.proname = a.name
                         and case when a.schema is null then pg_function_is_visible(p.oid)
                                  else p.pronamespace = to_regnamespace(quote_ident(a.schema))
                             end)
           end
         when 'type' then format_type(to_regtype(a.qualified), null)
         when 'schema' then (select n.nspname::text from pg_namespace n where n.nspname = a.name)
         when 'extension' then
           (select e.extversion from pg_extension e where e.extname = a.name)
       end as found
from asked a
order by a.ord
