/**
 * Values as the server wrote them, through the scripts on a real server:
 * json and jsonb of any depth in every output format (the exact bytes), and
 * SQL files or stdin that are not UTF-8 refused before anything is sent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeUtf8 } from "../../lib/core/text.ts";
import { EXIT_FAILURE, EXIT_USAGE, SkillError } from "../../lib/core/errors.ts";
import { startCluster } from "../support/cluster.ts";
import { isOneLineError, runSkillScript } from "../support/run.ts";

const DEPTH = 6000;

/** A json value: the SQL that makes it, and its text without insignificant whitespace. */
interface JsonCase {
  sql: string;
  compact: string;
}

const deepArrays = "[".repeat(DEPTH) + "]".repeat(DEPTH);
const deepObjects = '{"a":'.repeat(DEPTH) + "1" + "}".repeat(DEPTH);

const CASES: Record<string, JsonCase> = {
  arrays: { sql: `'${deepArrays}'::json`, compact: deepArrays },
  arrays_b: { sql: `'${deepArrays}'::jsonb`, compact: deepArrays },
  objects: { sql: `'${deepObjects.replaceAll(":", ": ")}'::json`, compact: deepObjects },
  objects_b: { sql: `'${deepObjects}'::jsonb`, compact: deepObjects },
  repeated: { sql: `'{"a":1,"a":2}'::json`, compact: '{"a":1,"a":2}' },
  repeated_b: { sql: `'{"a":1,"a":2}'::jsonb`, compact: '{"a":2}' },
  // Whitespace between tokens (line breaks, tabs) goes; inside strings it stays.
  spaced: {
    sql: `$j$ {\n\t"a  b" :\r\n [ 1 ,  2.50 ] , "s": " x \\" \\\\ y" }\n$j$::json`,
    compact: '{"a  b":[1,2.50],"s":" x \\" \\\\ y"}',
  },
  digits: {
    sql: `'[1.000000000000000000001, 1e400, -0, 12345678901234567890]'::json`,
    compact: "[1.000000000000000000001,1e400,-0,12345678901234567890]",
  },
  digits_b: {
    sql: `'[1.000000000000000000001, 12345678901234567890, 1.50]'::jsonb`,
    compact: "[1.000000000000000000001,12345678901234567890,1.50]",
  },
  list: {
    sql: `array['${deepArrays}'::json, '{"a":1,"a":2}', null]`,
    compact: `[${deepArrays},{"a":1,"a":2},null]`,
  },
};

