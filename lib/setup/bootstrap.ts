/**
 * Setting up a profile (what bootstrap_profile.ts asks and decides): settings
 * from a URL or a scan's candidate, their recap with passwords hidden, the
 * connection they stand for, and carrying out the plan: the profile saved,
 * the migrations folder, AGENTS.md and .gitignore.
 *
 * @module
 */
import { join, relative } from "node:path";
import { type Environment, processEnvironment } from "../core/environment.ts";
import { UsageError } from "../core/errors.ts";
import { maskPasswords } from "../core/text.ts";
import {
  editTomlFile,
  newConfigText,
  parseConfigText,
  parseSslSwitch,
  profileEdits,
  type ProfileSettings,
  writeTomlFile,
} from "../config/profiles_file.ts";
import { pathExists, withFileLock } from "../config/files.ts";
import { addToGitignore } from "../config/gitignore.ts";
import { recordAgentsMigrationsPath, resolveMigrationsPath } from "../migrations/folder_path.ts";
import { type ConnectionTarget, SSL_MODES } from "../connection/target.ts";
import { parseConnectionUrl, parsePort } from "../connection/url.ts";
import { profileTarget } from "../connection/resolve.ts";
import { type Candidate, SKIPPED_DIRS } from "./scan.ts";
import { editTomlText, type TomlTable } from "../config/toml_edit.ts";
import { findToolDir } from "../tools/client_tools.ts";

/** A profile's settings in TOML form, the password hidden. */
export function recap(
  name: string,
  fields: Record<string, string | number | boolean | undefined>,
  source?: string,
): string {
  const lines = source ? [`# from ${source}`] : [];
  lines.push(`[database.${name}]`);
  for (
    const key of [
      "host",
      "port",
      "database",
      "user",
      "password",
      "sslmode",
      "url",
      "project",
      "description",
      "migrations_path",
    ]
  ) {
    const value = (fields as Record<string, unknown>)[key];
    if (value === undefined || value === "") continue;
    const shown = key === "password"
      ? "********"
      : key === "url"
      ? maskPasswords(String(value))
      : value;
    lines.push(`${key} = ${typeof shown === "string" ? JSON.stringify(shown) : shown}`);
  }
  return lines.join("\n");
}

/** A name for a new profile: `local` first, then one from the project. */
export function suggestName(project: string | undefined, taken: string[]): string {
  if (!taken.includes("local")) return "local";
  const base = (project ?? "db").toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  return base && !taken.includes(base) ? base : `${base || "db"}_${taken.length + 1}`;
}

/**
 * A found or given sslmode as profile settings: the on/off spellings become the
 * boolean, another libpq mode stays in a query-only url, anything else is dropped.
 */
export function sslSettings(mode: string): ProfileSettings {
  const flag = parseSslSwitch(mode);
  if (flag !== undefined) return { sslmode: flag };
  return (SSL_MODES as readonly string[]).includes(mode)
    ? { url: `postgresql://?sslmode=${mode}` }
    : {};
}

/** Settings from a URL, as profile fields (libpq sslmodes other than on/off stay in the url). */
export function fieldsFromUrl(url: string): ProfileSettings {
  const parsed = parseConnectionUrl(url, "The URL");
  const fields: ProfileSettings = {
    host: parsed.host,
    port: parsed.port,
    database: parsed.database,
    user: parsed.user,
    password: parsed.password,
  };
  return parsed.params.sslmode ? { ...fields, ...sslSettings(parsed.params.sslmode) } : fields;
}

/** The settings that have a value (so that merging never blanks one out). */
export function defined(settings: ProfileSettings): ProfileSettings {
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
}

/** A scan's candidate as profile settings. */
export function fromCandidate(candidate: Candidate | undefined): ProfileSettings {
  if (!candidate) return {};
  const f = candidate.fields;
  const settings: ProfileSettings = {
    host: f.host,
    port: f.port,
    database: f.database,
    user: f.user,
    password: f.password,
    project: candidate.project,
  };
  return f.sslmode ? { ...settings, ...sslSettings(f.sslmode) } : settings;
}

/** True for a server on this machine (loopback or a Unix socket). */
export function isLocalHost(host: string | undefined): boolean {
  return !host || host === "localhost" || host.startsWith("127.") || host === "::1" ||
    host.startsWith("/");
}

/** What a profile set-up will do, decided before anything is written. */
export interface Plan {
  /** The profile's name, the `<name>` of `[database.<name>]`. */
  name: string;
  /** The connection settings to save in the profile. */
  settings: ProfileSettings;
  /**
   * The migrations folder to save as the profile's `migrations_path`, relative
   * to the project root; absent when the folder found without it will do.
   */
  migrationsPath?: string;
  /** Make the migrations folder, which does not exist yet. */
  createMigrationsDir: boolean;
  /** Record `DB_MIGRATIONS_PATH=<folder>` in AGENTS.md. */
  recordAgents: boolean;
  /** Create AGENTS.md when it is missing, to record the folder in. */
  createAgents: boolean;
  /** Add the profiles file to the project's `.gitignore`. */
  gitignore: boolean;
}

/** The connection answers given as options (`--url`, `--host` ...), as typed. */
export interface SettingsGiven {
  /** A connection URL; its parts fill host, port, database, user, password and sslmode. */
  url?: string;
  /** The server's host name or address. */
  host?: string;
  /** The port, as typed. */
  port?: string;
  /** The database. */
  database?: string;
  /** The role. */
  user?: string;
  /** `true` or `false` (other modes go in the URL), as typed. */
  sslmode?: string;
  /** The project the profile belongs to. */
  project?: string;
  /** What the profile is for. */
  description?: string;
}

