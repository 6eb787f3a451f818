/**
 * The catalogue of function effects (lib/sql/function_effects.ts) against the real
 * catalogs: for each major of testMajors() a cluster with every contrib
 * extension it can create, whose volatile functions must each be classified
 * or reviewed as allowed, whose SQL-text runners (of any volatility) must be
 * refused as such, and where every listed name must exist somewhere.
 */
import assert from "node:assert/strict";
import {
  ALLOWED_VOLATILE,
  type EffectClass,
  functionEffect,
} from "../../lib/sql/function_effects.ts";
import { PgServerError, type PgSession } from "../../lib/connection/session.ts";
import { EMBEDDED_VERSIONS, startCluster, testMajors } from "../support/cluster.ts";

const MAJORS = testMajors();

/**
 * The C entry points that run SQL given (or built from) their text arguments,
 * whatever SQL name or volatility a catalog gives them. Found by reading the
 * call graph of each major's server binary (objdump: the fmgr entry points
 * that reach SPI_execute, SPI_prepare or SPI_cursor_open; the others reach it
 * with fixed queries: pg_get_viewdef, table_to_xml and kin, RI triggers) and
 * the contrib libraries that import SPI's query functions (nm: dblink,
 * tablefunc, xml2's pgxml, refint and the PLs, whose entry points are trigger
 * functions and handlers). dblink's send their text to another session.
 */
const SQL_TEXT_SOURCES = new Set([
  "query_to_xml",
  "query_to_xmlschema",
  "query_to_xml_and_xmlschema",
  "ts_stat1",
  "ts_stat2",
  "tsquery_rewrite_query",
  "crosstab",
  "crosstab_hash",
  "connectby_text",
  "connectby_text_serial",
  "xpath_table",
  "dblink_record",
  "dblink_exec",
  "dblink_open",
  "dblink_send_query",
]);
const SQL_TEXT_CLASSES: EffectClass[] = ["sql-text", "outside"];

/**
 * Results that cannot come out of a plain SQL call with effect. No SQL
 * expression yields `internal` (checked below: no function returns it without
 * taking it), so a function that takes it is reachable only from the server's
 * own C code. Trigger and event-trigger functions refuse to run unless the
 * trigger manager calls them, and PL call handlers refuse to run themselves
 * (both checked below by calling each). Index, table and tablesample access
 * method handlers take `internal`; FDW handlers only build their callback
 * table (postgres_fdw_handler, file_fdw_handler: read, no state touched).
 */
const HANDLER_RESULTS = new Set([
  "trigger",
  "event_trigger",
  "language_handler",
  "fdw_handler",
  "index_am_handler",
  "table_am_handler",
  "tsm_handler",
]);
const REFUSING_RESULTS = new Set(["trigger", "event_trigger", "language_handler"]);

/** Missing shared library or control file (plperl without libperl, plpython2u). */
const UNDEFINED_FILE = "58P01";

const FUNCTIONS_QUERY = `
  select p.oid::regprocedure::text as signature, p.proname as name,
         p.provolatile as volatility, l.lanname as language, p.prosrc as source,
         e.extname as extension, p.pronargs as arg_count,
         p.prorettype::regtype::text as result_type,
         'internal'::regtype = any (p.proargtypes::oid[]) as takes_internal,
         case when l.lanname = 'sql' and p.prokind = 'f' then pg_get_functiondef(p.oid) end
           as sql_definition
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    join pg_language l on l.oid = p.prolang
    left join pg_depend d
      on d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
    left join pg_extension e on e.oid = d.refobjid
   where n.nspname = 'pg_catalog' or e.oid is not null`;

interface CatalogFunction {
  signature: string;
  name: string;
  volatility: string;
  language: string;
  source: string;
  extension: string | null;
  arg_count: number;
  result_type: string;
  takes_internal: boolean;
  sql_definition: string | null;
}

interface Catalog {
  major: string;
  functions: CatalogFunction[];
  /** Extensions the binaries ship but cannot create here, with the server's reason. */
  uncreatable: string[];
  /** Trigger functions and PL handlers called from SQL that ran instead of refusing. */
  ranWhenCalled: string[];
}

