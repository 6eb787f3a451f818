import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { commandLineWithV8Flag } from "../../lib/cli/v8_flags.ts";

const CWD = "/home/u/skill";
const SCRIPT = "/home/u/skill/scripts/run_sql.ts";
const MAIN = { mainModule: pathToFileURL(SCRIPT).href, cwd: CWD };
const FLAG = "--liftoff-only";
const V8 = `--v8-flags=${FLAG}`;

Deno.test("commandLineWithV8Flag puts the flag right after 'run'", () => {
  assert.deepEqual(
    commandLineWithV8Flag(["deno", "run", "-A", SCRIPT, "select 1"], FLAG, MAIN),
    ["deno", "run", V8, "-A", SCRIPT, "select 1"],
  );
});

Deno.test("commandLineWithV8Flag keeps global flags before 'run' where they are", () => {
  for (const global of [["-q"], ["--quiet"], ["--log-level=info"], ["--log-level", "info"]]) {
    assert.deepEqual(
      commandLineWithV8Flag(
        ["deno", ...global, "run", "-A", "scripts/run_sql.ts", "x"],
        FLAG,
        MAIN,
      ),
      ["deno", ...global, "run", V8, "-A", "scripts/run_sql.ts", "x"],
    );
  }
});

Deno.test("commandLineWithV8Flag finds the script by relative path, ./ path or file URL", () => {
  for (const arg of ["scripts/run_sql.ts", "./scripts/run_sql.ts", pathToFileURL(SCRIPT).href]) {
    assert.deepEqual(
      commandLineWithV8Flag(["deno", "run", "-A", arg], FLAG, MAIN),
      ["deno", "run", V8, "-A", arg],
    );
  }
});

Deno.test("commandLineWithV8Flag without 'run' puts the flag right before the script", () => {
  assert.deepEqual(
    commandLineWithV8Flag(["deno", "-A", "scripts/run_sql.ts", "run"], FLAG, MAIN),
    ["deno", "-A", V8, "scripts/run_sql.ts", "run"],
  );
});

Deno.test("commandLineWithV8Flag does not restart eval, stdin scripts or remote modules", () => {
  // deno eval "await import('.../run_sql.ts')": the main module is the eval'd code.
  assert.equal(
    undefined,
    commandLineWithV8Flag(
      ["deno", "eval", `await import('${pathToFileURL(SCRIPT).href}')`],
      FLAG,
      { mainModule: pathToFileURL(join(CWD, "$deno$eval.mts")).href, cwd: CWD },
    ),
  );
  // deno run -A - ...: the script came on stdin, which a restart could not read again.
  assert.equal(
    undefined,
    commandLineWithV8Flag(
      ["deno", "run", "-A", "-", "select 1"],
      FLAG,
      { mainModule: pathToFileURL(join(CWD, "$deno$stdin.mts")).href, cwd: CWD },
    ),
  );
  const remote = "https://example.com/scripts/run_sql.ts";
  assert.equal(
    undefined,
    commandLineWithV8Flag(["deno", "run", "-A", remote], FLAG, { mainModule: remote, cwd: CWD }),
  );
});

Deno.test("commandLineWithV8Flag keeps the user's own V8 flags", () => {
  assert.equal(
    undefined,
    commandLineWithV8Flag(
      ["deno", "run", "--v8-flags=--max-old-space-size=99", SCRIPT],
      FLAG,
      MAIN,
    ),
  );
  assert.equal(
    undefined,
    commandLineWithV8Flag(["deno", "run", "--v8-flags", "--foo", SCRIPT], FLAG, MAIN),
  );
});

const RUN_SQL = join(import.meta.dirname!, "..", "..", "scripts", "run_sql.ts");

/** Runs deno with `args` (no database: the SQL is blank, so run_sql stops at usage). */
async function deno(args: string[], stdin: string): Promise<Deno.CommandOutput> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/tmp" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  return await child.output();
}

Deno.test("run_sql started as 'deno -q run' or '--log-level=info run' restarts and runs", async () => {
  for (const global of [["-q"], ["--quiet"], ["--log-level=info"]]) {
    const out = await deno([...global, "run", "-A", RUN_SQL, "-"], "   ");
    // The restarted process read the blank SQL from stdin and said so (Deno did not reject argv).
    assert.equal(new TextDecoder().decode(out.stderr), "run_sql: The SQL holds no statement\n");
    assert.equal(out.code, 2);
  }
});

Deno.test("run_sql imported from 'deno eval' runs without restarting", async () => {
  const code = `await import(${JSON.stringify(pathToFileURL(RUN_SQL).href)})`;
  const out = await deno(["eval", code, "-"], "   ");
  // Not restarted: Deno.args are eval's, so run_sql sees no SQL; what matters is that it ran.
  const stderr = new TextDecoder().decode(out.stderr);
  assert.match(stderr, /^run_sql: /);
  assert.doesNotMatch(stderr, /error: /i);
});
