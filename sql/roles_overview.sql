-- roles_overview.sql: which roles exist, what may they do, and whose members are they?
-- Answers: role, login, superuser, createdb, createrole, inherit, replication,
-- bypassrls, connection limit (-1: none), password expiry, roles it is a member
-- of, and its members. Predefined pg_* roles only when $1 is true.
-- total: how many rows match in all, before the limit (the same on every row).
-- Parameters: $1 boolean include predefined roles, $2 int row limit.
-- Server versions: PostgreSQL 9.5 and later (rolbypassrls); tested on 13-18.
select r.rolname as role,
       r.rolcanlogin as login,
       r.rolsuper as superuser,
       r.rolcreatedb as createdb,
       r.rolcreaterole as createrole,
       r.rolinherit as inherit,
       r.rolreplication as replication,
       r.rolbypassrls as bypassrls,
       r.rolconnlimit as connection_limit,
       r.rolvaliduntil as valid_until,
       array(select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid
             where m.member = r.oid order by 1) as member_of,
       array(select u.rolname from pg_auth_members m join pg_roles u on u.oid = m.member
             where m.roleid = r.oid order by 1) as members,
       count(*) over () as total
from pg_roles r
where $1::boolean or r.rolname !~ '^pg_'
order by r.rolname
limit $2
