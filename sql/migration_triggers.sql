-- migration_triggers.sql: which triggers of the database's own fire on the tables a migration
-- writes rows to?
-- Answers, per trigger: the table (as regclass prints it) and the trigger's name. A check runs
-- these without seeing into them, so it names them rather than promise what they did.
-- Runs after the migration's statements, inside its transaction: every function, operator,
-- type and catalog is named with its schema (they may have set search_path).
-- Parameters: $1 text[] the tables, as the statements name them (unknown names are skipped).
-- Server versions: any; tested on 13-18.
select t.tgrelid::pg_catalog.regclass::pg_catalog.text as "table", t.tgname::pg_catalog.text as trigger
from pg_catalog.unnest($1::pg_catalog.text[]) as n(name)
join pg_catalog.pg_trigger t on t.tgrelid operator(pg_catalog.=) pg_catalog.to_regclass(n.name)
where not t.tgisinternal
order by 1, 2