/** A field as COPY ... CSV writes it. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

Deno.test("decodeUtf8: UTF-8 as it is, anything else refused at its first bad bytes", () => {
  const decode = (bytes: number[]) => decodeUtf8(new Uint8Array(bytes), { source: "The file" });
  assert.equal(
    decode([0xef, 0xbb, 0xbf, 0x61, 0xc3, 0xa4, 0xf0, 0x9f, 0x98, 0x80]),
    "\uFEFFa\u00e4\u{1F600}",
  );
  const refusals: [number[], string][] = [
    [[0x61, 0x0a, 0x62, 0xff, 0x63], "line 2 (byte offset 3) holds 0xff;"], // never UTF-8
    [[0x0a, 0xe2, 0x82, 0x41], "line 2 (byte offset 1) holds 0xe2 0x82 0x41;"], // cut by "A"
    [[0x61, 0xe2, 0x82], "line 1 (byte offset 1) holds 0xe2 0x82;"], // cut by the end
    [[0x61, 0xc0, 0x80], "line 1 (byte offset 1) holds 0xc0;"], // overlong
    [[0xed, 0xa0, 0x80], "line 1 (byte offset 0) holds 0xed 0xa0;"], // a surrogate
    [[0xf0, 0x9f, 0x98, 0x80, 0x80], "line 1 (byte offset 4) holds 0x80;"], // a stray continuation
    [[0xef, 0xbb, 0xbf, 0xe9, 0x27], "line 1 (byte offset 3) holds 0xe9 0x27;"], // Latin-1 after a BOM
  ];
  for (const [bytes, where] of refusals) {
    assert.throws(
      () => decode(bytes),
      (error: unknown) =>
        error instanceof SkillError && error.exitCode === EXIT_USAGE &&
        error.message.startsWith(`The file is not valid UTF-8: ${where} save it as UTF-8`),
      where,
    );
  }
  assert.throws(
    () => decodeUtf8(new Uint8Array([0xff]), { source: "X", exitCode: EXIT_FAILURE }),
    (error: unknown) => error instanceof SkillError && error.exitCode === EXIT_FAILURE,
  );
});

Deno.test("values: json as the server wrote it in every format, input that is not UTF-8 refused", async (t) => {
  const cluster = await startCluster({ settings: { log_statement: "'all'" } });
  const env = { DB_URL: cluster.url() };
  const names = Object.keys(CASES);
  const select = `select ${names.map((name) => `${CASES[name].sql} as ${name}`).join(", ")}`;
  try {
    // The server's own text of each value, as text (no json decoding on the way).
    const [row] = await cluster.sql(
      `select ${names.map((name) => `(${CASES[name].sql})::text as ${name}`).join(", ")}`,
    );
    const server: Record<string, string> = Object.fromEntries(
      names.map((name) => [name, row[name] as string]),
    );
    assert.equal(server.repeated, '{"a":1,"a":2}', "json keeps repeated keys");
    assert.equal(server.spaced, CASES.spaced.sql.slice(3, -9), "json keeps its whitespace");
    const run = (script: string, args: string[], options: { stdinFile?: string } = {}) =>
      runSkillScript(script, args, {
        env,
        // Bytes on stdin as they are (runSkillScript's stdin is text).
        wrapper: options.stdinFile ? ["sh", "-c", 'exec "$@" < "$0"', options.stdinFile] : [],
      });

    await t.step("--json: each value embedded as the server's text", async () => {
      const result = await run("run_sql.ts", ["--json", select]);
      assert.equal(result.code, 0, result.stderr);
      // A json[] is a JSON array of the elements' text (the server writes an array literal).
      const json: Record<string, string> = { ...server, list: CASES.list.compact };
      const line = `{${names.map((name) => `"${name}":${json[name]}`).join(",")}}`;
      assert.ok(
        result.stdout.includes(`"rows": [\n        ${line}\n      ],`),
        "the row is the server's text",
      );
      const doc = JSON.parse(result.stdout);
      assert.equal(doc.results[0].row_count, 1);
      assert.deepEqual(doc.results[0].rows[0].repeated_b, { a: 2 });
      assert.deepEqual(doc.results[0].rows[0].spaced, { "a  b": [1, 2.5], s: ' x " \\ y' });
    });

    await t.step(
      "--json: -0 keeps its sign; a result read in batches has its whole count",
      async () => {
        const result = await run("run_sql.ts", [
          "--json",
          "select '-0'::float8 as z; select g from generate_series(1, 2500) as g",
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.ok(result.stdout.includes(`{"z":-0}`), result.stdout.slice(0, 200));
        const doc = JSON.parse(result.stdout);
        assert.equal(doc.results[1].row_count, 2500);
        assert.equal(doc.results[1].command, "SELECT 2500");
      },
    );

    await t.step("--ndjson: one line per row, only insignificant whitespace removed", async () => {
      const result = await run("run_sql.ts", ["--ndjson", select]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        `{${names.map((name) => `"${name}":${CASES[name].compact}`).join(",")}}\n`,
      );
    });

    await t.step("--csv: the server's text, from COPY and from rows alike", async () => {
      const expected = `${names.join(",")}\n${
        names.map((name) => csvField(server[name])).join(",")
      }\n`;
      const copied = await run("run_sql.ts", ["--csv", select]);
      assert.equal(copied.code, 0, copied.stderr);
      assert.equal(copied.stdout, expected);
      // A bound parameter takes the row path instead of COPY.
      const rows = await run("run_sql.ts", ["--csv", `${select}, $1::int as p`, "--param", "7"]);
      assert.equal(rows.code, 0, rows.stderr);
      assert.equal(rows.stdout, expected.replace(/\n$/, ",7\n").replace(/^([^\n]*)/, "$1,p"));
    });

    await t.step("table: the server's text, line breaks kept, tabs escaped", async () => {
      for (const name of ["repeated", "arrays", "objects_b"]) {
        const result = await run("run_sql.ts", [`select ${CASES[name].sql} as j`]);
        assert.equal(result.code, 0, result.stderr);
        const text = server[name];
        assert.equal(
          result.stdout,
          `j\n${"-".repeat(text.length)}\n${text}\n(1 row)\n\n`,
        );
      }
      const spaced = await run("run_sql.ts", [`select ${CASES.spaced.sql} as j`]);
      assert.equal(spaced.code, 0, spaced.stderr);
      const lines = server.spaced.replaceAll("\t", "\\x09").replaceAll("\r", "\\x0d").split("\n");
      const width = Math.max(...lines.map((line) => line.length));
      assert.equal(
        spaced.stdout,
        `j\n${"-".repeat(width)}\n${lines.map((line) => line.trimEnd()).join("\n")}\n(1 row)\n\n`,
      );
      const all = await run("run_sql.ts", [select]);
      assert.equal(all.code, 0, all.stderr);
      assert.ok(all.stdout.includes(`${deepArrays}, {"a":1,"a":2}, NULL`), "json[] as a list");
    });

    await t.step("explain_analyze --json: EXPLAIN's own text", async () => {
      await cluster.sql(`
        create table items (id int primary key, v text);
        insert into items select i, 'v' || i from generate_series(1, 100) i;
        analyze items;
        create function plan_text(query text) returns text language plpgsql as $$
          declare plan text;
          begin
            execute 'explain (format json) ' || query into plan;
            return plan;
          end $$;`);
      const query = "select * from items where id > 42 order by v";
      const [{ plan }] = await cluster.sql(`select plan_text('${query}') as plan`);
      const planned = await run("explain_analyze.ts", ["--no-analyze", "--json", query]);
      assert.equal(planned.code, 0, planned.stderr);
      assert.equal(planned.stdout, `${plan}\n`);
      const analyzed = await run("explain_analyze.ts", ["--json", query]);
      assert.equal(analyzed.code, 0, analyzed.stderr);
      assert.equal(JSON.parse(analyzed.stdout)[0].Plan["Actual Rows"], 58);
      assert.match(analyzed.stdout, /"Sort Key": \["v"\]/, "the server's layout");
    });

    await t.step("explain_analyze: the plan's control characters are escaped", async () => {
      const result = await run("explain_analyze.ts", [
        "--no-analyze",
        "select * from items where v = E'\\x1b[31m'",
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(!result.stdout.includes("\x1b"), result.stdout);
      assert.match(result.stdout, /Filter: \(v = '\\x1b\[31m'::text\)/);
    });

    await t.step("SQL that is not UTF-8 is refused, naming where, and never sent", async () => {
      const marker = "latin1_marker";
      const bytes = new Uint8Array([
        ...new TextEncoder().encode(`select 1;\nselect '${marker} caf`),
        0xe9, // é in Latin-1
        ...new TextEncoder().encode("' as c;\n"),
      ]);
      const file = join(cluster.dir, "latin1.sql");
      await Deno.writeFile(file, bytes);
      const offset = bytes.indexOf(0xe9);
      const fromFile = await run("run_sql.ts", ["-f", file]);
      assert.equal(fromFile.code, 2, fromFile.stderr);
      assert.ok(isOneLineError(fromFile.stderr), fromFile.stderr);
      assert.equal(
        fromFile.stderr.trim(),
        `run_sql: The file "${file}" is not valid UTF-8: line 2 (byte offset ${offset}) ` +
          `holds 0xe9 0x27; save it as UTF-8 (iconv -f <its encoding> -t UTF-8 converts it) ` +
          `and run again`,
      );
      const fromStdin = await run("run_sql.ts", ["-"], { stdinFile: file });
      assert.equal(fromStdin.code, 2, fromStdin.stderr);
      assert.ok(isOneLineError(fromStdin.stderr), fromStdin.stderr);
      assert.match(fromStdin.stderr, /The SQL on stdin is not valid UTF-8: line 2 \(byte offset/);
      // A multi-byte character cut short at the end of the file.
      const cut = join(cluster.dir, "cut.sql");
      await Deno.writeFile(cut, new Uint8Array([...new TextEncoder().encode("select 1 --"), 0xe2]));
      const cutShort = await run("run_sql.ts", ["-f", cut]);
      assert.equal(cutShort.code, 2);
      assert.match(cutShort.stderr, /line 1 \(byte offset 11\) holds 0xe2;/);
      assert.ok(!(await cluster.log()).includes(marker), "nothing was sent to the server");
    });

    await t.step("UTF-8 files and stdin still run, a byte order mark included", async () => {
      const file = join(cluster.dir, "utf8.sql");
      await Deno.writeTextFile(file, "\uFEFFselect 'café ☕' as c;\n");
      const fromFile = await run("run_sql.ts", ["--csv", "-f", file]);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.equal(fromFile.stdout, "c\ncafé ☕\n");
      const fromStdin = await run("run_sql.ts", ["--csv", "-"], { stdinFile: file });
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
      assert.equal(fromStdin.stdout, "c\ncafé ☕\n");
    });
  } finally {
    await cluster.stop();
  }
});
