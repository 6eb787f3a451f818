-- settings_changed.sql: which server settings differ from their built-in defaults, and
-- where does each come from?
-- Answers: name, current value (with its unit, as SHOW prints it), the built-in default
-- (boot_val; sizes in bytes, kB, MB ...), the source (configuration file, command line,
-- database, user ...), the file and line that set it (null unless superuser or
-- pg_read_all_settings), whether it waits for a restart, and its context (what it takes
-- to change: postmaster = restart, sighup = reload, ...). Settings this session set for
-- itself (source client or session), those initdb computed (override), and those set to
-- exactly their default are left out.
-- Server versions: PostgreSQL 9.5 and later (pending_restart); tested on 13-18.
select s.name,
       current_setting(s.name) as value,
       case when s.unit in ('B', 'kB', '8kB', 'MB') and s.boot_val ~ '^[0-9]+$'
              then pg_size_pretty(s.boot_val::bigint * case s.unit when 'B' then 1
                                                          when 'kB' then 1024
                                                          when '8kB' then 8192
                                                          else 1048576 end)
            else s.boot_val || coalesce(' ' || s.unit, '') end as default_value,
       s.source,
       s.sourcefile,
       s.sourceline,
       s.pending_restart,
       s.context
from pg_settings s
where s.source not in ('default', 'override', 'client', 'session')
  and s.setting is distinct from s.boot_val
order by s.name
