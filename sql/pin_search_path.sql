-- pin_search_path.sql: make this transaction resolve every unqualified name in pg_catalog first.
-- Answers nothing; for a transaction that runs statements of the skill's own as a privileged
-- role (readonly_role.ts): functions someone put in a schema on the role's search_path (public)
-- must not be what they call (CVE-2018-1058). Lasts the transaction only (set_config local).
-- Parameters: none.
-- Server versions: any; tested on 13-18.
select pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true) as search_path
