-- doctor_stats_age.sql: since when have this database's activity counters been counting?
-- Answers: when they were last reset (pg_stat_database.stats_reset; null when never), when they
-- began counting at the latest and how many seconds ago. Never reset, they count from the
-- database's creation or from the server's last crash recovery, which discards all statistics
-- and restarts the shared counters: the earliest reset of pg_stat_archiver and pg_stat_bgwriter
-- (set at initdb and after a crash) bounds them then. Unused-index and cache-hit findings rest on
-- these counters: "never scanned" since a reset three hours ago is not "unused".
-- Server versions: PostgreSQL 9.4 and later (stats_reset of each view); tested on 13-18.
-- On 13 and 14 the statistics collector records pg_stat_reset() a moment later.
select d.stats_reset,
       coalesce(d.stats_reset, least(a.stats_reset, b.stats_reset)) as counting_since,
       round(pg_catalog.date_part('epoch', pg_catalog.now()
         - coalesce(d.stats_reset, least(a.stats_reset, b.stats_reset)))::numeric, 1)
         as age_seconds
from pg_catalog.pg_stat_database d
cross join pg_catalog.pg_stat_archiver a
cross join pg_catalog.pg_stat_bgwriter b
where d.datname = pg_catalog.current_database()
