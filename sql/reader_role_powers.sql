-- reader_role_powers.sql: can this role do more than read?
-- Answers, for the role named $1 (the session's current_user when $1 is null): its name,
-- whether it may log in, the attributes that let it act beyond reading (SUPERUSER,
-- REPLICATION, BYPASSRLS, CREATEROLE: a CREATEROLE role can create roles and, before
-- PostgreSQL 16, grant itself any predefined role), the predefined roles it is a member of,
-- directly or through other roles, that signal other sessions, read or write server files, run
-- programs on the server, write every table or maintain every table, or read the system
-- catalogs whole (pg_read_all_data: pg_authid's password hashes too), and where it may create
-- objects (schemas outside the system's, itself or through PUBLIC, and the database itself): a
-- function it puts in a schema on another role's search_path runs as that role. No row when
-- the role does not exist.
-- Every function, operator and catalog is named with its schema: the session may be a
-- superuser's, whose search_path others may have put functions on.
-- Parameters: $1 text role name, or null for current_user.
-- Server versions: PostgreSQL 13 to 18 (pg_read_all_data and pg_write_all_data are 14+,
-- pg_maintain 17+: a server without them has no member of them); tested on 13-18.
with recursive role as (
  select oid, rolname, rolcanlogin, rolsuper, rolreplication, rolbypassrls, rolcreaterole
  from pg_catalog.pg_roles
  where rolname operator(pg_catalog.=) coalesce($1::pg_catalog.text, current_user::pg_catalog.text)
), granted (roleid) as (
  select m.roleid from pg_catalog.pg_auth_members m join role on m.member operator(pg_catalog.=) role.oid
  union
  select m.roleid from pg_catalog.pg_auth_members m join granted g on m.member operator(pg_catalog.=) g.roleid
)
select role.rolname as role,
       role.rolcanlogin as login,
       pg_catalog.array_remove(array[
         case when role.rolsuper then 'SUPERUSER' end,
         case when role.rolreplication then 'REPLICATION' end,
         case when role.rolbypassrls then 'BYPASSRLS' end,
         case when role.rolcreaterole then 'CREATEROLE' end
       ]::pg_catalog.text[], null::pg_catalog.text) as attributes,
       array(select p.rolname::pg_catalog.text
             from granted g join pg_catalog.pg_roles p on p.oid operator(pg_catalog.=) g.roleid
             where p.rolname operator(pg_catalog.=) any (array['pg_signal_backend',
                     'pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program',
                     'pg_write_all_data', 'pg_maintain', 'pg_read_all_data']::pg_catalog.name[])
             order by 1) as member_of,
       array(select n.nspname::pg_catalog.text
             from pg_catalog.pg_namespace n
             where n.nspname operator(pg_catalog.!~) '^pg_'
               and n.nspname operator(pg_catalog.<>) 'information_schema'
               and pg_catalog.has_schema_privilege(role.oid, n.oid, 'CREATE')
             union all
             select 'the database'
             where pg_catalog.has_database_privilege(role.oid, pg_catalog.current_database(), 'CREATE')
             order by 1) as creates_in
from role
