-- doctor_not_valid_constraints.sql: which constraints were added NOT VALID and never
-- validated?
-- Answers: schema, table, constraint, its type and definition. Rows written before such a
-- constraint was added were never checked against it; ALTER TABLE ... VALIDATE CONSTRAINT
-- checks them under a light lock.
-- total: how many there are in all, before the limit (the same on every row).
-- Parameters: $1 int row limit.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select n.nspname as schema,
       t.relname as "table",
       k.conname as constraint,
       case k.contype when 'c' then 'check' when 'f' then 'foreign key'
                      else k.contype::text end as type,
       pg_get_constraintdef(k.oid) as definition,
       count(*) over () as total
from pg_constraint k
join pg_class t on t.oid = k.conrelid
join pg_namespace n on n.oid = t.relnamespace
where not k.convalidated
  and k.conparentid = 0
order by 1, 2, 3
limit $1
