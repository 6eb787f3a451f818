-- doctor_server.sql: what a health check needs to know about the server and this role.
-- Answers: the server's version number, whether it is a standby (in recovery), and whether
-- this role sees every session's state and query and the standbys' positions (a superuser,
-- or a member of pg_read_all_stats, which pg_monitor includes).
-- Server versions: PostgreSQL 10 and later (pg_read_all_stats); tested on 13-18.
select current_setting('server_version_num')::int as version_num,
       pg_is_in_recovery() as in_recovery,
       pg_has_role(current_user, 'pg_read_all_stats', 'member') as reads_all_stats
