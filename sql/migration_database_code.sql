-- migration_database_code.sql: which of the database's own code may a migration run unseen?
-- Answers: kind ('function' or 'event trigger') and name of: each function or procedure named in
-- $1 that the database defines outside the system schemas and outside extensions (a check
-- cannot read what it does: it may act beyond the transaction), as regprocedure writes it; and,
-- when $2 (the migration changes structure), each enabled event trigger, which fires on DDL.
-- Parameters: $1 text[] function names as pg_proc.proname has them, $2 boolean the migration
--   runs DDL.
-- Server versions: 9.3 and later (event triggers); tested on 13-18.
select 'function' as kind, p.oid::pg_catalog.regprocedure::pg_catalog.text as name
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid operator(pg_catalog.=) p.pronamespace
where p.proname operator(pg_catalog.=) any ($1::pg_catalog.text[])
  and n.nspname operator(pg_catalog.<>) all ('{pg_catalog,information_schema}'::pg_catalog.text[])
  and not exists (select 1 from pg_catalog.pg_depend d
                   where d.classid operator(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                     and d.objid operator(pg_catalog.=) p.oid
                     and d.deptype operator(pg_catalog.=) 'e')
union all
select 'event trigger', e.evtname::pg_catalog.text
from pg_catalog.pg_event_trigger e
where $2::pg_catalog.bool and e.evtenabled operator(pg_catalog.<>) 'D'
order by 1, 2
