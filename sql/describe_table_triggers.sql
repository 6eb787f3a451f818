-- describe_table_triggers.sql: which triggers fire on the relation?
-- Answers, for the relation with OID $1: each trigger that is not internal (those PostgreSQL
-- makes for foreign keys are the keys' business): name, its definition after "CREATE
-- [CONSTRAINT] TRIGGER <name> " (timing, events, table, level, condition, function), whether it
-- is enabled (origin, the default; always; replica; disabled), and for a trigger cloned onto a
-- partition, that it is inherited. By name.
-- Parameters: $1 int8 the relation's OID.
-- Server versions: PostgreSQL 13 and later (tgparentid); tested on 13-18.
with tg as (
  select g.*, pg_catalog.pg_get_triggerdef(g.oid, true) as full_definition,
         'CREATE ' || case when g.tgconstraint <> 0 then 'CONSTRAINT ' else '' end
           || 'TRIGGER ' || pg_catalog.quote_ident(g.tgname) || ' ' as head
  from pg_catalog.pg_trigger g
  where g.tgrelid = $1::pg_catalog.int8::pg_catalog.oid and not g.tgisinternal
)
select t.tgname as name,
       case when pg_catalog.starts_with(t.full_definition, t.head)
            then pg_catalog.substr(t.full_definition, pg_catalog.length(t.head) + 1)
            else t.full_definition end as definition,
       case t.tgenabled when 'O' then 'enabled' when 'A' then 'always' when 'R' then 'replica'
                        when 'D' then 'disabled' end as enabled,
       t.tgparentid <> 0 as inherited
from tg t
order by t.tgname
