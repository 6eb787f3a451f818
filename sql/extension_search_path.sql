-- extension_search_path.sql: let this session find an extension's objects by name, after
-- pg_catalog's: search_path = pg_catalog, <schema>, pg_temp.
-- pg_catalog first, so that a name both define (a type, a function of the same argument
-- types) is pg_catalog's; the SQL that runs next still names its operators in pg_catalog,
-- since an operator planted with a closer argument-type match wins whatever the order.
-- Answers: the new search path.
-- Parameters: $1 text quoted schema name, as quote_ident returns it.
-- Server versions: any; tested on 13-18.
select pg_catalog.set_config('search_path', 'pg_catalog, ' operator(pg_catalog.||) $1
         operator(pg_catalog.||) ', pg_temp', false)
  as search_path
