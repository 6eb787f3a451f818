-- pg_version.sql: which PostgreSQL is the server running?
-- Answers: the short version, its number form (e.g. 160004) and the full banner.
-- Server versions: any (server_version_num exists since 8.2); tested on 13-18.
select current_setting('server_version') as server_version,
       current_setting('server_version_num')::int as server_version_num,
       version() as version