/**
 * The settings of a profile set up without a terminal: `start` (a scan
 * candidate's, or none), then the URL, then each option given; a password
 * only from the URL or `PGPASSWORD`. Usage errors name the option to fix.
 */
export function settingsFromOptions(
  start: ProfileSettings,
  given: SettingsGiven,
  env: Environment = processEnvironment(),
): ProfileSettings {
  let settings = { ...start };
  if (given.url) settings = { ...settings, ...defined(fieldsFromUrl(given.url)) };
  for (const key of ["host", "database", "user", "project", "description"] as const) {
    if (given[key] !== undefined) settings[key] = given[key];
  }
  if (given.port !== undefined) settings.port = parsePort(given.port, "--port");
  if (given.sslmode !== undefined) {
    const ssl = parseSslSwitch(given.sslmode);
    if (ssl === undefined) {
      throw new UsageError(
        `--sslmode must be true or false, got "${given.sslmode}"; put other modes in --url`,
      );
    }
    settings.sslmode = ssl;
  }
  if (settings.password === undefined && env.PGPASSWORD) settings.password = env.PGPASSWORD;
  settings.host ??= "localhost";
  settings.port ??= 5432;
  const missing = (["database", "user"] as const).filter((k) => !settings[k]);
  if (missing.length) {
    throw new UsageError(
      `Missing ${missing.join(" and ")}; give --url or --${missing.join(" and --")}`,
    );
  }
  return settings;
}

/** The scan candidate numbered `given` (from 1), or a usage error naming `option`. */
export function candidateNumbered(
  candidates: Candidate[],
  given: string,
  option = "--candidate",
): Candidate {
  const n = Number(given);
  if (!/^\d+$/.test(given) || n < 1 || n > candidates.length) {
    throw new UsageError(`${option} must be from 1 to ${candidates.length}, got "${given}"`);
  }
  return candidates[n - 1];
}

/**
 * The `migrations_path` a plan saves for the folder chosen: none when the
 * folder found without one is the same, unless the profile already names it
 * (saving the profile again keeps it).
 */
export function migrationsPathToSave(
  chosen: string,
  found: { path: string; source: string },
): string | undefined {
  return chosen !== found.path || found.source === "profile" ? chosen : undefined;
}

/** Scan candidates as JSON for people and agents: a password shown as `********`. */
export function candidatesForDisplay(candidates: Candidate[]): unknown[] {
  return candidates.map((c) => ({
    ...c,
    fields: { ...c.fields, password: c.fields.password ? "********" : undefined },
  }));
}

/** The settings being set up, with the defaults a profile would give them. */
export function draftTarget(settings: ProfileSettings): ConnectionTarget {
  return profileTarget(
    { host: "localhost", port: 5432, ...settings },
    { session: "diagnostic", describe: "the settings given" },
  );
}

/** Writes the profile into the file (made new when missing); returns the data it was added to. */
export async function saveProfile(
  tomlPath: string,
  name: string,
  settings: ProfileSettings,
): Promise<TomlTable> {
  const edit = (text: string, data: TomlTable) => ({
    text: editTomlText(tomlPath, text, profileEdits(data, name, settings)),
    result: data,
  });
  if (await pathExists(tomlPath)) return await editTomlFile(tomlPath, edit);
  return await withFileLock(tomlPath, async () => {
    const fresh = parseConfigText(newConfigText(findToolDir("psql")));
    await writeTomlFile(tomlPath, edit(fresh.text, fresh.data).text);
    return fresh.data;
  });
}

/**
 * Carries out a plan: the profile saved (the file re-read under its lock),
 * the migrations folder made, AGENTS.md and .gitignore updated as planned;
 * returns a line per thing done.
 */
export async function save(ctx: { root: string; tomlPath: string }, plan: Plan): Promise<string[]> {
  const done: string[] = [];
  const settings: ProfileSettings = { ...plan.settings };
  if (plan.migrationsPath) settings.migrations_path = plan.migrationsPath;
  await Deno.mkdir(join(ctx.root, ".skills", "postgres"), { recursive: true });
  // Read again under the file's lock: another writer may have changed it meanwhile.
  const baseData = await saveProfile(ctx.tomlPath, plan.name, settings);
  done.push(`Saved profile "${plan.name}" to ${ctx.tomlPath}`);
  const migrationsPath = plan.migrationsPath ??
    (await resolveMigrationsPath(ctx.root, baseData, plan.name)).path;
  if (plan.createMigrationsDir) {
    await Deno.mkdir(join(ctx.root, migrationsPath), { recursive: true });
    done.push(`Created the migrations folder ${migrationsPath}`);
  }
  if (plan.recordAgents) {
    const result = await recordAgentsMigrationsPath(ctx.root, migrationsPath, {
      create: plan.createAgents,
    });
    if (result !== "missing") {
      done.push(`AGENTS.md: DB_MIGRATIONS_PATH=${migrationsPath} (${result})`);
    }
  }
  if (plan.gitignore) {
    const added = await addToGitignore(ctx.root);
    done.push(
      added
        ? "Added .skills/postgres/postgres.toml to .gitignore"
        : ".gitignore already lists postgres.toml",
    );
  }
  return done;
}

/** Folders under the project root named `name`, as paths relative to the root. */
export async function findFolders(root: string, name: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(dir: string, depth: number) {
    if (depth > 6 || found.length >= 20) return;
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const e of Deno.readDir(dir)) entries.push(e);
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (!e.isDirectory || SKIPPED_DIRS.has(e.name)) continue;
      const path = join(dir, e.name);
      if (e.name === name) found.push(relative(root, path));
      await walk(path, depth + 1);
    }
  }
  await walk(root, 0);
  return found;
}
