/**
 * The project root and `postgres.toml`: where it is, loading and validating
 * it, profiles, and edits that keep the user's file as it was except for the
 * one value being changed.
 *
 * @module
 */
import { parse, TomlError } from "smol-toml";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { note, SkillError, UsageError } from "./cli.ts";
import { withFileLock, writeFileAtomic } from "./files.ts";

/** The TOML schema version this skill reads and writes. */
export const SCHEMA_VERSION = 1;

/** Where the profiles file lives, relative to the project root. */
export const TOML_RELATIVE_PATH = ".skills/postgres/postgres.toml";

/** Profile names: lowercase letters, digits and underscores. */
export const PROFILE_NAME = /^[a-z0-9_]+$/;

/** The profile used when `DB_PROFILE` is not set. */
export const DEFAULT_PROFILE = "local";

/** The skill's own folder (the one holding `scripts/` and `lib/`). */
export function skillRoot(): string {
  return dirname(dirname(new URL(import.meta.url).pathname));
}

/** The project root and how it was found. */
export interface ProjectRoot {
  path: string;
  source: "DB_PROJECT_ROOT" | "PROJECT_ROOT" | "git" | "cwd" | "skill folder";
}

/**
 * Finds the project root: `DB_PROJECT_ROOT`, then `PROJECT_ROOT`, then the git
 * top level of the working directory, then the working directory. A root
 * inside the skill's own folder means the project holding it when the skill
 * is installed as `<project>/.skills/<name>`, and is refused otherwise: the
 * profiles belong to the project, not to the skill.
 *
 * Under `deno task` the working directory is the skill folder; the directory
 * the task was started from is in `INIT_CWD`, and that is what counts.
 */
export function findProjectRoot(): ProjectRoot {
  for (const name of ["DB_PROJECT_ROOT", "PROJECT_ROOT"] as const) {
    const value = Deno.env.get(name);
    if (value) return { path: resolve(value), source: name };
  }
  const cwd = resolve(Deno.env.get("INIT_CWD") || Deno.cwd());
  const git = gitTopLevel(cwd);
  const root: ProjectRoot = git ? { path: git, source: "git" } : { path: cwd, source: "cwd" };
  const skill = skillRoot();
  if (isInside(root.path, skill)) {
    // Run from the skill's own folder (a clone has its own .git, a copy has
    // none): when the skill sits where it is installed, <project>/.skills/<name>,
    // the project is the folder holding .skills, either way.
    if (basename(dirname(skill)) === ".skills") {
      return { path: dirname(dirname(skill)), source: "skill folder" };
    }
    throw new SkillError(
      `The project root resolved to "${root.path}", inside the skill's own folder; ` +
        `run from your project's root or set DB_PROJECT_ROOT=/path/to/project`,
    );
  }
  return root;
}

function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** The nearest folder at or above `start` holding `.git` (a folder or a worktree file). */
function gitTopLevel(start: string): string | undefined {
  let dir = start;
  while (true) {
    try {
      Deno.statSync(join(dir, ".git"));
      return dir;
    } catch {
      // Not here; go up.
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The path of `postgres.toml` for a project root. */
export function tomlPathFor(projectRoot: string): string {
  return join(projectRoot, TOML_RELATIVE_PATH);
}

/** A TOML table as smol-toml returns it. */
export type TomlTable = Record<string, unknown>;

/** A loaded, validated `postgres.toml`. */
export interface LoadedConfig {
  path: string;
  text: string;
  data: TomlTable;
}

/** Reads and parses a TOML file; a syntax error names its line and column. */
export async function readToml(path: string): Promise<{ text: string; data: TomlTable }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new SkillError(
        `No postgres.toml at "${path}"; copy postgres.toml.example there ` +
          `(or run bootstrap_profile.ts), or set DB_URL for a one-off connection`,
      );
    }
    throw new SkillError(`Cannot read "${path}": ${(error as Error).message}`);
  }
  try {
    return { text, data: parse(text) as TomlTable };
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
      throw new SkillError(
        `"${path}" is not valid TOML at line ${error.line}, column ${error.column}: ${reason}; fix the file`,
      );
    }
    throw error;
  }
}

