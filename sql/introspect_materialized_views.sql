-- introspect_materialized_views.sql: what are these materialized views?
-- Answers, per materialized view in the order given: oid, schema, name, and as one JSON object
-- (nulls left out; built by the server) schema, name, owner, not_populated
-- (true when never refreshed WITH DATA, else null), total_bytes (with indexes and TOAST),
-- definition (cut to $2 characters when given), comment. Run with pin_search_path.sql in force.
-- Parameters: $1 oid[] the materialized views (from introspect_relations.sql), $2 int
--   definition length limit (null: whole).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select c.oid,
       n.nspname as schema,
       c.relname as name,
       json_strip_nulls(json_build_object(
         'schema', n.nspname,
         'name', c.relname,
         'owner', pg_get_userbyid(c.relowner),
         'not_populated', nullif(not c.relispopulated, false),
         'total_bytes', pg_total_relation_size(c.oid),
         'definition', case when $2::int is null then pg_get_viewdef(c.oid)
                else left(pg_get_viewdef(c.oid), $2::int) end,
         'comment', dsc.description)) as facts
from unnest($1::oid[]) with ordinality as u(oid, ord)
join pg_class c on c.oid = u.oid
join pg_namespace n on n.oid = c.relnamespace
left join pg_description dsc
  on dsc.classoid = 'pg_class'::regclass and dsc.objoid = c.oid and dsc.objsubid = 0
order by u.ord
