-- pg_stat_statements_top_legacy.sql: which statements cost the most time (extension before 1.8)?
-- The same answer as pg_stat_statements_top.sql for an extension kept at an old
-- version (1.4 to 1.7), whose columns are total_time / mean_time / max_time.
-- Only the connected database's statements unless $3 (as PgHero shows them), and not the
-- skill's own unless $4: those are the texts that end with the comment the skill puts after
-- each of its SQL files ("/* postgres-skill sql/<name>.sql */", matched by the regular
-- expression $5). pg_stat_statements keeps the text of a statement's first run, comments
-- included (from 18 not those before its first word), and its query id ignores comments: a
-- statement the skill and an application both run is shown as whoever ran it first wrote it.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 int row limit, $2 text order ('total' or 'mean'), $3 boolean every database,
-- $4 boolean the skill's own statements too, $5 text regular expression of the skill's mark.
-- Server versions: PostgreSQL 9.6 and later with pg_stat_statements 1.4-1.7; tested on 13-18.
select d.datname as database,
       pg_get_userbyid(s.userid) as "user",
       s.calls,
       round(s.total_time::numeric, 2) as total_ms,
       round(s.mean_time::numeric, 3) as mean_ms,
       round(s.max_time::numeric, 3) as max_ms,
       s.rows,
       round(100.0 * s.shared_blks_hit / nullif(s.shared_blks_hit + s.shared_blks_read, 0), 1)
         as hit_pct,
       left(regexp_replace(s.query, '\s+', ' ', 'g'), 500) as query,
       count(*) over () as total
from pg_stat_statements s
left join pg_catalog.pg_database d on d.oid = s.dbid
where ($3::boolean
       or s.dbid = (select oid from pg_catalog.pg_database
                     where datname = pg_catalog.current_database()))
  and ($4::boolean or s.query operator(pg_catalog.!~) $5::text)
order by case when $2 = 'mean' then s.mean_time else s.total_time end desc
limit $1