/** Parses TOML text that this skill produced itself (a template, an edit). */
export function parseConfigText(text: string): { text: string; data: TomlTable } {
  return { text, data: parse(text) as TomlTable };
}

/**
 * Loads `postgres.toml` and checks `[configuration] schema_version`: missing
 * means a pre-1 file that must be migrated first; newer than
 * {@linkcode SCHEMA_VERSION} means a newer skill wrote it.
 */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  const { text, data } = await readToml(path);
  const configuration = asTable(data.configuration);
  const version = configuration?.schema_version;
  if (version === undefined) {
    throw new SkillError(
      `"${path}" has no [configuration] schema_version, so it predates schema 1; ` +
        `upgrade it with migrate_toml_schema.ts`,
    );
  }
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    throw new SkillError(
      `"${path}" has schema_version = ${
        JSON.stringify(version)
      }; it must be the integer ${SCHEMA_VERSION}`,
    );
  }
  if (version > SCHEMA_VERSION) {
    throw new SkillError(
      `"${path}" has schema_version = ${version}, newer than this skill reads (${SCHEMA_VERSION}); update the skill`,
    );
  }
  return { path, text, data };
}

/** `value` as a TOML table, or undefined when it is not one. */
export function asTable(value: unknown): TomlTable | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
      !(value instanceof Date)
    ? value as TomlTable
    : undefined;
}

/**
 * What a TOML value is, for an error about it: its kind, never its content
 * (the value may be a password written as a number, or in an array).
 */
function typeName(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  if (value !== null && typeof value === "object") return "a table";
  return `a ${typeof value}`;
}

/** The settings of one profile after `[database]` defaults are applied. */
export interface ProfileSettings {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  sslmode?: boolean;
  url?: string;
  project?: string;
  description?: string;
  migrations_path?: string;
}

/** Names of the `[database.<profile>]` tables, in file order. */
export function profileNames(config: LoadedConfig): string[] {
  const database = asTable(config.data.database) ?? {};
  return Object.keys(database).filter((key) => asTable(database[key]) !== undefined);
}

/**
 * The settings of profile `name`: `[database]` keys are defaults, the
 * profile's own keys override them. Checks the types of the known keys.
 */
export function profileSettings(config: LoadedConfig, name: string): ProfileSettings {
  if (!PROFILE_NAME.test(name)) {
    throw new UsageError(
      `Invalid profile name "${name}"; use lowercase letters, digits and underscores only`,
    );
  }
  const database = asTable(config.data.database) ?? {};
  const profile = asTable(database[name]);
  if (!profile) {
    const names = profileNames(config);
    throw new SkillError(
      `No profile "${name}" in "${config.path}"; ` +
        (names.length
          ? `profiles: ${names.join(", ")}`
          : "it defines no [database.<name>] profile") +
        `; set DB_PROFILE to one of them or add [database.${name}]`,
    );
  }
  for (const other of profileNames(config)) {
    if (!PROFILE_NAME.test(other)) {
      throw new SkillError(
        `Invalid profile name "${other}" in "${config.path}"; rename [database.${other}] ` +
          `using lowercase letters, digits and underscores only`,
      );
    }
  }
  const merged: TomlTable = {};
  for (const [key, value] of Object.entries(database)) {
    if (asTable(value) === undefined) merged[key] = value;
  }
  Object.assign(merged, profile);
  const where = `[database.${name}] in "${config.path}"`;
  const settings: ProfileSettings = {};
  for (const key of ["host", "user", "password", "database", "url", "project", "description"]) {
    const value = merged[key];
    if (value === undefined) continue;
    if (typeof value !== "string") {
      throw new SkillError(`"${key}" must be a string in ${where}, got ${typeName(value)}`);
    }
    (settings as Record<string, unknown>)[key] = value;
  }
  if (merged.migrations_path !== undefined) {
    if (typeof merged.migrations_path !== "string") {
      throw new SkillError(`"migrations_path" must be a string in ${where}`);
    }
    settings.migrations_path = merged.migrations_path;
  }
  if (merged.port !== undefined) {
    const port = typeof merged.port === "string" && /^\d+$/.test(merged.port)
      ? Number(merged.port)
      : merged.port;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new SkillError(
        `"port" must be an integer from 1 to 65535 in ${where}, got ${typeName(merged.port)}`,
      );
    }
    settings.port = port;
  }
  if (merged.sslmode !== undefined) {
    if (typeof merged.sslmode !== "boolean") {
      throw new SkillError(
        `"sslmode" must be true or false in ${where}, got ${typeName(merged.sslmode)}; ` +
          `put other libpq modes in the profile's url (?sslmode=verify-full)`,
      );
    }
    settings.sslmode = merged.sslmode;
  }
  return settings;
}

