-- pg_stat_statements_top.sql: which statements cost the most time (extension 1.8 and later)?
-- Answers: database, user, calls, total / mean / max execution time in ms, rows,
-- shared-buffer hit share, and the normalised query text (whitespace folded,
-- cut to 500 characters); ordered by total time, or by mean time when $2 is 'mean'.
-- Only the connected database's statements unless $3 (as PgHero shows them), and not the
-- skill's own unless $4: those are the texts that end with the comment the skill puts after
-- each of its SQL files ("/* postgres-skill sql/<name>.sql */") and its transaction control
-- ("/* postgres-skill */"), matched by the regular expression $5. pg_stat_statements keeps the text of a statement's first run, comments
-- included (from 18 not those before its first word), and its query id ignores comments: a
-- statement the skill and an application both run is shown as whoever ran it first wrote it.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 int row limit, $2 text order ('total' or 'mean'), $3 boolean every database,
-- $4 boolean the skill's own statements too, $5 text regular expression of the skill's mark.
-- The extension's schema follows pg_catalog on the search path, and whoever may create in
-- it (public, before 15, is everyone's) could plant an operator or function there whose
-- argument types match an expression here more exactly than pg_catalog's (CVE-2018-1058):
-- every operator, function and type below is therefore named in pg_catalog.
-- Server versions: PostgreSQL 13 and later with pg_stat_statements 1.8+; tested on 13-18.
select d.datname as database,
       pg_catalog.pg_get_userbyid(s.userid) as "user",
       s.calls,
       pg_catalog.round(s.total_exec_time::pg_catalog.numeric, 2) as total_ms,
       pg_catalog.round(s.mean_exec_time::pg_catalog.numeric, 3) as mean_ms,
       pg_catalog.round(s.max_exec_time::pg_catalog.numeric, 3) as max_ms,
       s.rows,
       case when s.shared_blks_hit operator(pg_catalog.+) s.shared_blks_read
                 operator(pg_catalog.>) 0
            then pg_catalog.round(100.0 operator(pg_catalog.*)
                   s.shared_blks_hit::pg_catalog.numeric operator(pg_catalog./)
                   (s.shared_blks_hit operator(pg_catalog.+) s.shared_blks_read)::pg_catalog.numeric,
                   1)
       end as hit_pct,
       pg_catalog.left(pg_catalog.regexp_replace(s.query, '\s+', ' ', 'g'), 500) as query,
       pg_catalog.count(*) over () as total
from pg_stat_statements s
left join pg_catalog.pg_database d on d.oid operator(pg_catalog.=) s.dbid
where ($3::pg_catalog.bool
       or s.dbid operator(pg_catalog.=) (select oid from pg_catalog.pg_database
                     where datname operator(pg_catalog.=) pg_catalog.current_database()))
  and ($4::pg_catalog.bool or s.query operator(pg_catalog.!~) $5::pg_catalog.text)
order by case when $2::pg_catalog.text operator(pg_catalog.=) 'mean' then s.mean_exec_time
              else s.total_exec_time end desc
limit $1::pg_catalog.int4
