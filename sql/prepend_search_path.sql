-- prepend_search_path.sql: put a schema (already quoted) first on this session's search path.
-- Answers: the new search path.
-- Parameters: $1 text quoted schema name, as quote_ident returns it.
-- Server versions: any; tested on 13-18.
select set_config('search_path', $1 || ', ' || current_setting('search_path'), false)
  as search_path