/**
 * Reads the spellings of an SSL on/off switch: true/false, require/disable,
 * yes/no, on/off, 1/0, enable/disable (case-insensitive). Undefined for
 * anything else.
 */
export function parseSslSwitch(text: string): boolean | undefined {
  const word = text.trim().toLowerCase();
  if (["true", "require", "required", "yes", "on", "1", "enable", "enabled"].includes(word)) {
    return true;
  }
  if (["false", "disable", "disabled", "no", "off", "0"].includes(word)) return false;
  return undefined;
}

/** A TOML literal for a string, boolean or number value. */
export function tomlLiteral(value: string | boolean | number): string {
  if (typeof value === "string") {
    return JSON.stringify(value).replace(/[\u007f]/g, "\\u007f");
  }
  return String(value);
}

interface HeaderLine {
  index: number;
  path: string[];
}

/** Splits a table header's key path: `database . "local"` -> ["database", "local"]. */
function headerPath(inner: string): string[] | undefined {
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/y;
  let match: RegExpExecArray | null;
  let offset = 0;
  while (offset < inner.length && (match = re.exec(inner)) !== null) {
    const quoted = match[1] !== undefined ? JSON.parse(`"${match[1]}"`) as string : undefined;
    parts.push(quoted ?? match[2] ?? match[3]);
    offset = re.lastIndex;
    if (match[4] === "") break;
  }
  return offset >= inner.length ? parts : undefined;
}

