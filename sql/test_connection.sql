-- test_connection.sql: does a round trip work, and where did it land?
-- Answers: database, user, server version and whether the session uses SSL.
-- Server versions: PostgreSQL 9.5 and later (pg_stat_ssl); tested on 13-18.
select current_database() as database,
       current_user as "user",
       current_setting('server_version') as server_version,
       coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false) as ssl
