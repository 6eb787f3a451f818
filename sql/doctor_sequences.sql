-- doctor_sequences.sql: how much of its range has each sequence used, and of the columns it
-- feeds?
-- Answers: one row per sequence of this database (and per column whose default calls it or
-- that owns it): schema, sequence, its last value, its limit (max_value, or min_value for a
-- descending one), the column it feeds with that column's type and the largest value the
-- type holds, and whether this role may read the sequence (last_value is null otherwise,
-- and for a sequence never used).
-- Server versions: PostgreSQL 10 and later (pg_sequences, pg_sequence); tested on 13-18.
with feeds as (
  -- Columns whose default calls the sequence (pg_attrdef depends on it) or that own it
  -- (serial and identity columns).
  select distinct d.refobjid as seq, ad.adrelid as rel, ad.adnum as attnum
  from pg_depend d
  join pg_attrdef ad on d.classid = 'pg_attrdef'::regclass and ad.oid = d.objid
  where d.refclassid = 'pg_class'::regclass
  union
  select d.objid, d.refobjid, d.refobjsubid
  from pg_depend d
  where d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass
    and d.deptype in ('a', 'i') and d.refobjsubid > 0
)
select n.nspname as schema,
       c.relname as sequence,
       has_sequence_privilege(c.oid, 'SELECT') or has_sequence_privilege(c.oid, 'USAGE')
         as readable,
       s.last_value,
       case when q.seqincrement > 0 then q.seqmax else q.seqmin end as limit_value,
       case when f.rel is null then null
            else quote_ident(fn.nspname) || '.' || quote_ident(ft.relname) || '.'
                 || quote_ident(a.attname) end as feeds_column,
       format_type(a.atttypid, a.atttypmod) as column_type,
       case a.atttypid when 'int2'::regtype then 32767
                       when 'int4'::regtype then 2147483647
                       when 'int8'::regtype then 9223372036854775807 end as column_max
from pg_sequence q
join pg_class c on c.oid = q.seqrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_sequences s on s.schemaname = n.nspname and s.sequencename = c.relname
left join feeds f on f.seq = c.oid
left join pg_class ft on ft.oid = f.rel
left join pg_namespace fn on fn.oid = ft.relnamespace
left join pg_attribute a on a.attrelid = f.rel and a.attnum = f.attnum
order by 1, 2, feeds_column
