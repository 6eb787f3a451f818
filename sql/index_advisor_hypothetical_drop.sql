-- index_advisor_hypothetical_drop.sql: forget one hypothetical index of this session (hypopg).
-- Answers: whether it was there.
-- @extschema@ is hypopg's schema, as in index_advisor_hypothetical_create.sql.
-- Parameters: $1 int8 the hypothetical index's OID.
-- Server versions: those hypopg 1.1+ supports; tested on the Debian server's (15) with 1.3.1.
select @extschema@.hypopg_drop_index($1::pg_catalog.int8::pg_catalog.oid) as dropped
