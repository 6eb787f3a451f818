-- explain_database_code.sql: which functions of the database would a data change run besides
-- what its text shows, and through what?
-- Answers, per function and the object that runs it (`via`): the enabled triggers (row and
-- statement, WHEN clauses too) on the relations it writes rows to, on their partitions and
-- inheritance children, on what their rules and views write and on the tables whose foreign keys
-- cascade from them (delete, set null, set default), recursively; the functions (and operators'
-- functions) that the column defaults, generated columns, check constraints, domain defaults and
-- constraints and rules of those relations call, and those that the views and row-level
-- security policies of every relation it names call, as the catalog records them (pg_depend);
-- the database's own functions it calls by name ($3, $4); and the functions those depend on
-- (the body of a BEGIN ATOMIC function, an aggregate's support functions).
-- kind 'function' rows: `function` as regprocedure writes it, `judged_by_name` true for a
-- built-in function or one of an extension (lib/sql/function_effects.ts judges it by its name),
-- `definition` pg_get_functiondef's CREATE FUNCTION for the others (null for an aggregate,
-- whose support functions have rows of their own), `called` the name of $3 or $4 a row answers.
-- kind 'expression' rows: `definition` is an object's expression as SQL the parser reads
-- (SELECT <expression>, a CREATE RULE, a CREATE TRIGGER with its WHEN clause).
-- Runs in the user's session, with its search_path (names resolve as the statement's would):
-- every function, operator, type and catalog is named with its schema.
-- Parameters: $1 text[] the relations it writes rows to, $2 text[] the relations it names, as
--   the statement writes them (unknown names are skipped); $3 text[] the functions it calls by
--   name, $4 text[] the names it uses in attribute notation (one-argument functions), as
--   pg_proc.proname has them.
-- Server versions: 12 and later (generated columns); tested on 13-18.
with recursive
written(oid) as (
  select r.oid
  from (select pg_catalog.to_regclass(n.name)::pg_catalog.oid as oid
        from pg_catalog.unnest($1::pg_catalog.text[]) as n(name)) as r
  where r.oid is not null
  union
  select x.oid
  from written w
  cross join lateral (
    select i.inhrelid
    from pg_catalog.pg_inherits i
    where i.inhparent operator(pg_catalog.=) w.oid
    union all
    select c.conrelid
    from pg_catalog.pg_constraint c
    where c.confrelid operator(pg_catalog.=) w.oid
      and c.contype operator(pg_catalog.=) 'f'
      and (c.confdeltype::pg_catalog.text operator(pg_catalog.=) any ('{c,n,d}'::pg_catalog.text[])
        or c.confupdtype::pg_catalog.text operator(pg_catalog.=) any ('{c,n,d}'::pg_catalog.text[]))
    union all
    -- What a rule's actions write, and the relations a view over them reaches (an updatable
    -- view writes its base table).
    select d.refobjid
    from pg_catalog.pg_rewrite r
    join pg_catalog.pg_depend d
      on d.classid operator(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
     and d.objid operator(pg_catalog.=) r.oid
     and d.refclassid operator(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
    where r.ev_class operator(pg_catalog.=) w.oid
      and d.refobjid operator(pg_catalog.<>) w.oid
  ) as x(oid)
),
touched(oid) as (
  select s.oid
  from (select pg_catalog.to_regclass(n.name)::pg_catalog.oid as oid
        from pg_catalog.unnest($2::pg_catalog.text[]) as n(name)
        union
        select w.oid from written w) as s
  where s.oid is not null
  union
  -- The relations a view reads, views over views too.
  select d.refobjid
  from touched t
  join pg_catalog.pg_rewrite r
    on r.ev_class operator(pg_catalog.=) t.oid and r.ev_type operator(pg_catalog.=) '1'
  join pg_catalog.pg_depend d
    on d.classid operator(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
   and d.objid operator(pg_catalog.=) r.oid
   and d.refclassid operator(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
  where d.refobjid operator(pg_catalog.<>) t.oid
),
domains(oid, column_name) as (
  select a.atttypid, pg_catalog.format('%s.%I', a.attrelid::pg_catalog.regclass, a.attname)
  from written w
  join pg_catalog.pg_attribute a
    on a.attrelid operator(pg_catalog.=) w.oid and a.attnum operator(pg_catalog.>) 0
   and not a.attisdropped
  join pg_catalog.pg_type ty
    on ty.oid operator(pg_catalog.=) a.atttypid and ty.typtype operator(pg_catalog.=) 'd'
  union
  select ty.typbasetype, d.column_name
  from domains d
  join pg_catalog.pg_type ty
    on ty.oid operator(pg_catalog.=) d.oid
  join pg_catalog.pg_type base
    on base.oid operator(pg_catalog.=) ty.typbasetype and base.typtype operator(pg_catalog.=) 'd'
),
-- Objects whose expressions the run evaluates: (catalog, oid, how to name it).
objects(classid, objid, via, sql) as (
  select 'pg_catalog.pg_trigger'::pg_catalog.regclass::pg_catalog.oid, t.oid,
         pg_catalog.format('trigger %I on %s', t.tgname, t.tgrelid::pg_catalog.regclass),
         case when t.tgqual is not null then pg_catalog.pg_get_triggerdef(t.oid) end
  from written w
  join pg_catalog.pg_trigger t on t.tgrelid operator(pg_catalog.=) w.oid
  where t.tgenabled operator(pg_catalog.<>) 'D'
  union all
  select 'pg_catalog.pg_attrdef'::pg_catalog.regclass::pg_catalog.oid, ad.oid,
         pg_catalog.format(
           case when a.attgenerated operator(pg_catalog.<>) '' then 'generated column %s.%I'
                else 'the default of %s.%I' end,
           ad.adrelid::pg_catalog.regclass, a.attname),
         'SELECT ' operator(pg_catalog.||) pg_catalog.pg_get_expr(ad.adbin, ad.adrelid)
  from written w
  join pg_catalog.pg_attrdef ad on ad.adrelid operator(pg_catalog.=) w.oid
  join pg_catalog.pg_attribute a
    on a.attrelid operator(pg_catalog.=) ad.adrelid and a.attnum operator(pg_catalog.=) ad.adnum
  union all
  select 'pg_catalog.pg_constraint'::pg_catalog.regclass::pg_catalog.oid, c.oid,
         pg_catalog.format('check constraint %I on %s', c.conname,
                           c.conrelid::pg_catalog.regclass),
         'SELECT ' operator(pg_catalog.||) pg_catalog.pg_get_expr(c.conbin, c.conrelid)
  from written w
  join pg_catalog.pg_constraint c on c.conrelid operator(pg_catalog.=) w.oid
  where c.contype operator(pg_catalog.=) 'c'
  union all
  select 'pg_catalog.pg_constraint'::pg_catalog.regclass::pg_catalog.oid, c.oid,
         pg_catalog.format('constraint %I of domain %s (column %s)', c.conname,
                           c.contypid::pg_catalog.regtype, d.column_name),
         'SELECT ' operator(pg_catalog.||) pg_catalog.pg_get_expr(c.conbin, 0)
  from domains d
  join pg_catalog.pg_constraint c
    on c.contypid operator(pg_catalog.=) d.oid and c.contype operator(pg_catalog.=) 'c'
  union all
  select 'pg_catalog.pg_type'::pg_catalog.regclass::pg_catalog.oid, d.oid,
         pg_catalog.format('the default of domain %s (column %s)', d.oid::pg_catalog.regtype,
                           d.column_name),
         'SELECT ' operator(pg_catalog.||) pg_catalog.pg_get_expr(ty.typdefaultbin, 0)
  from domains d
  join pg_catalog.pg_type ty on ty.oid operator(pg_catalog.=) d.oid
  union all
  select 'pg_catalog.pg_rewrite'::pg_catalog.regclass::pg_catalog.oid, r.oid,
         case when r.rulename operator(pg_catalog.=) '_RETURN'
              then pg_catalog.format('view %s', r.ev_class::pg_catalog.regclass)
              else pg_catalog.format('rule %I on %s', r.rulename, r.ev_class::pg_catalog.regclass)
         end,
         pg_catalog.pg_get_ruledef(r.oid)
  from pg_catalog.pg_rewrite r
  where r.ev_class operator(pg_catalog.=) any (array(select w.oid from written w))
     or (r.ev_type operator(pg_catalog.=) '1'
         and r.ev_class operator(pg_catalog.=) any (array(select t.oid from touched t)))
  union all
  select 'pg_catalog.pg_policy'::pg_catalog.regclass::pg_catalog.oid, p.oid,
         pg_catalog.format('policy %I on %s', p.polname, p.polrelid::pg_catalog.regclass),
         'SELECT ' operator(pg_catalog.||) pg_catalog.concat_ws(', ',
           pg_catalog.pg_get_expr(p.polqual, p.polrelid),
           pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
  from touched t
  join pg_catalog.pg_policy p on p.polrelid operator(pg_catalog.=) t.oid
),
code(via, fn, called) as (
  select t.via, tg.tgfoid, null::pg_catalog.text
  from objects t
  join pg_catalog.pg_trigger tg on tg.oid operator(pg_catalog.=) t.objid
  where t.classid operator(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
  union all
  select o.via,
         case when d.refclassid operator(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
              then d.refobjid else op.oprcode::pg_catalog.oid end,
         null::pg_catalog.text
  from objects o
  join pg_catalog.pg_depend d
    on d.classid operator(pg_catalog.=) o.classid and d.objid operator(pg_catalog.=) o.objid
   and d.refclassid operator(pg_catalog.=) any (array['pg_catalog.pg_proc'::pg_catalog.regclass,
                                                      'pg_catalog.pg_operator'::pg_catalog.regclass]::pg_catalog.oid[])
  left join pg_catalog.pg_operator op
    on d.refclassid operator(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass
   and op.oid operator(pg_catalog.=) d.refobjid
  union all
  -- The database's own functions called by name: the parser has judged the built-ins.
  select pg_catalog.format('a call of %s', p.proname), p.oid, p.proname::pg_catalog.text
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid operator(pg_catalog.=) p.pronamespace
  where (p.proname operator(pg_catalog.=) any ($3::pg_catalog.text[])
         or (p.proname operator(pg_catalog.=) any ($4::pg_catalog.text[])
             and p.pronargs operator(pg_catalog.=) 1))
    and n.nspname operator(pg_catalog.<>) all ('{pg_catalog,information_schema}'::pg_catalog.text[])
    and not exists (select 1 from pg_catalog.pg_depend e
                     where e.classid operator(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                       and e.objid operator(pg_catalog.=) p.oid
                       and e.deptype operator(pg_catalog.=) 'e')
),
functions(via, fn, called) as (
  select c.via, c.fn, c.called from code c where c.fn operator(pg_catalog.<>) 0
  union
  select f.via, d.refobjid, f.called
  from functions f
  join pg_catalog.pg_depend d
    on d.classid operator(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
   and d.objid operator(pg_catalog.=) f.fn
   and d.refclassid operator(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
)
select 'function' as kind, f.via, p.oid::pg_catalog.regprocedure::pg_catalog.text as function,
       p.proname::pg_catalog.text as name, l.lanname::pg_catalog.text as language,
       j.by_name as judged_by_name,
       case when not j.by_name and p.prokind operator(pg_catalog.<>) 'a'
            then pg_catalog.pg_get_functiondef(p.oid) end as definition,
       f.called
from functions f
join pg_catalog.pg_proc p on p.oid operator(pg_catalog.=) f.fn
join pg_catalog.pg_namespace n on n.oid operator(pg_catalog.=) p.pronamespace
join pg_catalog.pg_language l on l.oid operator(pg_catalog.=) p.prolang
cross join lateral (
  select n.nspname operator(pg_catalog.=) any ('{pg_catalog,information_schema}'::pg_catalog.text[])
         or exists (select 1 from pg_catalog.pg_depend e
                     where e.classid operator(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                       and e.objid operator(pg_catalog.=) p.oid
                       and e.deptype operator(pg_catalog.=) 'e') as by_name
) as j
union all
-- The expressions themselves, as SQL the parser reads: built-in functions leave no trace in
-- pg_depend (they are pinned), so their calls are found in the text.
select 'expression', o.via, null, null, null, null, o.sql, null
from objects o
where o.sql is not null
order by 1, 2, 3
