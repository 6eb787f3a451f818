-- reader_password_statement.sql: the statement that gives a role a new password, built by
-- the server.
-- Answers: ALTER ROLE $1 PASSWORD with the SCRAM verifier $2, the name and the verifier
-- quoted by format() (%I, %L), so that neither is spliced into SQL by the client and the
-- plain password never reaches the server (nor its log).
-- Parameters: $1 text role name, $2 text SCRAM-SHA-256 verifier.
-- Server versions: PostgreSQL 10 and later (SCRAM verifiers); tested on 13-18.
select format('alter role %I password %L', $1::text, $2::text) as statement
