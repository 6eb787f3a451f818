-- schema_ddl_casts.sql: does ALTER COLUMN ... TYPE need a USING for these type changes?
-- Answers: for each (old type, new type) pair of $1/$2, as format_type writes them, whether
-- the server converts the old to the new without one: the same type (a new typmod), a
-- binary-coercible or an assignment or implicit cast; false when only an explicit cast (or
-- none) exists, where the USING written decides what each stored value becomes.
-- Parameters: $1 text[] old types, $2 text[] new types.
-- Server versions: 9.6 and later (to_regtype); tested on 13-18.
select t.ord,
       pg_catalog.to_regtype(t.old) operator(pg_catalog.=) pg_catalog.to_regtype(t.new)
         or exists (
           select from pg_catalog.pg_cast c
           where c.castsource operator(pg_catalog.=) pg_catalog.to_regtype(t.old)
             and c.casttarget operator(pg_catalog.=) pg_catalog.to_regtype(t.new)
             and c.castcontext operator(pg_catalog.<>) 'e') as converts
from unnest($1::pg_catalog.text[], $2::pg_catalog.text[]) with ordinality as t(old, new, ord)
order by t.ord
