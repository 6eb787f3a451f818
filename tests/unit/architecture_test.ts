/**
 * The layers of lib/ as ARCHITECTURE.md draws them, checked on the source: each
 * folder imports only the folders below it, and the terminal (prompts, exit)
 * stays in lib/cli.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve, sep as SEPARATOR } from "node:path";

const LIB = new URL("../../lib/", import.meta.url).pathname;

/** What each folder of lib/ may import, besides itself (ARCHITECTURE.md). */
const MAY_IMPORT: Record<string, string[]> = {
  core: [],
  config: ["core"],
  sql: ["core"],
  connection: ["core", "config", "sql"],
  output: ["core", "connection"],
  migrations: ["core", "config", "sql", "connection"],
  reports: ["core", "sql", "connection", "output"],
  tools: ["core", "config", "sql", "connection"],
  setup: ["core", "config", "connection", "migrations", "tools"],
  cli: ["core", "config", "sql", "connection", "output", "migrations", "reports", "tools", "setup"],
};

/**
 * Every module of lib/, with the layer it belongs to: the folder under lib/
 * that holds it, however deep (lib/reports/doctor/ is the reports layer).
 */
function modules(): { folder: string; file: string; path: string; text: string }[] {
  const found = [];
  for (const folder of Deno.readDirSync(LIB)) {
    assert.ok(folder.isDirectory, `lib/${folder.name} is a file; lib/ holds only layer folders`);
    const pending = [folder.name];
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      for (const entry of Deno.readDirSync(join(LIB, dir))) {
        if (entry.isDirectory) pending.push(join(dir, entry.name));
        if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
        const path = join(LIB, dir, entry.name);
        found.push({
          folder: folder.name,
          file: join(dir, entry.name).slice(folder.name.length + 1),
          path,
          text: Deno.readTextFileSync(path),
        });
      }
    }
  }
  return found;
}

Deno.test("every folder of lib/ is a layer of ARCHITECTURE.md, and it names them all", () => {
  const folders = [...Deno.readDirSync(LIB)].map((entry) => entry.name).sort();
  assert.deepEqual(folders, Object.keys(MAY_IMPORT).sort());
  const architecture = Deno.readTextFileSync(new URL("../../ARCHITECTURE.md", import.meta.url));
  for (const folder of folders) {
    assert.match(architecture, new RegExp("`lib/" + folder + "/`"), `lib/${folder}/ undocumented`);
  }
});

Deno.test("each lib/ module imports only the layers below its own", () => {
  const wrong: string[] = [];
  for (const { folder, file, path, text } of modules()) {
    // Every relative import, resolved: a module in a subfolder reaches the layers by ../../.
    for (const [, specifier] of text.matchAll(/(?:from|import\()\s*"(\.\.?\/[^"]+)"/g)) {
      const target = relative(LIB, resolve(dirname(path), specifier));
      if (target.startsWith("..")) {
        wrong.push(`lib/${folder}/${file} -> ${specifier}, outside lib/`);
        continue;
      }
      const used = target.split(SEPARATOR)[0];
      if (used === folder) continue;
      if (!MAY_IMPORT[folder].includes(used)) wrong.push(`lib/${folder}/${file} -> lib/${used}/`);
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("only lib/cli/ asks on the terminal or ends the process", () => {
  const wrong: string[] = [];
  for (const { folder, file, text } of modules()) {
    if (folder === "cli") continue;
    if (/\bDeno\.exit\(/.test(text)) wrong.push(`lib/${folder}/${file}: Deno.exit`);
    if (/\bDeno\.stdin\b/.test(text)) wrong.push(`lib/${folder}/${file}: reads stdin`);
    if (/from "(?:\.\.\/)+cli\//.test(text)) wrong.push(`lib/${folder}/${file}: imports lib/cli/`);
  }
  assert.deepEqual(wrong, []);
});

Deno.test("every lib/ module says what it is for (@module)", () => {
  const missing = modules().filter(({ text }) => !/@module/.test(text))
    .map(({ folder, file }) => `lib/${folder}/${file}`);
  assert.deepEqual(missing, []);
});

Deno.test("the environment is read in lib/core/environment.ts and lib/cli/ only", () => {
  const wrong = modules()
    .filter(({ folder, file }) => folder !== "cli" && `${folder}/${file}` !== "core/environment.ts")
    .filter(({ text }) => /\bDeno\.env\b/.test(text.replace(/^\s*(\*|\/\/).*$/gm, "")))
    .map(({ folder, file }) => `lib/${folder}/${file}`);
  assert.deepEqual(wrong, []);
});
