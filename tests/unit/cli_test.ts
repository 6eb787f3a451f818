/**
 * What every script prints about secrets and server text (lib/core/text.ts):
 * passwords masked where they stand as values and nowhere else, control
 * characters never reaching a terminal raw, and the names suggested for a typo.
 */
import assert from "node:assert/strict";
import { closeMatches } from "../../lib/core/text.ts";
import { parseCli } from "../../lib/cli/args.ts";
import { escapeControl, maskPasswords } from "../../lib/core/text.ts";
import { UsageError } from "../../lib/core/errors.ts";
import { isOneLineError, runSkillScript } from "../support/run.ts";

Deno.test("passwords are masked as values, never as substrings of other words", () => {
  // The example profile's password is "postgres"; a password "1" is as plausible.
  const plain = 'Profile "local" in ".skills/postgres/postgres.toml": user "postgres" at 127.0.0.1';
  assert.equal(maskPasswords(plain), plain);
  assert.equal(
    maskPasswords("pg_dump: connection to postgresql://app:p@ss:w0rd@db.example.com/app failed"),
    "pg_dump: connection to postgresql://app:***@db.example.com/app failed",
  );
  assert.equal(
    maskPasswords("host=db password='a b\\'c' dbname=x; PGPASSWORD=s3cret psql; sslpassword=k"),
    "host=db password=*** dbname=x; PGPASSWORD=*** psql; sslpassword=***",
  );
  assert.equal(
    maskPasswords("postgresql://app@db/x?password=p%40ss&sslmode=require"),
    "postgresql://app@db/x?password=***&sslmode=require",
  );
});

Deno.test("control characters are shown as escapes", () => {
  assert.equal(
    escapeControl("select '\x1b[2J\x1b[31mred'\x07"),
    "select '\\x1b[2J\\x1b[31mred'\\x07",
  );
  assert.equal(escapeControl("two\nlines\tand\x9bC1"), "two\nlines\\x09and\\x9bC1");
  assert.equal(escapeControl("one\nline", { newlines: false }), "one\\x0aline");
  assert.equal(escapeControl("é ü ✓ 名前"), "é ü ✓ 名前");
});

Deno.test("close matches: another case first, then a few edits, then containment", async () => {
  assert.deepEqual(await closeMatches("Sales", ["crm", "public", "sales"]), ["sales"]);
  assert.deepEqual(
    await closeMatches("order", ["customers", "order_lines", "orders", "Order"]),
    ["Order", "orders", "order_lines"],
  );
  assert.deepEqual(await closeMatches("acount", ["accounts", "account", "discount_codes"]), [
    "account",
    "accounts",
  ]);
  assert.deepEqual(await closeMatches("zzzz", ["crm", "public", "sales"]), []);
  assert.deepEqual(await closeMatches("a", ["b", "ab", "abc"]), ["ab", "b"]);
  assert.equal((await closeMatches("t", Array.from({ length: 50 }, (_, i) => `t${i}`))).length, 3);
});

Deno.test("text that starts with - (SQL opening with a comment) is not taken for an option", () => {
  const spec = {
    name: "run_sql",
    usage: "",
    positionals: { min: 0, max: 1 },
    options: { message: { type: "string" as const } },
  };
  assert.throws(
    () => parseCli(spec, ["-- why\nselect 1"]),
    (error: Error) =>
      error instanceof UsageError &&
      error.message ===
        'The argument "-- why\\x0aselect 1" starts with "-" but is not an option; put -- before ' +
          'it (run_sql.ts [options] -- "<text>"), or pass it with -f FILE or on stdin',
  );
  assert.deepEqual(parseCli(spec, ["--", "-- why\nselect 1"]).positionals, ["-- why\nselect 1"]);
  assert.equal(parseCli(spec, ["--message=two words", "x"]).values.message, "two words");
  assert.equal(parseCli(spec, ["--message=- a list item", "x"]).values.message, "- a list item");
  assert.throws(
    () => parseCli(spec, ["--message", "- a list item", "x"]),
    /The value given to --message starts with "-"; write it as --message=<value>/,
  );
  assert.throws(() => parseCli(spec, ["--frob"]), /Unknown option "--frob"/);
});

Deno.test("one limit option: [limit] after the script's own positionals, or --limit N", () => {
  const spec = {
    name: "t",
    usage: "",
    formats: ["json" as const],
    positionals: { min: 0, max: 1 },
    limit: { fallback: 20 },
  };
  assert.deepEqual(
    [parseCli(spec, []).limit, parseCli(spec, []).positionals],
    [20, []],
  );
  assert.deepEqual(
    [parseCli(spec, ["5"]).limit, parseCli(spec, ["5"]).positionals],
    [20, ["5"]],
    "one positional is the script's own",
  );
  assert.deepEqual(
    [parseCli(spec, ["5", "7"]).limit, parseCli(spec, ["5", "7"]).positionals],
    [7, ["5"]],
  );
  assert.equal(parseCli(spec, ["5", "--limit", "9"]).limit, 9);
  assert.equal(parseCli(spec, ["--limit=9"]).limit, 9);
  assert.throws(
    () => parseCli(spec, ["5", "7", "--limit", "9"]),
    (e: unknown) =>
      e instanceof UsageError && /Give the limit once, as \[limit\] or --limit N/.test(e.message),
  );
  assert.throws(() => parseCli(spec, ["5", "7", "8"]), /Unexpected argument "8"/);
  for (const bad of ["0", "-1", "2.5", "10001", "1; drop table t", ""]) {
    assert.throws(() => parseCli(spec, ["--limit", bad]), UsageError, bad);
  }
  assert.equal(parseCli({ ...spec, limit: undefined }, ["5"]).limit, 0);
  assert.throws(() => parseCli({ ...spec, limit: undefined }, ["--limit", "3"]), UsageError);
});

Deno.test("DB_DEBUG=1 adds the stack trace after the one error line; without it there is none", async () => {
  // A URL nothing listens on: the failure comes from deep in the connection layer.
  const env = { DB_URL: "postgresql://u@127.0.0.1:1/db?connect_timeout=2" };
  const plain = await runSkillScript("pg_version.ts", [], { env });
  const debug = await runSkillScript("pg_version.ts", [], { env: { ...env, DB_DEBUG: "1" } });
  assert.equal(plain.code, 1, plain.stderr);
  assert.equal(debug.code, 1, debug.stderr);
  assert.ok(isOneLineError(plain.stderr), plain.stderr);
  const [first, ...rest] = debug.stderr.trim().split("\n");
  assert.equal(first, plain.stderr.trim());
  assert.ok(
    rest.some((line) => /^\s+at .*lib\/connection\/.*\.ts:\d+:\d+/.test(line)),
    debug.stderr,
  );
});
