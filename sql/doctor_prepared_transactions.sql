-- doctor_prepared_transactions.sql: which prepared (two-phase) transactions have waited for
-- their COMMIT PREPARED or ROLLBACK PREPARED longer than a threshold?
-- Answers: the transaction's name (gid), owner, database, when it was prepared, seconds
-- since, and the age of its transaction ID; oldest first. A forgotten one holds its locks
-- and keeps vacuum from freezing past it, across restarts.
-- total: how many are waiting in all, before the limit (the same on every row).
-- Parameters: $1 numeric threshold in seconds, $2 int row limit.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select p.gid,
       p.owner,
       p.database,
       p.prepared,
       round(extract(epoch from now() - p.prepared)::numeric, 1) as waiting_seconds,
       age(p.transaction) as xid_age,
       count(*) over () as total
from pg_prepared_xacts p
where p.prepared < now() - make_interval(secs => $1::numeric::double precision)
order by p.prepared, p.gid
limit $2
