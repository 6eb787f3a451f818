/**
 * PostgreSQL's own parser, lexer and PL/pgSQL parser (npm:libpg-query,
 * compiled to WASM), loaded once, on first use: its module costs tens of
 * milliseconds, which scripts that never read SQL must not pay.
 *
 * @module
 */

/** The libpg-query module: parse, scan, parsePlPgSQL ... */
export type PgParser = typeof import("libpg-query");

let parser: Promise<PgParser> | undefined;

/** The parser module, loaded and ready (its WASM instantiated). */
export function loadPgParser(): Promise<PgParser> {
  parser ??= import("libpg-query").then(async (module) => {
    await module.loadModule();
    return module;
  });
  return parser;
}