/** Starts a cluster of `major`, creates every extension it can, and reads its functions. */
async function readCatalog(major: string): Promise<Catalog> {
  const cluster = await startCluster({
    embeddedMajor: major === "system" ? undefined : Number(major),
  });
  try {
    await cluster.sql("create database scratch");
    const session = await cluster.session("scratch");
    try {
      const uncreatable: string[] = [];
      const { rows: creates } = await session.query(
        `select format('create extension if not exists %I cascade', name) as command
           from pg_available_extensions order by name`,
      );
      for (const { command } of creates) {
        await session.query(String(command)).catch((error) => {
          if (!(error instanceof PgServerError) || error.code !== UNDEFINED_FILE) throw error;
          uncreatable.push(`${command}: ${error.message}`);
        });
      }
      const functions = (await session.query(FUNCTIONS_QUERY)).rows as unknown as CatalogFunction[];
      const ranWhenCalled: string[] = [];
      for (const fn of functions) {
        const mustRefuse = REFUSING_RESULTS.has(fn.result_type) ||
          (fn.result_type === "internal" && !fn.takes_internal);
        if (mustRefuse && !await refusesCall(session, fn)) ranWhenCalled.push(fn.signature);
      }
      return { major, functions, uncreatable, ranWhenCalled };
    } finally {
      await session.close();
    }
  } finally {
    await cluster.stop();
  }
}

/**
 * Calls `fn` from SQL and tells whether the server refused. A zero-argument
 * signature is its own call (`autoinc()`, `"RI_FKey_check_ins"()`); the
 * pseudo-types' input functions take one cstring, which SQL can write. Any
 * other argument list cannot be called here and counts as not refused.
 */
async function refusesCall(session: PgSession, fn: CatalogFunction): Promise<boolean> {
  const call = fn.arg_count === 0
    ? fn.signature
    : fn.signature.endsWith("(cstring)")
    ? `${fn.signature.slice(0, -"(cstring)".length)}('')`
    : undefined;
  if (!call) return false;
  return await session.query(`select ${call} is null`).then(
    () => false,
    (error) => error instanceof PgServerError,
  );
}

function where(fn: CatalogFunction): string {
  return `${fn.signature} [${fn.extension ?? "pg_catalog"}]`;
}

function excluded(fn: CatalogFunction): boolean {
  return fn.takes_internal || fn.result_type === "internal" || HANDLER_RESULTS.has(fn.result_type);
}

/** Every name the effects table lists, read from its source: one `name: GROUP,` per line. */
async function classifiedNames(): Promise<string[]> {
  const source = await Deno.readTextFile(
    new URL("../../lib/sql/function_effects.ts", import.meta.url),
  );
  const start = source.indexOf("new Map(Object.entries({");
  const end = source.indexOf("}));", start);
  assert.ok(start > 0 && end > start, "the effects table is not where the test looks for it");
  const lines = source.slice(start, end).split("\n").slice(1).filter((line) => line.trim());
  const names: string[] = [];
  for (const line of lines) {
    const entry = line.match(/^ {2}([a-z][a-z0-9_]*): [A-Z][A-Z0-9_]*,$/);
    assert.ok(entry, `the effects table has a line that is not one name: ${JSON.stringify(line)}`);
    names.push(entry[1]);
  }
  return names;
}

/** Fails naming every problem found at once: each kind of problem with its findings. */
function assertNoProblems(problems: Record<string, string[]>): void {
  const found = Object.fromEntries(Object.entries(problems).filter(([, list]) => list.length));
  assert.deepEqual(found, {});
}

Deno.test("function effects: the issue's examples", () => {
  const expected: Record<string, EffectClass> = {
    query_to_xml: "sql-text",
    query_to_xmlschema: "sql-text",
    query_to_xml_and_xmlschema: "sql-text",
    ts_stat: "sql-text",
    ts_rewrite: "sql-text",
    crosstab: "sql-text",
    connectby: "sql-text",
    xpath_table: "sql-text",
    pg_terminate_backend: "outside",
    pg_cancel_backend: "outside",
    dblink_exec: "outside",
    dblink: "outside",
    lo_export: "outside",
    pg_file_write: "outside",
    pg_create_logical_replication_slot: "outside",
    pg_reload_conf: "outside",
    pg_read_file: "server-read",
    pg_ls_dir: "server-read",
    nextval: "sequence",
    setval: "sequence",
    pg_advisory_lock: "session",
    txid_current: "session",
    lo_create: "session",
  };
  for (const [name, effectClass] of Object.entries(expected)) {
    assert.equal(functionEffect(name)?.class, effectClass, name);
    assert.ok(!ALLOWED_VOLATILE.has(name), `${name} is also allowed`);
  }
  assert.match(functionEffect("pg_terminate_backend")!.what, /signals/);
  assert.match(functionEffect("query_to_xml")!.what, /runs SQL given as text/);
  // ts_rewrite is classed by its worse overload, and says which.
  assert.match(functionEffect("ts_rewrite")!.what, /ts_rewrite\(tsquery, text\)/);

  for (const name of ["random", "clock_timestamp", "pg_sleep", "gen_random_uuid", "currval"]) {
    assert.ok(ALLOWED_VOLATILE.has(name), name);
    assert.equal(functionEffect(name), undefined, name);
  }
  assert.ok(ALLOWED_VOLATILE.has("set_config"), "set_config is judged by lib/sql/statements.ts");
  // Exact names, not patterns, and nothing inherited from Object.prototype.
  for (const name of ["lower", "my_function", "pg_terminate", "constructor", "__proto__"]) {
    assert.equal(functionEffect(name), undefined, name);
  }
});

