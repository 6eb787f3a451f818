-- schema_ddl_roles.sql: who is this session, and which roles does this server have?
-- Answers: the session's role (the one that would apply a migration here, and owns what it
-- makes) and the names of every role of the server, which a GRANT or an OWNER TO may name.
-- Parameters: none.
-- Server versions: any; tested on 13-18.
select pg_catalog.current_user() as "user",
       pg_catalog.array_agg(r.rolname::pg_catalog.text order by r.rolname) as roles
from pg_catalog.pg_roles r
