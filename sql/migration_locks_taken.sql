-- migration_locks_taken.sql: which tables does this session hold locks on, and how strong?
-- Answers: for each table, partitioned table or materialized view this session holds a lock on,
-- its oid, its name as the catalog gives it, and the strongest mode held, in the words of the
-- documentation (ACCESS EXCLUSIVE, SHARE ROW EXCLUSIVE ...). Read inside the migration's
-- transaction after its statements ran: the locks the run really takes, held until it ends.
-- Server versions: any; tested on 13-18.
select distinct on (l.relation)
       l.relation::pg_catalog.text as oid,
       l.relation::pg_catalog.regclass::pg_catalog.text as "table",
       pg_catalog.upper(pg_catalog.regexp_replace(
         pg_catalog.regexp_replace(l.mode, 'Lock$', ''), '([a-z])([A-Z])', '\1 \2', 'g')) as mode
from pg_catalog.pg_locks l
join pg_catalog.pg_class c on c.oid operator(pg_catalog.=) l.relation
where l.pid operator(pg_catalog.=) pg_catalog.pg_backend_pid()
  and l.locktype operator(pg_catalog.=) 'relation'
  and c.relkind operator(pg_catalog.=) any ('{r,p,m}'::pg_catalog."char"[])
order by l.relation,
         pg_catalog.array_position('{AccessExclusiveLock,ExclusiveLock,ShareRowExclusiveLock,ShareLock,ShareUpdateExclusiveLock,RowExclusiveLock,RowShareLock,AccessShareLock}'::pg_catalog.text[], l.mode::pg_catalog.text)