Deno.test("function effects: no name in both lists, every name exact", async () => {
  const classified = await classifiedNames();
  assert.ok(classified.length > 100, `only ${classified.length} names read from the table`);
  assertNoProblems({
    "classified and allowed": classified.filter((name) => ALLOWED_VOLATILE.has(name)),
    "read from the table, not looked up": classified.filter((name) => !functionEffect(name)),
    "not an exact lower-case name": [...classified, ...ALLOWED_VOLATILE].filter((name) =>
      !/^[a-z][a-z0-9_]*$/.test(name)
    ),
  });
});

Deno.test(`function effects against the catalogs of PostgreSQL ${MAJORS.join(", ")}`, async (t) => {
  // One cluster per major, all at once: on two cores the starts and extension
  // scripts overlap (measured under other tests' load: 19-28 s together
  // against 28-37 s one after another).
  const catalogs = await Promise.all(MAJORS.map(readCatalog));

  for (const catalog of catalogs) {
    await t.step(`PostgreSQL ${catalog.major}`, () => {
      const { functions } = catalog;
      assert.ok(
        functions.some((fn) => fn.extension === "dblink") &&
          functions.some((fn) => fn.extension === "tablefunc"),
        `contrib extensions missing: ${catalog.uncreatable.join("; ")}`,
      );
      // An SQL-language wrapper of a classified function must be classified too.
      const classifiedHere = [...new Set(functions.map((fn) => fn.name))].filter((name) =>
        functionEffect(name)
      );
      assertNoProblems({
        "returns internal without taking it": functions.filter((fn) =>
          fn.result_type === "internal" && !fn.takes_internal &&
          fn.signature !== "internal_in(cstring)"
        ).map(where),
        "of the excluded kinds, ran when called from SQL (or takes arguments)":
          catalog.ranWhenCalled,
        "volatile, in neither list": functions.filter((fn) =>
          fn.volatility === "v" && !excluded(fn) && !functionEffect(fn.name) &&
          !ALLOWED_VOLATILE.has(fn.name)
        ).map(where),
        "runs SQL text, not refused as such": functions.filter((fn) =>
          (fn.language === "internal" || fn.language === "c") &&
          SQL_TEXT_SOURCES.has(fn.source) &&
          !SQL_TEXT_CLASSES.includes(functionEffect(fn.name)?.class as EffectClass)
        ).map((fn) => `${where(fn)} (${fn.source}, volatility ${fn.volatility})`),
        "SQL function wrapping a classified one, not classified": functions.filter((fn) =>
          fn.sql_definition && !functionEffect(fn.name)
        ).flatMap((fn) => {
          // Its own name is unclassified, so the header cannot match.
          const called = classifiedHere.filter((name) =>
            new RegExp(`\\b${name}\\s*\\(`, "i").test(fn.sql_definition!)
          );
          return called.length ? [`${where(fn)} calls ${called.join(", ")}`] : [];
        }),
      });
    });
  }

  const everyMajor = Object.keys(EMBEDDED_VERSIONS);
  await t.step({
    name: "every listed name exists in some major (a typo otherwise)",
    ignore: !everyMajor.every((major) => MAJORS.includes(major)),
    fn: async () => {
      const all = catalogs.flatMap((catalog) => catalog.functions);
      const names = new Set(all.map((fn) => fn.name));
      const sources = new Set(all.map((fn) => fn.source));
      const volatileNames = new Set(
        all.filter((fn) => fn.volatility === "v" && !excluded(fn)).map((fn) => fn.name),
      );
      const classified = await classifiedNames();
      assertNoProblems({
        "classified, in no major": classified.filter((name) => !names.has(name)),
        "allowed as volatile, volatile in no major": [...ALLOWED_VOLATILE].filter((name) =>
          !volatileNames.has(name)
        ),
        "SQL-text implementation in no major": [...SQL_TEXT_SOURCES].filter((source) =>
          !sources.has(source)
        ),
        // The table read from the source is the whole table.
        "classified, not read from the table": [...names].filter((name) =>
          functionEffect(name) && !classified.includes(name)
        ),
      });
    },
  });
});