function findHeaders(lines: string[]): HeaderLine[] {
  const headers: HeaderLine[] = [];
  lines.forEach((line, index) => {
    const m = line.match(/^\s*\[(?!\[)([^\]]*)\]\s*(?:#.*)?$/);
    const path = m ? headerPath(m[1].trim()) : undefined;
    if (path) headers.push({ index, path });
  });
  return headers;
}

/** Where a value ends on its line, so that a trailing comment can be kept. */
function valueEnd(rest: string): number {
  if (rest.startsWith('"')) {
    for (let i = 1; i < rest.length; i++) {
      if (rest[i] === "\\") i++;
      else if (rest[i] === '"') return i + 1;
    }
    return rest.length;
  }
  if (rest.startsWith("'")) {
    const close = rest.indexOf("'", 1);
    return close === -1 ? rest.length : close + 1;
  }
  const hash = rest.indexOf("#");
  const value = hash === -1 ? rest : rest.slice(0, hash);
  return value.trimEnd().length;
}

/**
 * Sets `key = value` in table `section` (e.g. `["database", "local"]`) of the
 * TOML text, touching nothing else: an existing value is replaced in place
 * (keeping its trailing comment), a new key goes after the section's last
 * entry, a missing section is appended. Returns the new text.
 */
export function setTomlValue(
  text: string,
  section: string[],
  key: string,
  value: string | boolean | number,
): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text.split(/\r?\n/);
  const headers = findHeaders(lines);
  const literal = tomlLiteral(value);
  const at = headers.findIndex((h) => h.path.join("\u0000") === section.join("\u0000"));
  if (at === -1) {
    const header = `[${
      section.map((p) => PROFILE_NAME.test(p) ? p : JSON.stringify(p)).join(".")
    }]`;
    if (section.length === 1 && section[0] === "configuration") {
      // The file's own settings read best first: after its opening comments,
      // unless top-level keys come before the first table.
      // The opening comment block (up to its first blank line) stays on top;
      // a comment that runs straight into the first table belongs to it.
      const firstHeader = headers[0]?.index ?? lines.length;
      const hasTopLevelKeys = lines.slice(0, firstHeader).some((l) => !/^\s*(#.*)?$/.test(l));
      if (!hasTopLevelKeys) {
        let top = 0;
        while (top < firstHeader && /^\s*#/.test(lines[top])) top++;
        if (top >= firstHeader || lines[top]?.trim() !== "") top = 0;
        else top++;
        lines.splice(top, 0, header, `${key} = ${literal}`, "");
        return lines.join(eol);
      }
    }
    const body = lines.join(eol).replace(/(\r?\n)*$/, "");
    return `${body}${body ? eol + eol : ""}${header}${eol}${key} = ${literal}${eol}`;
  }
  const start = headers[at].index + 1;
  const end = at + 1 < headers.length ? headers[at + 1].index : lines.length;
  const keyPattern = new RegExp(`^(\\s*(?:${key}|"${key}"|'${key}')\\s*=\\s*)(.*)$`);
  for (let i = start; i < end; i++) {
    const m = lines[i].match(keyPattern);
    if (!m) continue;
    const rest = m[2];
    const cut = valueEnd(rest);
    const tail = rest.slice(cut);
    const spacer = tail.startsWith("#") ? " " : "";
    lines[i] = `${m[1]}${literal}${spacer}${tail}`;
    return lines.join(eol);
  }
  let insertAt = start;
  for (let i = start; i < end; i++) {
    const trimmed = lines[i].trim();
    if (trimmed !== "" && !trimmed.startsWith("#")) insertAt = i + 1;
  }
  lines.splice(insertAt, 0, `${key} = ${literal}`);
  return lines.join(eol);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return Object.is(a, b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length &&
    ka.every((k) => deepEqual((a as TomlTable)[k], (b as TomlTable)[k]));
}

/** Removes the line `key = ...` from table `section` of the TOML text; unchanged if absent. */
export function removeTomlKey(text: string, section: string[], key: string): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text.split(/\r?\n/);
  const headers = findHeaders(lines);
  const at = headers.findIndex((h) => h.path.join("\u0000") === section.join("\u0000"));
  if (at === -1) return text;
  const end = at + 1 < headers.length ? headers[at + 1].index : lines.length;
  const keyPattern = new RegExp(`^(\\s*)(?:${key}|"${key}"|'${key}')\\s*=\\s*(.*)$`);
  for (let i = headers[at].index + 1; i < end; i++) {
    const m = lines[i].match(keyPattern);
    if (!m) continue;
    // The user's trailing comment outlives the value it described.
    const comment = m[2].slice(valueEnd(m[2])).trim();
    if (comment.startsWith("#")) lines[i] = `${m[1]}${comment}`;
    else lines.splice(i, 1);
    return lines.join(eol);
  }
  return text;
}

/** One change to a TOML document: set a value, or remove a key. */
export type TomlEdit =
  | { section: string[]; key: string; value: string | boolean | number }
  | { section: string[]; key: string; remove: true };

/** Applies edits to TOML text, touching nothing else (see {@linkcode setTomlValue}). */
export function applyTomlEdits(text: string, edits: TomlEdit[]): string {
  let out = text;
  for (const edit of edits) {
    out = "remove" in edit
      ? removeTomlKey(out, edit.section, edit.key)
      : setTomlValue(out, edit.section, edit.key, edit.value);
  }
  return out;
}

/** The parsed document `data` as it should be after `edits`. */
function expectedAfter(data: TomlTable, edits: TomlEdit[]): TomlTable {
  const expected = structuredClone(data);
  for (const edit of edits) {
    let table: TomlTable = expected;
    for (const part of edit.section) {
      table[part] = asTable(table[part]) ?? {};
      table = table[part] as TomlTable;
    }
    if ("remove" in edit) delete table[edit.key];
    else table[edit.key] = edit.value;
  }
  return expected;
}

/**
 * Edits TOML text and checks the result by parsing it: it must equal the old
 * document with exactly these edits applied, or an error says what to set by
 * hand. Returns the new text.
 */
export function editTomlText(
  path: string,
  text: string,
  data: TomlTable,
  edits: TomlEdit[],
): string {
  const updated = applyTomlEdits(text, edits);
  let reparsed: unknown;
  try {
    reparsed = parse(updated);
  } catch {
    reparsed = undefined;
  }
  if (!deepEqual(reparsed, expectedAfter(data, edits))) {
    const wanted = edits.map((e) =>
      "remove" in e
        ? `remove ${e.key} from [${e.section.join(".")}]`
        : `set ${e.key} = ${tomlLiteral(e.value)} under [${e.section.join(".")}]`
    ).join("; ");
    throw new SkillError(`Could not edit "${path}" safely; ${wanted} by hand`);
  }
  return updated;
}

/**
 * Changes one value of a TOML file on disk, keeping comments, order and every
 * other key; the result is verified (see {@linkcode editTomlText}) and written
 * whole with mode 0600. A file that does not parse is never rewritten.
 */
export async function updateTomlFile(
  path: string,
  section: string[],
  key: string,
  value: string | boolean | number,
): Promise<{ previous: unknown }> {
  return await editTomlFile(path, (text, data) => {
    let previous: unknown = data;
    for (const name of [...section, key]) previous = asTable(previous)?.[name];
    return {
      text: editTomlText(path, text, data, [{ section, key, value }]),
      result: { previous },
    };
  });
}

/**
 * Reads, edits and writes a profiles file as one step, holding its lock
 * throughout, so that concurrent writers each see the other's change. `edit`
 * gets the text and its parsed data, and returns the new text (or undefined
 * to write nothing) and a result for the caller.
 */
export async function editTomlFile<T>(
  path: string,
  edit: (text: string, data: TomlTable) => { text: string | undefined; result: T },
): Promise<T> {
  return await withFileLock(path, async () => {
    const { text, data } = await readToml(path);
    const outcome = edit(text, data);
    if (outcome.text !== undefined && outcome.text !== text) {
      await writeTomlFile(path, outcome.text);
    }
    return outcome.result;
  });
}

/**
 * Writes a profiles file whole (mode 0600) and warns when git would not
 * ignore it: it holds passwords. The check runs only where the script may run
 * git (`--allow-run=git`).
 */
export async function writeTomlFile(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text);
  const warning = await gitIgnoreWarning(path);
  if (warning) note(warning);
}

/**
 * A warning when `path` sits in a git work tree that does not ignore it;
 * undefined when it is ignored, not in a repository, or git may not be run.
 */
export async function gitIgnoreWarning(path: string): Promise<string | undefined> {
  const permission = await Deno.permissions.query({ name: "run", command: "git" });
  if (permission.state !== "granted") return undefined;
  try {
    const result = await new Deno.Command("git", {
      args: ["check-ignore", "-q", path],
      cwd: dirname(path),
      stdout: "null",
      stderr: "null",
    }).output();
    if (result.code !== 1) return undefined; // 0: ignored; 128: not a repository
    return `warning: "${path}" holds passwords and is not git-ignored; ` +
      `add ${TOML_RELATIVE_PATH} to your project's .gitignore`;
  } catch {
    return undefined; // git is not installed
  }
}

/** What migrating a file to schema 1 will change, in words and as edits. */
export interface MigrationPlan {
  /** The version the file is at (0 when it has no schema_version). */
  fromVersion: number;
  edits: TomlEdit[];
  changes: string[];
}

const LIBPQ_SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/** `url` with its query parameter `sslmode` set to `mode`. */
function urlWithSslMode(url: string, mode: string): string {
  const [base, query = ""] = url.split(/\?(.*)/s, 2);
  const params = query.split("&").filter((p) => p !== "" && !/^sslmode=/.test(p));
  params.push(`sslmode=${mode}`);
  return `${base}?${params.join("&")}`;
}

/**
 * Plans the upgrade of a pre-1 file to schema 1: `[configuration]
 * schema_version = 1`; every `sslmode` made a boolean (true/false, require/
 * disable, yes/no, on/off, 1/0 and their quoted forms); a libpq mode that is
 * neither (prefer, allow, verify-ca, verify-full) moved into the profile's url
 * query (a `postgresql://?sslmode=...` url when the profile has none, which
 * overrides nothing else); `pg_bin_path` set to `pgBinPath` when missing.
 * Throws when the file is newer than schema 1, when an sslmode is no libpq
 * mode at all, or when pg_bin_path is missing and no client tools were found.
 */
export function planMigration(
  path: string,
  data: TomlTable,
  pgBinPath: string | undefined,
): MigrationPlan {
  const configuration = asTable(data.configuration) ?? {};
  const version = configuration.schema_version;
  if (typeof version === "number" && version > SCHEMA_VERSION) {
    throw new SkillError(
      `"${path}" has schema_version = ${version}, newer than this skill knows (${SCHEMA_VERSION}); update the skill`,
    );
  }
  const fromVersion = typeof version === "number" ? version : 0;
  const edits: TomlEdit[] = [];
  const changes: string[] = [];
  if (fromVersion === SCHEMA_VERSION) return { fromVersion, edits, changes };

  const database = asTable(data.database) ?? {};
  const profiles = Object.keys(database).filter((k) => asTable(database[k]) !== undefined);
  const moveToUrl = (name: string, mode: string) => {
    const profile = asTable(database[name])!;
    const url = typeof profile.url === "string" ? profile.url : "postgresql://";
    if (typeof profile.url === "string" && /[?&]sslmode=/.test(profile.url)) return;
    edits.push({ section: ["database", name], key: "url", value: urlWithSslMode(url, mode) });
    changes.push(`[database.${name}]: sslmode "${mode}" moved into url`);
  };
  const normalise = (section: string[], raw: unknown): void => {
    const where = `[${section.join(".")}]`;
    if (raw === undefined || typeof raw === "boolean") return;
    const text = String(raw);
    const flag = parseSslSwitch(text);
    if (flag !== undefined) {
      edits.push({ section, key: "sslmode", value: flag });
      changes.push(`${where}: sslmode ${JSON.stringify(raw)} -> ${flag}`);
      return;
    }
    const mode = text.trim().toLowerCase();
    if (!LIBPQ_SSL_MODES.includes(mode)) {
      throw new SkillError(
        `sslmode ${JSON.stringify(raw)} in ${where} of "${path}" is not an SSL mode; ` +
          `set it to true or false by hand and run the migration again`,
      );
    }
    if (section.length === 1) {
      // A default for every profile: each profile without its own sslmode
      // keeps the mode through its url; the default becomes false.
      edits.push({ section, key: "sslmode", value: false });
      changes.push(`${where}: sslmode "${mode}" -> false (kept per profile in url)`);
      for (const name of profiles) {
        if (asTable(database[name])!.sslmode === undefined) moveToUrl(name, mode);
      }
    } else {
      edits.push({ section, key: "sslmode", remove: true });
      moveToUrl(section[1], mode);
    }
  };
  normalise(["database"], database.sslmode);
  for (const name of profiles) normalise(["database", name], asTable(database[name])!.sslmode);

  if (fromVersion !== SCHEMA_VERSION) {
    edits.unshift({ section: ["configuration"], key: "schema_version", value: SCHEMA_VERSION });
    changes.unshift(`[configuration]: schema_version = ${SCHEMA_VERSION}`);
  }
  if (typeof configuration.pg_bin_path !== "string" || configuration.pg_bin_path === "") {
    if (!pgBinPath) {
      throw new SkillError(
        `No PostgreSQL client tools (psql) found to set [configuration] pg_bin_path in "${path}"; ` +
          `install them or add pg_bin_path by hand, then run the migration again`,
      );
    }
    edits.splice(1, 0, { section: ["configuration"], key: "pg_bin_path", value: pgBinPath });
    changes.splice(1, 0, `[configuration]: pg_bin_path = "${pgBinPath}"`);
  }
  return { fromVersion, edits, changes };
}

/** The migrations folder when nothing names another, relative to the project root. */
export const DEFAULT_MIGRATIONS_PATH = "db/migrations";

/** `DB_MIGRATIONS_PATH` as recorded in the project's AGENTS.md, if it is. */
export async function agentsMigrationsPath(projectRoot: string): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(join(projectRoot, "AGENTS.md"));
    const m = text.match(/^\s*[-*]?\s*`?DB_MIGRATIONS_PATH`?\s*[=:]\s*`?([^`\s]+)`?\s*$/m);
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** Where a migrations path came from. */
export type MigrationsSource = "profile" | "[migrations].path" | "AGENTS.md" | "default";

/**
 * The migrations folder, in the seed's order: the profile's `migrations_path`,
 * `[migrations].path`, `DB_MIGRATIONS_PATH` in AGENTS.md, `db/migrations`.
 * Relative paths resolve from the project root.
 */
/**
 * Checks a migrations folder before anything is written with it (a folder
 * made, a line in AGENTS.md, a TOML value): a path inside the project root,
 * without line breaks, control characters, spaces or backticks (AGENTS.md
 * holds it as one word). Returns it relative to the root.
 */
export function checkMigrationsPath(projectRoot: string, path: string): string {
  if (path.trim() === "") throw new UsageError("The migrations path is empty");
  if ([...path].some((c) => c <= " " || c === "`" || (c >= "\x7f" && c <= "\x9f"))) {
    throw new UsageError(
      `The migrations path ${JSON.stringify(path)} holds a space, a line break, a backtick or ` +
        `a control character; give a plain path relative to the project root`,
    );
  }
  const inside = relative(projectRoot, resolve(projectRoot, path));
  if (inside === "" || inside.startsWith("..") || isAbsolute(inside)) {
    throw new UsageError(
      `The migrations path "${path}" is not inside the project root "${projectRoot}"; ` +
        `give a folder within the project`,
    );
  }
  return inside;
}

