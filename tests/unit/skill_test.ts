/**
 * The skill's own consistency: SKILL.md's index, the scripts, their shebang
 * permissions and the deno tasks stay in step; every script answers --help
 * and refuses unknown flags; the README's test command is what CI runs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runSkillScript, shebangFlags, SKILL_ROOT } from "../support/run.ts";

const DEV_TASKS = new Set(["demo", "bench", "test", "test:unit", "check", "squawk"]);

async function scripts(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(SKILL_ROOT, "scripts"))) {
    if (entry.isFile && entry.name.endsWith(".ts")) names.push(entry.name);
  }
  return names.sort();
}

function indexEntries(skill: string): Map<string, string> {
  const section = skill.split(/^## Script index$/m)[1]?.split(/^## /m)[0] ?? "";
  const entries = new Map<string, string>();
  const re = /^- `([a-z0-9_]+\.ts)`: [\s\S]*?^ {2}- Example:\s+`(.+)`$/gm;
  for (const m of section.matchAll(re)) entries.set(m[1], m[2]);
  return entries;
}

Deno.test("SKILL.md's index lists exactly the scripts, each with an example that runs it", async () => {
  const skill = await Deno.readTextFile(join(SKILL_ROOT, "SKILL.md"));
  assert.match(skill, /^---\nname: postgres\ndescription: .+\n---\n/);
  const entries = indexEntries(skill);
  assert.deepEqual([...entries.keys()].sort(), await scripts());
  for (const [script, example] of entries) {
    // Written for the project root, where the skill is installed as .skills/postgres.
    assert.ok(
      example.includes(`./.skills/postgres/scripts/${script}`),
      `${script} example runs it from the project root: ${example}`,
    );
  }
});

Deno.test("every script has a deno task with exactly its shebang's permissions", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(SKILL_ROOT, "deno.json")));
  const tasks: Record<string, string> = config.tasks;
  const names = await scripts();
  for (const script of names) {
    const flags = await shebangFlags(script);
    // Permissions, and for the scripts that load the WASM SQL parser the V8 flag that
    // keeps its compilation to the baseline tier (a one-shot parse; 60 MB less memory);
    // for schema_introspect the small young generation (lib/cli/v8_flags.ts).
    assert.ok(
      flags.every((f) =>
        f.startsWith("--allow-") || f === "--v8-flags=--liftoff-only" ||
        f === "--v8-flags=--max-semi-space-size=2"
      ),
      `${script}: only permission flags`,
    );
    assert.ok(!flags.includes("-A") && !flags.includes("--allow-all"), `${script}: no -A`);
    const name = script.replace(/\.ts$/, "");
    assert.equal(tasks[name], `deno run ${flags.join(" ")} scripts/${script}`, name);
    const mode = (await Deno.stat(join(SKILL_ROOT, "scripts", script))).mode!;
    assert.ok(mode & 0o100, `${script} is executable`);
  }
  const scriptTasks = Object.keys(tasks).filter((t) => !DEV_TASKS.has(t)).sort();
  assert.deepEqual(scriptTasks, names.map((s) => s.replace(/\.ts$/, "")).sort());
});

Deno.test("every script answers --help (exit 0) and refuses unknown flags (exit 2)", async () => {
  for (const script of await scripts()) {
    const help = await runSkillScript(script, ["--help"]);
    assert.equal(help.code, 0, `${script} --help: ${help.stderr}`);
    assert.match(help.stdout, /^Usage: /, script);
    assert.match(help.stdout, /Example:\n {2}.*\.\/scripts\//, `${script} --help has an example`);
    if (script === "psql_with_ssl_fallback.ts") continue; // psql's flags pass through
    const bad = await runSkillScript(script, ["--no-such-flag"]);
    assert.equal(bad.code, 2, `${script} refuses an unknown flag`);
    assert.match(bad.stderr, /Unknown option "--no-such-flag"/, script);
  }
});

Deno.test("scripts that connect take --profile and --database; the others refuse them", async () => {
  // These never resolve a connection of their own: bootstrap_profile writes profiles (its
  // --profile and --database are what it saves), schema_diff has two sides of its own.
  const own = new Set(["bootstrap_profile.ts", "schema_diff.ts"]);
  for (const script of await scripts()) {
    const source = await Deno.readTextFile(join(SKILL_ROOT, "scripts", script));
    // The script families (lib/cli/sql_report.ts, signal_script.ts, dump_script.ts,
    // top_statements_script.ts) all connect.
    const connects =
      /\bresolveTarget\(|\brun(SqlReport|SignalScript|DumpScript|TopStatementsScript)\(/.test(
        source,
      ) &&
      !own.has(script);
    const help = (await runSkillScript(script, ["--help"])).stdout;
    if (connects) {
      assert.match(help, /^ +--profile NAME /m, `${script} --help lists --profile`);
      assert.match(help, /^ +--database NAME /m, `${script} --help lists --database`);
      continue;
    }
    if (script === "bootstrap_profile.ts") continue;
    const refused = await runSkillScript(script, ["--database", "x"]);
    assert.equal(refused.code, 2, `${script} refuses --database`);
    assert.match(refused.stderr, /Unknown option "--database"/, script);
  }
});

Deno.test("CI runs exactly the README's test command", async () => {
  const readme = await Deno.readTextFile(join(SKILL_ROOT, "README.md"));
  const ci = await Deno.readTextFile(join(SKILL_ROOT, ".ci", "run"));
  const test = readme.match(/^(.*task test.*)$/m)?.[1]?.trim();
  assert.ok(test, "the README gives a test command");
  assert.ok(ci.includes("README.md"), "CI reads the command from the README");
  const demo = readme.match(/^(.*task demo.*)$/m)?.[1]?.trim();
  assert.ok(demo, "the README gives a demo command");
  const lines = readme.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  assert.ok(lines.slice(0, 6).some((l) => l.includes("task demo")), "the README opens with them");
});

Deno.test("postgres.toml.example is a complete, valid schema-1 file with nothing machine-specific", async () => {
  const { loadConfig, profileNames, profileSettings } = await import(
    "../../lib/config/profiles_file.ts"
  );
  const { parseConnectionUrl } = await import("../../lib/connection/url.ts");
  const config = await loadConfig(join(SKILL_ROOT, "postgres.toml.example"));
  assert.equal((config.data.configuration as Record<string, unknown>).schema_version, 1);
  assert.ok(
    !("pg_bin_path" in (config.data.configuration as Record<string, unknown>)),
    "pg_bin_path is found on each machine, not shipped",
  );
  const names = profileNames(config);
  assert.ok(names.includes("local"), "the default profile is there");
  for (const name of names) {
    const settings = profileSettings(config, name);
    if (settings.url) parseConnectionUrl(settings.url, `the url of ${name}`);
    else assert.ok(settings.host && settings.database && settings.user, name);
  }
});
