-- program_reads.sql: which relations run a program on the server when they are read?
-- Answers one row per relation (and foreign table behind it) whose read runs a shell command:
-- a foreign table with a `program` option (file_fdw's: the command runs whenever the table is
-- scanned, in a read-only transaction too) of its own, its server's or its wrapper's, and what
-- reads such a table as far as the catalog shows: a view whose SELECT rule reads it (pg_rewrite,
-- pg_depend), a function whose BEGIN ATOMIC body does and the views that call that function, a
-- table whose row-level security policy reads it, and a parent table (inheritance or
-- partitioning) of it, whose scan scans it. Not materialized views: reading one reads what it
-- stored; only REFRESH runs its query. A function whose body is a string (LANGUAGE sql with AS
-- '...', plpgsql) has no dependencies in the catalog, so what it reads is not seen.
-- Columns: oid, relation (as regclass text), relkind, foreign_table (the foreign table whose read
-- runs the program), option_of (table, server or wrapper: whose options name the program),
-- named (the 1-based position in $1/$2 that named the relation; null when $2 is null),
-- grantable (the current user may grant SELECT on it), revoke
-- (with $4: the REVOKE that takes SELECT on the relation from $4 and from the roles it holds
-- SELECT through, PUBLIC included; else null).
-- Parameters: $1 text[] schemas and $2 text[] names of the relations a statement names, in
-- pairs (a null schema: the name resolves through the session's search_path, as the statement's
-- would); $2 null: every such relation of the database. $3 boolean: an unqualified name also
-- matches that name in every schema (the input may change search_path before it reads).
-- $4 text: only relations that role ('public': every role) may SELECT, whole or some columns
-- (null: any); the REVOKE of a table's SELECT takes its columns' too.
-- Every function, operator and catalog is named with its schema: the session runs on the
-- user's search_path.
-- Server versions: PostgreSQL 13 to 18 (BEGIN ATOMIC bodies are 14+; before, none are
-- recorded); tested on 13-18.
with recursive program_tables as (
  select t.ftrelid as oid,
         case
           when exists (select from pg_catalog.unnest(t.ftoptions) o
                        where pg_catalog.lower(pg_catalog.split_part(o, '=', 1))
                              operator(pg_catalog.=) 'program') then 'table'
           when exists (select from pg_catalog.unnest(s.srvoptions) o
                        where pg_catalog.lower(pg_catalog.split_part(o, '=', 1))
                              operator(pg_catalog.=) 'program') then 'server'
           else 'wrapper'
         end as option_of
  from pg_catalog.pg_foreign_table t
  join pg_catalog.pg_foreign_server s on s.oid operator(pg_catalog.=) t.ftserver
  join pg_catalog.pg_foreign_data_wrapper w on w.oid operator(pg_catalog.=) s.srvfdw
  where exists (select from pg_catalog.unnest(pg_catalog.array_cat(pg_catalog.array_cat(
                  t.ftoptions, s.srvoptions), w.fdwoptions)) o
                where pg_catalog.lower(pg_catalog.split_part(o, '=', 1))
                      operator(pg_catalog.=) 'program')
), reads (classid, objid, foreign_table, option_of) as (
  select 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid, p.oid, p.oid, p.option_of
  from program_tables p
  union
  select x.classid, x.objid, r.foreign_table, r.option_of
  from reads r
  cross join lateral (
    -- a view (not a materialized view) whose SELECT rule reads it
    select 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid, rw.ev_class
    from pg_catalog.pg_depend d
    join pg_catalog.pg_rewrite rw on rw.oid operator(pg_catalog.=) d.objid
    join pg_catalog.pg_class v on v.oid operator(pg_catalog.=) rw.ev_class
    where d.classid operator(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
      and d.refclassid operator(pg_catalog.=) r.classid
      and d.refobjid operator(pg_catalog.=) r.objid
      and rw.ev_type operator(pg_catalog.=) '1'
      and v.relkind operator(pg_catalog.<>) 'm'
    union all
    -- a function whose body (BEGIN ATOMIC) reads it
    select 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid, d.objid
    from pg_catalog.pg_depend d
    where d.classid operator(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
      and d.refclassid operator(pg_catalog.=) r.classid
      and d.refobjid operator(pg_catalog.=) r.objid
    union all
    -- a table whose row-level security policy reads it
    select 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid, pol.polrelid
    from pg_catalog.pg_depend d
    join pg_catalog.pg_policy pol on pol.oid operator(pg_catalog.=) d.objid
    where d.classid operator(pg_catalog.=) 'pg_catalog.pg_policy'::pg_catalog.regclass
      and d.refclassid operator(pg_catalog.=) r.classid
      and d.refobjid operator(pg_catalog.=) r.objid
    union all
    -- a parent, whose scan scans its children (inheritance, partitions)
    select 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid, i.inhparent
    from pg_catalog.pg_inherits i
    where r.classid operator(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
      and i.inhrelid operator(pg_catalog.=) r.objid
  ) as x (classid, objid)
), named (position, oid) as (
  select n.position,
         pg_catalog.to_regclass(case when n.schema is null then pg_catalog.quote_ident(n.name)
           else pg_catalog.quote_ident(n.schema) operator(pg_catalog.||) '.'
                operator(pg_catalog.||) pg_catalog.quote_ident(n.name) end)::pg_catalog.oid
  from rows from (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.text[]))
       with ordinality as n (schema, name, position)
  union all
  select n.position, c.oid
  from rows from (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.text[]))
       with ordinality as n (schema, name, position)
  join pg_catalog.pg_class c on c.relname operator(pg_catalog.=) n.name
  where $3::pg_catalog.bool and n.schema is null
), grantees as (
  -- the roles whose SELECT $4 has: itself, the roles it inherits from, PUBLIC (0)
  select r.oid from pg_catalog.pg_roles r
  where case when $4::pg_catalog.text operator(pg_catalog.=) 'public' then false
             else pg_catalog.pg_has_role($4::pg_catalog.text, r.oid, 'USAGE') end
  union all
  select 0::pg_catalog.oid
)
select c.oid,
       c.oid::pg_catalog.regclass::pg_catalog.text as relation,
       c.relkind::pg_catalog.text as relkind,
       r.foreign_table::pg_catalog.regclass::pg_catalog.text as foreign_table,
       r.option_of,
       n.position as named,
       pg_catalog.has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION') as grantable,
       case when $4::pg_catalog.text is not null then
         (select pg_catalog.format('revoke select on table %s from %s', c.oid::pg_catalog.regclass,
                   pg_catalog.string_agg(distinct case when a.grantee operator(pg_catalog.=) 0
                     then 'public' else pg_catalog.quote_ident(g.rolname) end, ', '))
          from (select * from pg_catalog.aclexplode(c.relacl)
                union all
                select e.* from pg_catalog.pg_attribute att
                cross join lateral pg_catalog.aclexplode(att.attacl) e
                where att.attrelid operator(pg_catalog.=) c.oid) a
          join grantees on grantees.oid operator(pg_catalog.=) a.grantee
          left join pg_catalog.pg_roles g on g.oid operator(pg_catalog.=) a.grantee
          where a.privilege_type operator(pg_catalog.=) 'SELECT')
       end as revoke
from (select distinct objid, foreign_table, option_of from reads
      where classid operator(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass) r
join pg_catalog.pg_class c on c.oid operator(pg_catalog.=) r.objid
left join named n on n.oid operator(pg_catalog.=) c.oid
where ($2::pg_catalog.text[] is null or n.oid is not null)
  and ($4::pg_catalog.text is null
       or pg_catalog.has_any_column_privilege($4::pg_catalog.text, c.oid, 'SELECT'))
order by n.position nulls first, 1, 3