export async function resolveMigrationsPath(
  projectRoot: string,
  data: TomlTable | undefined,
  profile: string | undefined,
): Promise<{ path: string; absolute: string; source: MigrationsSource }> {
  const database = asTable(data?.database);
  const own = profile ? asTable(database?.[profile])?.migrations_path : undefined;
  const section = asTable(data?.migrations)?.path;
  const agents = await agentsMigrationsPath(projectRoot);
  const [path, source]: [string, MigrationsSource] = typeof own === "string" && own
    ? [own, "profile"]
    : typeof section === "string" && section
    ? [section, "[migrations].path"]
    : agents
    ? [agents, "AGENTS.md"]
    : [DEFAULT_MIGRATIONS_PATH, "default"];
  return { path, absolute: resolve(projectRoot, path), source };
}

/**
 * Records `DB_MIGRATIONS_PATH=<path>` in AGENTS.md: an existing line is
 * replaced, otherwise a short section is appended; the file is created only
 * when `create` is true. Returns what was done.
 */
export async function recordAgentsMigrationsPath(
  projectRoot: string,
  path: string,
  options: { create: boolean },
): Promise<"replaced" | "appended" | "created" | "missing"> {
  const file = join(projectRoot, "AGENTS.md");
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    text = undefined;
  }
  const line = `DB_MIGRATIONS_PATH=${path}`;
  if (text === undefined) {
    if (!options.create) return "missing";
    await writeFileAtomicMode(file, `# Agent notes\n\n## Database migrations\n\n${line}\n`, 0o644);
    return "created";
  }
  const pattern = /^(\s*[-*]?\s*`?)DB_MIGRATIONS_PATH(`?\s*[=:]\s*`?)[^`\s]+(`?\s*)$/m;
  if (pattern.test(text)) {
    await writeFileAtomicMode(
      file,
      text.replace(pattern, `$1DB_MIGRATIONS_PATH$2${path}$3`),
      0o644,
    );
    return "replaced";
  }
  const joiner = text.endsWith("\n") ? "\n" : "\n\n";
  await writeFileAtomicMode(file, `${text}${joiner}## Database migrations\n\n${line}\n`, 0o644);
  return "appended";
}

