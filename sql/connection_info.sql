-- connection_info.sql: who and where is this session, and how is the server set up?
-- Answers: identity (database, users, backend pid, server address), SSL in use,
-- server version, recovery state, uptime, connection counts, database size and
-- the session settings that change query behaviour.
-- Server versions: PostgreSQL 9.6 and later; tested on 13-18.
select current_database() as database,
       current_user as "user",
       session_user as session_user,
       host(inet_server_addr()) as server_address,
       inet_server_port() as server_port,
       pg_backend_pid() as backend_pid,
       current_setting('server_version') as server_version,
       coalesce(s.ssl, false) as ssl,
       s.version as ssl_version,
       s.cipher as ssl_cipher,
       current_setting('application_name') as application_name,
       pg_is_in_recovery() as in_recovery,
       pg_postmaster_start_time() as server_started_at,
       date_trunc('second', now() - pg_postmaster_start_time())::text as uptime,
       current_setting('max_connections')::int as max_connections,
       (select count(*) from pg_stat_activity where backend_type = 'client backend')::int
         as client_connections,
       pg_size_pretty(pg_database_size(current_database())) as database_size,
       pg_encoding_to_char(d.encoding) as encoding,
       d.datcollate as collation,
       current_setting('TimeZone') as timezone,
       current_setting('search_path') as search_path,
       current_setting('statement_timeout') as statement_timeout,
       current_setting('lock_timeout') as lock_timeout,
       current_setting('idle_in_transaction_session_timeout') as idle_in_transaction_session_timeout,
       current_setting('default_transaction_read_only') as default_transaction_read_only
from pg_database d
left join pg_stat_ssl s on s.pid = pg_backend_pid()
where d.datname = current_database()
