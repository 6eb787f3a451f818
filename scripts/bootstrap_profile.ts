#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net --allow-run=git
/**
 * Sets up a connection profile: optionally scans the project for the settings
 * it already has, asks for what is missing, tests the connection, and saves
 * the profile (or prints a one-off DB_URL command), the migrations folder and
 * the notes that go with it. Nothing is written before the user says save.
 */
import { join } from "node:path";
import { askSecret, askText, askYesNo, canAsk } from "../lib/cli/prompt.ts";
import { note, shellQuote } from "../lib/core/text.ts";
import { type OptionValues, parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { pathExists } from "../lib/config/files.ts";
import { checkProfileName, PROFILE_NAME } from "../lib/config/profile_name.ts";
import { SkillError, UsageError } from "../lib/core/errors.ts";
import {
  candidateNumbered,
  candidatesForDisplay,
  defined,
  draftTarget,
  fieldsFromUrl,
  findFolders,
  fromCandidate,
  isLocalHost,
  migrationsPathToSave,
  type Plan,
  recap,
  save,
  settingsFromOptions,
  suggestName,
} from "../lib/setup/bootstrap.ts";
import {
  type ProfileSettings,
  ProfilesFileMissing,
  readToml,
} from "../lib/config/profiles_file.ts";
import { gitIgnoreWarning } from "../lib/config/gitignore.ts";
import { checkMigrationsPath, resolveMigrationsPath } from "../lib/migrations/folder_path.ts";
import { findProjectRoot, skillRoot, tomlPathFor } from "../lib/config/project_root.ts";
import { asTable, type TomlTable } from "../lib/config/toml_edit.ts";
import { openSession } from "../lib/connection/connect.ts";
import { parsePort, targetUrl } from "../lib/connection/url.ts";
import { type Candidate, scanProject } from "../lib/setup/scan.ts";

const usage = `Usage: bootstrap_profile.ts [options]

Sets up a profile in <project-root>/.skills/postgres/postgres.toml.

On a terminal it asks, step by step: whether to scan the project for existing
connection settings (.env files, compose files, code and config; dependency,
build and VCS folders, binary and large files, and references like \${VAR} or
process.env.X are skipped) and which candidate to start from; the profile name;
a connection URL or the host, port, database, user and password (typed without
echo); whether to test the connection; whether to save the profile or print a
one-off DB_URL command; the migrations folder (offering to search for it and
to create it); whether to record DB_MIGRATIONS_PATH in AGENTS.md; and whether
to add postgres.toml to .gitignore. Nothing is written before you choose to save.

Without a terminal it never waits for input: give the answers as options.
  --scan                 list what a scan finds (as TOML, passwords hidden) and stop
  --candidate N          start from the Nth scan candidate
  --profile NAME         profile name (default: local, or the candidate's project)
  --url URL              connection URL (fills host, port, database, user, sslmode)
  --host H --port P --database D --user U
  --sslmode true|false   (default false: no SSL, retried with SSL if demanded)
  --project NAME --description TEXT
  --migrations-path P    migrations folder, relative to the project root
  --test                 test the connection before saving
  --save                 write the profile (without it: show it and the DB_URL command)
  --yes                  agree to the rest: replace an existing profile, create the
                         migrations folder
  --agents-md            record DB_MIGRATIONS_PATH in AGENTS.md (creating it if missing)
  --gitignore            add postgres.toml to the project's .gitignore
  --scan-root DIR        folder to scan (default: the project root)
  --json                 JSON output
The password comes from the URL or from PGPASSWORD; it is never printed.
Without a terminal and without any of these options: exit 2.

Example:
  ./scripts/bootstrap_profile.ts`;

const OPTIONS = {
  scan: { type: "boolean" },
  candidate: { type: "string" },
  profile: { type: "string" },
  url: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  database: { type: "string" },
  user: { type: "string" },
  sslmode: { type: "string" },
  project: { type: "string" },
  description: { type: "string" },
  "migrations-path": { type: "string" },
  test: { type: "boolean" },
  save: { type: "boolean" },
  yes: { type: "boolean" },
  "agents-md": { type: "boolean" },
  gitignore: { type: "boolean" },
  "scan-root": { type: "string" },
} as const;

type Values = OptionValues<typeof OPTIONS>;

await runScript("bootstrap_profile", async () => {
  const { values, format } = parseCli({
    name: "bootstrap_profile",
    usage,
    connects: false,
    formats: ["json"],
    options: OPTIONS,
  }, Deno.args);
  const answersGiven = (Object.keys(OPTIONS) as (keyof typeof OPTIONS)[]).some((k) =>
    k !== "scan-root" && values[k] !== undefined
  );
  const interactive = !answersGiven && canAsk();
  if (!interactive && !answersGiven) {
    throw new UsageError(
      "No terminal to ask on; give the answers as options (e.g. --profile local --url ... --save), " +
        "or --scan to list what the project holds; see --help",
    );
  }
  const root = findProjectRoot().path;
  const tomlPath = tomlPathFor(root);
  let existing: { text: string; data: TomlTable } | undefined;
  try {
    existing = await readToml(tomlPath);
  } catch (error) {
    if (!(error instanceof ProfilesFileMissing)) throw error;
  }
  const taken = Object.keys(asTable(existing?.data.database) ?? {}).filter((k) =>
    asTable(asTable(existing?.data.database)?.[k]) !== undefined
  );
  return interactive
    ? await runInteractive({ root, tomlPath, existing, taken })
    : await runWithOptions({ root, tomlPath, existing, taken, values, format });
});

interface Context {
  root: string;
  tomlPath: string;
  existing?: { text: string; data: TomlTable };
  taken: string[];
}

async function scanAndShow(scanRoot: string): Promise<Candidate[]> {
  const candidates = await scanProject(scanRoot);
  if (candidates.length === 0) {
    note(`The scan of "${scanRoot}" found no connection settings.`);
  }
  candidates.forEach((c, i) => {
    console.log(`\n# ${i + 1})`);
    const name = c.project.toLowerCase().replace(/[^a-z0-9_]+/g, "_");
    console.log(recap(name, { ...fromCandidate(c) }, c.source));
  });
  return candidates;
}

async function runInteractive(ctx: Context): Promise<number> {
  const candidate = await askCandidate(ctx);
  const settings = fromCandidate(candidate);
  const name = await askName(ctx, settings);
  await askConnection(settings);
  console.log(`\n${recap(name, { ...settings })}\n`);
  if (await askYesNo("Test the connection now?", true)) await testConnection(settings);
  if (!(await askYesNo(`Save profile "${name}" to ${ctx.tomlPath}?`, true))) {
    printOneOff(settings);
    return 0;
  }
  const migrations = await askMigrationsFolder(ctx, name);
  const plan: Plan = { name, settings, ...migrations, ...await askNotes(ctx, migrations.folder) };
  const done = await save(ctx, plan);
  done.forEach((line) => console.log(line));
  return 0;
}

/** The scan candidate to start from, if the user scans and picks one. */
async function askCandidate(ctx: Context): Promise<Candidate | undefined> {
  if (!(await askYesNo("Scan the project for existing connection settings?", !ctx.existing))) {
    return undefined;
  }
  const candidates = await scanAndShow(await askText("Folder to scan", ctx.root));
  while (candidates.length) {
    const pick = await askText(`Start from candidate (1-${candidates.length}, empty for none)`, "");
    if (pick === "") return undefined;
    try {
      return candidateNumbered(candidates, pick, "The answer");
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      note(error.message);
    }
  }
  return undefined;
}

/** The profile's name; an existing one only when the user agrees to replace it. */
async function askName(ctx: Context, settings: ProfileSettings): Promise<string> {
  let name = "";
  while (!PROFILE_NAME.test(name)) {
    name = await askText(
      "Profile name (lowercase letters, digits, _)",
      suggestName(settings.project, ctx.taken),
    );
  }
  if (
    ctx.taken.includes(name) &&
    !await askYesNo(`Profile "${name}" exists; replace its connection settings?`, false)
  ) {
    throw new SkillError(`Profile "${name}" left as it was; nothing was written`);
  }
  return name;
}

/** Fills `settings` with the connection: a URL, or each field, the password typed unseen. */
async function askConnection(settings: ProfileSettings): Promise<void> {
  const url = await askText("Connection URL (empty to enter the fields)", "");
  if (url) Object.assign(settings, defined(fieldsFromUrl(url)));
  settings.host = await askText("Host", settings.host ?? "localhost");
  const defaultPort = String(settings.port ?? 5432);
  settings.port = undefined;
  while (settings.port === undefined) {
    try {
      settings.port = parsePort(await askText("Port", defaultPort), "The answer");
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      note(error.message);
    }
  }
  settings.database = await askText("Database", settings.database ?? "");
  settings.user = await askText("User", settings.user ?? "");
  if (settings.password === undefined) {
    const password = await askSecret("Password (not shown; empty for none): ");
    settings.password = password === "" ? undefined : password;
  }
  if (settings.sslmode === undefined && settings.url === undefined && !isLocalHost(settings.host)) {
    settings.sslmode = await askYesNo("Does the server require SSL?", false);
  }
  const missing = (["database", "user"] as const).filter((k) => !settings[k]);
  if (missing.length) throw new SkillError(`Missing ${missing.join(" and ")}; nothing was written`);
}

/** The migrations folder: typed, searched for, or created, and what the profile saves of it. */
async function askMigrationsFolder(
  ctx: Context,
  name: string,
): Promise<Pick<Plan, "migrationsPath" | "createMigrationsDir"> & { folder: string }> {
  const found = await resolveMigrationsPath(ctx.root, ctx.existing?.data, name);
  let folder: string;
  while (true) {
    const answer = await askText("Migrations folder (relative to the project root)", found.path);
    try {
      folder = checkMigrationsPath(ctx.root, answer);
      break;
    } catch (error) {
      if (!(error instanceof UsageError || error instanceof SkillError)) throw error;
      note(error.message);
    }
  }
  let createMigrationsDir = false;
  if (!(await pathExists(join(ctx.root, folder)))) {
    if (
      folder !== found.path &&
      await askYesNo(`"${folder}" does not exist; search the project for it?`, true)
    ) {
      const matches = await findFolders(ctx.root, folder.split("/").pop()!);
      matches.forEach((f, i) => console.log(`  ${i + 1}) ${f}`));
      if (matches.length) {
        const pick = await askText(`Use one of them (1-${matches.length}, empty for none)`, "");
        if (/^\d+$/.test(pick) && matches[Number(pick) - 1]) folder = matches[Number(pick) - 1];
      }
    }
    if (!(await pathExists(join(ctx.root, folder)))) {
      createMigrationsDir = await askYesNo(`Create the folder "${folder}"?`, true);
    }
  }
  return { folder, migrationsPath: migrationsPathToSave(folder, found), createMigrationsDir };
}

/** Whether to record the folder in AGENTS.md (creating it) and to ignore the profiles file. */
async function askNotes(
  ctx: Context,
  folder: string,
): Promise<Pick<Plan, "recordAgents" | "createAgents" | "gitignore">> {
  let recordAgents: boolean;
  let createAgents = false;
  if (await pathExists(join(ctx.root, "AGENTS.md"))) {
    recordAgents = await askYesNo(`Record DB_MIGRATIONS_PATH=${folder} in AGENTS.md?`, true);
  } else {
    createAgents = await askYesNo(
      `AGENTS.md does not exist; create it to record DB_MIGRATIONS_PATH=${folder}?`,
      false,
    );
    recordAgents = createAgents;
  }
  let gitignore = false;
  const ignoredWarning = await gitIgnoreWarning(ctx.tomlPath);
  if (ignoredWarning || !(await pathExists(join(ctx.root, ".gitignore")))) {
    gitignore = await askYesNo(`Add .skills/postgres/postgres.toml to .gitignore?`, true);
  }
  return { recordAgents, createAgents, gitignore };
}

async function runWithOptions(
  ctx: Context & { values: Values; format: "table" | "json" | "csv" },
): Promise<number> {
  const { values } = ctx;
  const scanRoot = values["scan-root"] ?? ctx.root;
  if (values.scan && values.candidate === undefined) {
    const candidates = await scanProject(scanRoot);
    if (ctx.format === "json") {
      console.log(JSON.stringify(candidatesForDisplay(candidates), null, 2));
    } else {
      await scanAndShow(scanRoot);
    }
    return 0;
  }
  const start = values.candidate === undefined
    ? {}
    : fromCandidate(candidateNumbered(await scanProject(scanRoot), values.candidate));
  const settings = settingsFromOptions(start, values);
  const name = values.profile ?? suggestName(settings.project, ctx.taken);
  checkProfileName(name, values.profile === undefined ? undefined : "--profile");
  if (values.test) await testConnection(settings);
  if (!values.save) {
    if (ctx.format === "json") {
      console.log(
        JSON.stringify(
          {
            profile: name,
            settings: { ...settings, password: settings.password ? "********" : undefined },
            saved: false,
          },
          null,
          2,
        ),
      );
    } else {
      console.log(recap(name, { ...settings }));
      printOneOff(settings);
    }
    return 0;
  }
  const replace = ctx.taken.includes(name);
  if (replace && !values.yes) {
    throw new SkillError(
      `Profile "${name}" exists in "${ctx.tomlPath}"; pass --yes to replace its connection settings`,
    );
  }
  const defaults = await resolveMigrationsPath(ctx.root, ctx.existing?.data, name);
  const migrationsPath = checkMigrationsPath(
    ctx.root,
    values["migrations-path"] ?? defaults.path,
  );
  const dirExists = await pathExists(join(ctx.root, migrationsPath));
  const plan: Plan = {
    name,
    settings,
    migrationsPath: migrationsPathToSave(migrationsPath, defaults),
    createMigrationsDir: !dirExists && values.yes === true,
    recordAgents: values["agents-md"] === true,
    createAgents: values["agents-md"] === true,
    gitignore: values.gitignore === true,
  };
  const done = await save(ctx, plan);
  if (!dirExists && !plan.createMigrationsDir) {
    done.push(`The migrations folder "${migrationsPath}" does not exist (pass --yes to create it)`);
  }
  if (ctx.format === "json") {
    console.log(JSON.stringify({ profile: name, path: ctx.tomlPath, saved: true, done }, null, 2));
  } else {
    done.forEach((line) => console.log(line));
  }
  return 0;
}

async function testConnection(settings: ProfileSettings): Promise<void> {
  const { session, ssl, sslFallbackUsed } = await openSession(draftTarget(settings));
  await session.close();
  note(`Connection test: ok (${ssl ? "SSL" : "no SSL"})`);
  if (sslFallbackUsed) {
    settings.sslmode = true;
    note("The server demands SSL: the profile will say sslmode = true");
  }
}

function printOneOff(settings: ProfileSettings): void {
  const target = { ...draftTarget(settings), sslFallback: false };
  let url = targetUrl(target);
  if (target.password) {
    url = url.replace(/^postgresql:\/\/([^@]*)@/, "postgresql://$1:<password>@");
  }
  const script = join(skillRoot(), "scripts", "test_connection.ts");
  console.log(`\nOne-off use, nothing saved:\n  DB_URL=${shellQuote(url)} ${shellQuote(script)}`);
  if (target.password) {
    console.log("  (put the password in place of <password>, or leave it out and set PGPASSWORD)");
  }
}
