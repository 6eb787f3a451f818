-- describe_table_children.sql: which partitions or inheritance children does the relation have?
-- Answers, for the relation with OID $1: its direct partitions with their bounds and their kind
-- when not a plain table (partitioned, foreign), or the tables that inherit from it; the DEFAULT
-- partition last, otherwise by name; at most $2 of them, and on every row how many there are in
-- all (total).
-- Parameters: $1 int8 the relation's OID, $2 int row limit.
-- Server versions: PostgreSQL 10 and later; tested on 13-18.
select pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) as name,
       case when c.relispartition then pg_catalog.pg_get_expr(c.relpartbound, c.oid) end
         as bound,
       case c.relkind when 'p' then 'partitioned table' when 'f' then 'foreign table' end
         as kind,
       pg_catalog.count(*) over () as total
from pg_catalog.pg_inherits i
join pg_catalog.pg_class c on c.oid = i.inhrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where i.inhparent = $1::pg_catalog.int8::pg_catalog.oid
order by c.relispartition and pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT',
         n.nspname, c.relname
limit $2::pg_catalog.int4
