-- index_advisor_hypothetical_create.sql: make one hypothetical index (hypopg), in this session only.
-- Answers: its OID and the name plans show it by ("<oid>btree_table_column"), and its estimated
-- size in bytes. Nothing is written: hypopg keeps it in the session's memory, where the planner
-- sees it; no other session does, and nothing is built.
-- @extschema@ is hypopg's schema, quoted by the server (index_advisor_hypopg.sql), put in by the
-- caller: the function is called by its full name, whatever the search_path holds.
-- Parameters: $1 text the CREATE INDEX statement (one; made by the advisor from catalog names).
-- Server versions: those hypopg 1.1+ supports; tested on the Debian server's (15) with 1.3.1.
select h.indexrelid::pg_catalog.int8 as oid,
       h.indexname as name,
       @extschema@.hypopg_relation_size(h.indexrelid)::pg_catalog.int8 as bytes
from @extschema@.hypopg_create_index($1::pg_catalog.text) h