/** Adds the profiles file to the project's .gitignore (creating it); false if already listed. */
export async function addToGitignore(projectRoot: string): Promise<boolean> {
  const file = join(projectRoot, ".gitignore");
  let text = "";
  try {
    text = await Deno.readTextFile(file);
  } catch {
    // No .gitignore yet: it is created.
  }
  const listed = text.split(/\r?\n/).some((l) =>
    l.trim().replace(/^\//, "") === TOML_RELATIVE_PATH
  );
  if (listed) return false;
  const joiner = text === "" || text.endsWith("\n") ? "" : "\n";
  await writeFileAtomicMode(file, `${text}${joiner}${TOML_RELATIVE_PATH}\n`, 0o644);
  return true;
}

/** Like {@linkcode writeFileAtomic}, for files that hold no secret (mode as given). */
async function writeFileAtomicMode(path: string, text: string, mode: number): Promise<void> {
  await withFileLock(path, () => writeFileAtomic(path, text, { mode }));
}

/** A new schema-1 profiles file with its [configuration] and [database] defaults. */
export function newConfigText(pgBinPath: string | undefined): string {
  return [
    "# Postgres skill profiles. This file holds passwords: keep it out of git.",
    "# Every key: references/postgres_skill_schema.md in the skill's folder.",
    "",
    "[configuration]",
    `schema_version = ${SCHEMA_VERSION}`,
    ...(pgBinPath ? [`pg_bin_path = ${tomlLiteral(pgBinPath)}`] : []),
    "",
    "[database]",
    "sslmode = false",
    "",
  ].join("\n");
}

/** The keys of a profile that say where and how to connect. */
const CONNECTION_KEYS = ["host", "port", "database", "user", "password", "sslmode", "url"];

/**
 * The edits that make `[database.<name>]` hold exactly these connection
 * settings: given keys are set, connection keys it had but is not given are
 * removed, every other key of the profile stays.
 */
export function profileEdits(
  data: TomlTable,
  name: string,
  settings: ProfileSettings,
): TomlEdit[] {
  const section = ["database", name];
  const existing = asTable(asTable(data.database)?.[name]) ?? {};
  const edits: TomlEdit[] = [];
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    if (existing[key] !== value) edits.push({ section, key, value });
  }
  for (const key of CONNECTION_KEYS) {
    if (existing[key] !== undefined && (settings as TomlTable)[key] === undefined) {
      edits.push({ section, key, remove: true });
    }
  }
  return edits;
}
