-- reader_role_powers.sql: can this role do more than read?
-- Answers, for the role named $1 (the session's current_user when $1 is null): its name,
-- whether it may log in, the attributes that let it act beyond reading (SUPERUSER,
-- REPLICATION, BYPASSRLS, CREATEROLE: a CREATEROLE role can create roles and, before
-- PostgreSQL 16, grant itself any predefined role), and the predefined roles it is a member
-- of, directly or through other roles, that signal other sessions, read or write server
-- files, run programs on the server, write every table or maintain every table, or read
-- the system catalogs whole (pg_read_all_data: pg_authid's password hashes too). No row when
-- the role does not exist.
-- Parameters: $1 text role name, or null for current_user.
-- Server versions: PostgreSQL 13 to 18 (pg_read_all_data and pg_write_all_data are 14+,
-- pg_maintain 17+: a
-- server without them has no member of them); tested on 13-18.
with recursive role as (
  select oid, rolname, rolcanlogin, rolsuper, rolreplication, rolbypassrls, rolcreaterole
  from pg_roles
  where rolname = coalesce($1::text, current_user::text)
), granted (roleid) as (
  select m.roleid from pg_auth_members m join role on m.member = role.oid
  union
  select m.roleid from pg_auth_members m join granted g on m.member = g.roleid
)
select role.rolname as role,
       role.rolcanlogin as login,
       array_remove(array[
         case when role.rolsuper then 'SUPERUSER' end,
         case when role.rolreplication then 'REPLICATION' end,
         case when role.rolbypassrls then 'BYPASSRLS' end,
         case when role.rolcreaterole then 'CREATEROLE' end
       ], null) as attributes,
       array(select p.rolname::text
             from granted g join pg_roles p on p.oid = g.roleid
             where p.rolname in ('pg_signal_backend', 'pg_read_server_files',
                                 'pg_write_server_files', 'pg_execute_server_program',
                                 'pg_write_all_data', 'pg_maintain', 'pg_read_all_data')
             order by 1) as member_of
from role
