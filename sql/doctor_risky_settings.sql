-- doctor_risky_settings.sql: is any setting on that trades crash safety or data integrity
-- away?
-- Answers: name, value and where it was set, for fsync = off or full_page_writes = off (a
-- crash can corrupt the cluster) and zero_damaged_pages or ignore_checksum_failure = on
-- (damaged data is silently dropped or used); none when all is safe.
-- Server versions: PostgreSQL 9.4 and later; tested on 13-18.
select s.name, s.setting, s.source, s.sourcefile, s.sourceline
from pg_settings s
where (s.name in ('fsync', 'full_page_writes') and s.setting = 'off')
   or (s.name in ('zero_damaged_pages', 'ignore_checksum_failure') and s.setting = 'on')
order by s.name
