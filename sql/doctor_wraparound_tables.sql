-- doctor_wraparound_tables.sql: which tables of this database hold the oldest unfrozen IDs?
-- Answers: schema, table, the age of its relfrozenxid (the larger of the table's and its
-- TOAST table's) and of its relminmxid; oldest first; and how many tables in all have a
-- transaction ID age (xid_total) or a multixact ID age (multixact_total) of at least $2 (the
-- same on every row).
-- Parameters: $1 int row limit, $2 bigint age that counts.
-- Server versions: PostgreSQL 9.5 and later (mxid_age); tested on 13-18.
select n.nspname as schema,
       c.relname as "table",
       greatest(age(c.relfrozenxid), age(t.relfrozenxid)) as xid_age,
       greatest(mxid_age(c.relminmxid), mxid_age(t.relminmxid)) as multixact_age,
       count(*) filter (where greatest(age(c.relfrozenxid), age(t.relfrozenxid)) >= $2) over ()
         as xid_total,
       count(*) filter (where greatest(mxid_age(c.relminmxid), mxid_age(t.relminmxid)) >= $2)
         over () as multixact_total
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_class t on t.oid = c.reltoastrelid
where c.relkind in ('r', 'm')
order by 3 desc, 1, 2
limit $1
