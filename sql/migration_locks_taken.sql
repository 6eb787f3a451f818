-- migration_locks_taken.sql: which tables does this session hold locks on, and how strong?
-- Answers: for each relation of this database this session holds a lock on (a table the run
-- dropped included: no join with pg_class, whose row is gone), its oid, its name as regclass
-- writes it (the bare oid once dropped), and the strongest mode held, in the words of the
-- documentation (ACCESS EXCLUSIVE, SHARE ROW EXCLUSIVE ...). Read inside the migration's
-- transaction after its statements ran: the locks the run really takes, held until it ends.
-- Server versions: any; tested on 13-18.
select distinct on (l.relation)
       l.relation::pg_catalog.text as oid,
       l.relation::pg_catalog.regclass::pg_catalog.text as "table",
       pg_catalog.upper(pg_catalog.regexp_replace(
         pg_catalog.regexp_replace(l.mode, 'Lock$', ''), '([a-z])([A-Z])', '\1 \2', 'g')) as mode
from pg_catalog.pg_locks l
where l.pid operator(pg_catalog.=) pg_catalog.pg_backend_pid()
  and l.locktype operator(pg_catalog.=) 'relation'
  and l.database operator(pg_catalog.=)
      (select oid from pg_catalog.pg_database
        where datname operator(pg_catalog.=) pg_catalog.current_database())
order by l.relation,
         pg_catalog.array_position('{AccessExclusiveLock,ExclusiveLock,ShareRowExclusiveLock,ShareLock,ShareUpdateExclusiveLock,RowExclusiveLock,RowShareLock,AccessShareLock}'::pg_catalog.text[], l.mode::pg_catalog.text)
