/**
 * pagila (tests/fixtures/pagila/, its licence beside it), made loadable on
 * the server at hand: it wants PostgreSQL 18 and pgvector.
 */

/** pagila's schema as a server of `major` without pgvector takes it. */
export async function pagilaSchema(major: number): Promise<string> {
  let sql = (await Deno.readTextFile(
    new URL("../fixtures/pagila/pagila-schema.sql", import.meta.url),
  ))
    // No pgvector here: its one table keeps its column as real[], without the hnsw index.
    .replace(/^CREATE EXTENSION IF NOT EXISTS vector .*$/m, "")
    .replace(/^COMMENT ON EXTENSION vector .*$/m, "")
    .replaceAll("public.vector(20)", "real[]")
    .replace(/^CREATE INDEX \S+ ON \S+ USING hnsw .*$/m, "");
  if (major < 18) {
    sql = sql.replaceAll("uuidv7()", "gen_random_uuid()").replaceAll(") VIRTUAL", ") STORED");
  }
  return sql;
}
