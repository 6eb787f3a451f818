/**
 * The skill's migration hazards beside squawk's (npm:squawk-cli, a migration
 * linter), on the same corpus (tests/support/hazard_corpus.ts): for each
 * statement, the rules each raises, then which of squawk's rules fired and
 * what the skill says instead. squawk is fetched with npm into a cache folder
 * of its own; it is no dependency of the skill.
 *
 * Usage: deno task squawk
 */
import { join } from "node:path";
import { migrationHazards } from "../lib/migrations/hazards.ts";
import { parseStatements } from "../lib/sql/statements.ts";
import { SAFE, TIMEOUT, TRIGGERS, TYPES } from "../tests/support/hazard_corpus.ts";

const SQUAWK_VERSION = "2.66.0";

/** The squawk binary, installed with npm into a cache folder when missing. */
async function squawkPath(): Promise<string> {
  const home = Deno.env.get("HOME");
  const cache = Deno.uid() === 0 || !home
    ? "/tmp/postgres-skill-squawk"
    : join(home, ".cache", "postgres-skill-squawk");
  const binary = join(cache, "node_modules", ".bin", "squawk");
  if (await Deno.stat(binary).then(() => true, () => false)) return binary;
  await Deno.mkdir(cache, { recursive: true });
  const install = await new Deno.Command("npm", {
    args: ["install", "--prefix", cache, "--no-save", "--silent", `squawk-cli@${SQUAWK_VERSION}`],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!install.success) {
    throw new Error(`npm install squawk-cli failed: ${new TextDecoder().decode(install.stderr)}`);
  }
  return binary;
}

/** The cases: each trigger and each safe form, with the lock_timeout both tools ask for first. */
const cases = [
  ...TRIGGERS.map(([rule, sql]) => ({ expected: rule, sql })),
  ...SAFE.map((sql) => ({ expected: "(safe)", sql })),
  { expected: "lock-timeout-missing", sql: "alter table orders add column a int" },
];

const dir = await Deno.makeTempDir({ prefix: "squawk-compare-" });
try {
  const files = await Promise.all(cases.map(async (c, i) => {
    const file = join(dir, `${String(i).padStart(3, "0")}.sql`);
    const text = c.expected === "lock-timeout-missing" ? `${c.sql};\n` : `${TIMEOUT}${c.sql};\n`;
    await Deno.writeTextFile(file, text);
    return { ...c, file, text };
  }));
  const squawk = await squawkPath();
  const out = await new Deno.Command(squawk, {
    args: ["--reporter", "json", "--pg-version", "13.0", ...files.map((f) => f.file)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const findings = JSON.parse(new TextDecoder().decode(out.stdout) || "[]") as {
    file: string;
    rule_name: string;
  }[];
  const bySquawk = new Map<string, Set<string>>();
  for (const f of findings) {
    bySquawk.set(f.file, (bySquawk.get(f.file) ?? new Set()).add(f.rule_name));
  }
  const squawkRules = new Map<string, Set<string>>(); // squawk rule -> the skill's rules
  console.log(`squawk ${SQUAWK_VERSION} beside the skill, ${files.length} cases\n`);
  for (const f of files) {
    const ours = migrationHazards(await parseStatements(f.text, { tree: true }), {
      columnType: (table, column) => TYPES[`${table}.${column}`],
    }).map((h) => h.rule);
    const theirs = [...(bySquawk.get(f.file) ?? [])].sort();
    for (const rule of theirs) {
      const set = squawkRules.get(rule) ?? new Set<string>();
      for (const r of ours) set.add(r);
      squawkRules.set(rule, set);
    }
    console.log(`${f.sql.split("\n")[0].slice(0, 90)}`);
    console.log(`  skill:  ${ours.join(", ") || "-"}`);
    console.log(`  squawk: ${theirs.join(", ") || "-"}`);
  }
  console.log("\nsquawk's rules that fired, and what the skill raised on the same statements:");
  for (const [rule, ours] of [...squawkRules].sort()) {
    console.log(`  ${rule.padEnd(42)} ${[...ours].join(", ") || "(nothing)"}`);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
