-- doctor_archiver.sql: is WAL archiving on, and is it failing?
-- Answers: archive_mode, WAL files archived and failed since statistics were reset, the
-- last archived and last failed file with their times, and whether the last attempt failed
-- (a failure later than the last success: WAL piles up until it is fixed).
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select current_setting('archive_mode') as archive_mode,
       a.archived_count,
       a.failed_count,
       a.last_archived_wal,
       a.last_archived_time,
       a.last_failed_wal,
       a.last_failed_time,
       a.last_failed_time is not null
         and a.last_failed_time > coalesce(a.last_archived_time, '-infinity') as failing
from pg_stat_archiver a
