/**
 * The database's own code a data change would run besides what its text
 * shows, looked up in the catalog (sql/explain_database_code.sql) and read
 * with the parser: triggers (on partitions and on tables that foreign keys
 * cascade to too), rules, column defaults, generated columns, check and
 * domain constraints, views and policies, and the functions all of them and
 * the statement call, followed into their bodies (SQL and PL/pgSQL, read by
 * lib/sql/statements.ts as any statement) and into the functions and tables
 * those name, until nothing new turns up.
 *
 * What it finds is either harmless to a rolled-back run (it only changes
 * rows), or acts outside the transaction (an escape: dblink, a signal ...),
 * or cannot be seen into (a function in C or another language that is not
 * built in, SQL built at run time): those two refuse an EXPLAIN ANALYZE.
 * Built-in functions and those of extensions are judged by name, as
 * lib/sql/function_effects.ts does for calls the statement makes itself.
 *
 * @module
 */
import type { PgSession } from "./session.ts";
import { loadSql } from "../sql/sql_files.ts";
import { functionEffect } from "../sql/function_effects.ts";
import { parseStatements, type Statement } from "../sql/statements.ts";

/** What the database's own code a statement runs does beyond changing rows. */
export interface DatabaseCode {
  /**
   * What acts outside the transaction or cannot be seen into, each naming
   * the object that runs it and what it does, first found first.
   */
  refusals: string[];
  /** The sequence moves it may make (a rollback does not undo them), each naming its object. */
  sequenceCalls: string[];
  /** Every function it would run, as `via: function` (what was read, for a note or a test). */
  functions: string[];
}

/** How many rounds of newly found functions and tables are followed. */
const MAX_ROUNDS = 8;

/** What a function's body was found to do, read once per function. */
interface BodyFacts {
  escapes: string[];
  unseen: string[];
  sequenceCalls: string[];
  calls: Statement["calls"];
  writes: string[];
  reads: string[];
}

/** Languages whose bodies the parser reads; `internal` names the built-in it binds. */
const READABLE = new Set(["sql", "plpgsql", "internal"]);

/**
 * Looks up and reads the code `statement` would run on the database of
 * `session` (in its search_path, so names resolve as the statement's do).
 * Sends only catalog reads.
 */
export async function databaseCode(
  session: PgSession,
  statement: Statement,
): Promise<DatabaseCode> {
  const sql = await loadSql("explain_database_code");
  const found: DatabaseCode = { refusals: [], sequenceCalls: [], functions: [] };
  const writes = new Set(statement.writes);
  const reads = new Set(statement.reads);
  const calls = new Map<string, string | undefined>(); // name -> what calls it (undefined: the statement)
  const attributes = new Map<string, string | undefined>();
  for (const call of statement.calls) {
    (call.attribute ? attributes : calls).set(call.name, undefined);
  }
  const bodies = new Map<string, BodyFacts>();
  const seen = new Set<string>();
  const refuse = (what: string) => {
    if (!found.refusals.includes(what)) found.refusals.push(what);
  };
  const moves = (what: string) => {
    if (!found.sequenceCalls.includes(what)) found.sequenceCalls.push(what);
  };
  /** Adds what some code names; true when something is new. */
  const learn = (facts: BodyFacts, by: string): boolean => {
    let grown = false;
    const pairs: [Set<string>, string[]][] = [[writes, facts.writes], [reads, facts.reads]];
    for (const [tables, named] of pairs) {
      for (const table of named) {
        if (tables.has(table)) continue;
        tables.add(table);
        grown = true;
      }
    }
    for (const { name, attribute } of facts.calls) {
      const into = attribute ? attributes : calls;
      if (!into.has(name)) {
        into.set(name, by);
        grown = true;
      }
    }
    return grown;
  };
  for (let round = 0;; round++) {
    if (round === MAX_ROUNDS) {
      refuse(`code that calls code more than ${MAX_ROUNDS} levels deep, which was not followed`);
      break;
    }
    const { rows } = await session.query(sql, [
      [...writes],
      [...reads, ...writes],
      [...calls.keys()],
      [...attributes.keys()],
    ]);
    let grown = false;
    for (const row of rows) {
      const called = row.called === null ? undefined : String(row.called);
      const via = String(row.via);
      if (row.kind === "expression") {
        const key = `${via}\n${row.definition}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const facts = await readCode(String(row.definition));
        judge(facts, via, via);
        grown = learn(facts, via) || grown;
        continue;
      }
      const fn = String(row.function);
      // Who runs it: an object (`trigger t on x runs f()`), the statement, or code found before.
      const caller = called === undefined
        ? undefined
        : (calls.has(called) ? calls.get(called) : attributes.get(called));
      const runs = called === undefined
        ? `${via} runs ${fn}`
        : caller
        ? `${caller}, which calls ${fn}`
        : `the statement calls ${fn}`;
      const key = `${runs}\n${fn}`;
      if (seen.has(key)) continue;
      seen.add(key);
      found.functions.push(runs);
      if (row.judged_by_name === true) {
        const effect = functionEffect(String(row.name));
        if (effect?.class === "outside" || effect?.class === "sql-text") {
          refuse(`${runs}, which ${effect.what}`);
        } else if (effect?.class === "sequence") {
          moves(`${runs}, which ${effect.what}`);
        }
        continue;
      }
      if (row.definition === null) continue; // an aggregate: its support functions have rows
      const language = String(row.language);
      if (!READABLE.has(language)) {
        refuse(`${runs}, a function in ${language}, which no check can see into`);
        continue;
      }
      let facts = bodies.get(fn);
      if (!facts) {
        facts = await readCode(String(row.definition));
        bodies.set(fn, facts);
      }
      judge(facts, runs, `${runs}, which`);
      grown = learn(facts, runs) || grown;
    }
    if (!grown) break;
  }
  return found;

  function judge(facts: BodyFacts, via: string, subject: string) {
    for (const escape of facts.escapes) refuse(`${subject} uses ${escape}`);
    for (const unseen of facts.unseen) {
      refuse(`${subject} holds ${unseen}, which no check can see into`);
    }
    for (const call of facts.sequenceCalls) moves(`${via}: ${call}`);
  }
}

/** What a CREATE FUNCTION, CREATE RULE, CREATE TRIGGER or SELECT of an expression does. */
async function readCode(sql: string): Promise<BodyFacts> {
  let statements: Statement[];
  try {
    statements = await parseStatements(sql);
  } catch {
    return {
      escapes: [],
      unseen: ["code the parser cannot read"],
      sequenceCalls: [],
      calls: [],
      writes: [],
      reads: [],
    };
  }
  return {
    escapes: statements.flatMap((s) => s.escapes),
    unseen: statements.flatMap((s) => s.unseen),
    sequenceCalls: statements.flatMap((s) => s.sequenceCalls),
    calls: statements.flatMap((s) => s.calls),
    writes: statements.flatMap((s) => s.writes),
    reads: statements.flatMap((s) => s.reads),
  };
}
