-- index_advisor_hypothetical_reset.sql: forget every hypothetical index of this session (hypopg).
-- Answers: nothing. hypopg's indexes are not undone by a rollback; the advisor clears them
-- before it ends the transaction, as closing the session would.
-- @extschema@ is hypopg's schema, as in index_advisor_hypothetical_create.sql.
-- Parameters: none.
-- Server versions: those hypopg 1.1+ supports; tested on the Debian server's (15) with 1.3.1.
select @extschema@.hypopg_reset()
