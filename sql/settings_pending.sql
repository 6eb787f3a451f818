-- settings_pending.sql: which settings were changed in the configuration files but are not
-- in effect yet?
-- Answers: from pg_file_settings (superuser, or a role granted SELECT on it), the entries
-- not in effect: file, line, name, the value in effect, the value written there, and why (a restart is needed,
-- or an error). An entry a later one overrides is not listed. A file changed since the
-- last reload is read as it is now, so an edit not yet reloaded shows here as well.
-- Server versions: PostgreSQL 9.6 and later (current_setting's missing_ok); tested on 13-18.
select f.sourcefile,
       f.sourceline,
       f.name,
       current_setting(f.name, true) as value_in_effect,
       f.setting as file_value,
       coalesce(f.error, 'not applied')
         || case when s.context = 'postmaster' then ' (it takes a restart)' else '' end
         as reason
from pg_file_settings f
left join pg_settings s on s.name = f.name
where f.error is not null
   or (not f.applied
       and not exists (select 1 from pg_file_settings g
                        where g.name = f.name and g.seqno > f.seqno))
order by f.sourcefile, f.sourceline
