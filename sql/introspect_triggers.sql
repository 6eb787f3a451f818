-- introspect_triggers.sql: which user triggers do these tables and views have?
-- Answers, per relation: its oid and its triggers in name order as one JSON array (nulls left
-- out; built by the server, one value per relation), each with name, definition (CREATE TRIGGER
-- without its first words "CREATE TRIGGER name", as pg_get_triggerdef writes it: timing,
-- events, table, FOR EACH, WHEN, the function called), enabled (disabled, replica, always;
-- null when enabled as usual), comment. Each trigger once, where it is declared: the copy
-- PostgreSQL keeps on each partition (tgparentid) is left out unless it is enabled differently,
-- as pg_dump leaves it out. Run with pin_search_path.sql in force.
-- Parameters: $1 oid[] the relations (from introspect_relations.sql).
-- Server versions: PostgreSQL 13 and later (tgparentid); tested on 13-18.
select x.relation,
       json_strip_nulls(json_agg(json_build_object(
         'name', x.name,
         'definition', x.definition,
         'enabled', x.enabled,
         'comment', x.comment) order by x.name)) as items
from (
  select tg.tgrelid as relation,
         tg.tgname as name,
         (select case when starts_with(d.def, d.prefix) then substr(d.def, length(d.prefix) + 1)
                      else d.def end
            from (select pg_get_triggerdef(tg.oid) as def,
                         'CREATE TRIGGER ' || quote_ident(tg.tgname) || ' ' as prefix) d)
           as definition,
         case tg.tgenabled when 'D' then 'disabled' when 'R' then 'replica'
                           when 'A' then 'always' end as enabled,
         dsc.description as comment
  from unnest($1::oid[]) as u(oid)
  join pg_trigger tg on tg.tgrelid = u.oid
  left join pg_description dsc
    on dsc.classoid = 'pg_trigger'::regclass and dsc.objoid = tg.oid and dsc.objsubid = 0
  where not tg.tgisinternal
    and (tg.tgparentid = 0
         or tg.tgenabled is distinct from
            (select p.tgenabled from pg_trigger p where p.oid = tg.tgparentid))
) x
group by x.relation
