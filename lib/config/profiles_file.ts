/**
 * The profiles file, `postgres.toml`: loading and validating it, the
 * settings of a profile, and changes written under its lock that keep the
 * user's file as it was except for the values changed.
 *
 * @module
 */

import { parse, TomlError } from "smol-toml";
import { note, shellQuote } from "../core/text.ts";
import { SkillError } from "../core/errors.ts";
import { checkProfileName, PROFILE_NAME } from "./profile_name.ts";
import { readResolved, resolveFile, withFileLock, writeFileAtomic } from "./files.ts";
import { gitIgnoreWarning } from "./gitignore.ts";
import { asTable, editTomlText, type TomlEdit, tomlLiteral, type TomlTable } from "./toml_edit.ts";

/** The TOML schema version this skill reads and writes. */
export const SCHEMA_VERSION = 1;

/** There is no profiles file where the project root says it is. */
export class ProfilesFileMissing extends SkillError {
  /** Where the file was looked for. */
  readonly path: string;
  /** The error for a profiles file missing at `path`, saying how to create one. */
  constructor(path: string) {
    super(
      `No postgres.toml at "${path}"; copy postgres.toml.example there ` +
        `(or run bootstrap_profile.ts), or set DB_URL for a one-off connection`,
    );
    this.name = "ProfilesFileMissing";
    this.path = path;
  }
}

/** The profile used when `DB_PROFILE` is not set. */
export const DEFAULT_PROFILE = "local";

/** A loaded, validated `postgres.toml`. */
export interface LoadedConfig {
  /** The file's path, as it was given to {@linkcode loadConfig}. */
  path: string;
  /** The file's text, without a leading byte order mark. */
  text: string;
  /** The parsed TOML document. */
  data: TomlTable;
}

/** A UTF-8 byte order mark, which some Windows editors put at the start of a file. */
const BOM = "\uFEFF";

/**
 * Reads and parses a TOML file; a syntax error names its line and column. A
 * leading byte order mark is set aside (`bom`), so the text parses and edits
 * as any other and the file keeps it when written back.
 */
export async function readToml(
  path: string,
): Promise<{ text: string; data: TomlTable; bom: boolean }> {
  // Only a regular file, read whole and as UTF-8: a FIFO would hang every script, and
  // bytes replaced on reading would be written back by the next edit.
  const resolved = await resolveFile(path);
  const read = await readResolved(resolved);
  if (read === undefined) {
    throw new ProfilesFileMissing(path);
  }
  await warnIfShared(resolved);
  let text = read;
  const bom = text.startsWith(BOM);
  if (bom) text = text.slice(BOM.length);
  try {
    return { text, data: parse(text) as TomlTable, bom };
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

/** Files already warned about in this process: a script may read its file more than once. */
const warnedShared = new Set<string>();

/**
 * Warns (one line on stderr, once per file and process) when the profiles
 * file may be read by its group or others: it holds passwords. The file is
 * left as it is; the warning names the chmod that fixes it. Every write the
 * skill makes leaves it 0600 anyway.
 */
async function warnIfShared(file: { path: string; real: string }): Promise<void> {
  if (Deno.build.os === "windows" || warnedShared.has(file.real)) return;
  let mode: number | null;
  try {
    mode = (await Deno.stat(file.real)).mode;
  } catch {
    return; // Read a moment ago; gone now is for the next step to report.
  }
  if (mode === null || (mode & 0o077) === 0) return;
  warnedShared.add(file.real);
  // chmod follows a symlink to the file itself.
  const path = file.path;
  note(
    `warning: "${path}" holds passwords and can be read by ` +
      `${mode & 0o007 ? "every user of this machine" : "its group"} (mode ` +
      `${(mode & 0o777).toString(8).padStart(4, "0")}); make it private: chmod 600 ` +
      shellQuote(path),
  );
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
  /** The server's host name or address, or a Unix-socket folder. */
  host?: string;
  /** The server's TCP port, 1 to 65535. */
  port?: number;
  /** The role to connect as. */
  user?: string;
  /** The user's password; without it `PGPASSWORD` or `~/.pgpass` is used. */
  password?: string;
  /** The database to connect to. */
  database?: string;
  /**
   * True requires SSL; false connects without it, retrying once with SSL when
   * the server demands it. Other libpq modes go in `url`.
   */
  sslmode?: boolean;
  /** A `postgresql://` URL whose parts override the keys above. */
  url?: string;
  /** The name of the project the database belongs to, for people reading the file. */
  project?: string;
  /** A line saying what the database is, for people reading the file. */
  description?: string;
  /** The profile's migrations folder; a relative path resolves from the project root. */
  migrations_path?: string;
  /** The role for read-only work (see {@linkcode READER_KEYS}). */
  readonly_user?: string;
  /** Its password; without it `PGPASSWORD` or `~/.pgpass` is used, as for `user`. */
  readonly_password?: string;
  /** The reader's user and password as a URL, instead of the two keys above. */
  readonly_url?: string;
}

/**
 * The keys that name a profile's reader role, the role read-only sessions
 * connect as. They belong to one profile's own table only: `[database]`
 * defaults would give every profile (local, staging, production) the same
 * role and password, and TOML has no way for a profile to unset a default.
 */
export const READER_KEYS = ["readonly_user", "readonly_password", "readonly_url"] as const;

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
  checkProfileName(name);
  const database = asTable(config.data.database) ?? {};
  const profile = asTable(database[name]);
  if (!profile) {
    const names = profileNames(config);
    throw new SkillError(
      `No profile "${name}" in "${config.path}"; ` +
        (names.length
          ? `profiles: ${names.join(", ")}`
          : "it defines no [database.<name>] profile") +
        `; choose one with --profile or DB_PROFILE, or add [database.${name}]`,
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
    if (asTable(value) !== undefined) continue;
    if ((READER_KEYS as readonly string[]).includes(key)) {
      throw new SkillError(
        `"${key}" is set in [database] in "${config.path}", where it would be every profile's ` +
          `default; move it into the table of the profile it belongs to ([database.<profile>])`,
      );
    }
    merged[key] = value;
  }
  Object.assign(merged, profile);
  const where = `[database.${name}] in "${config.path}"`;
  const settings: ProfileSettings = {};
  for (
    const key of ["host", "user", "password", "database", "url", "project", "description"]
      .concat(READER_KEYS)
  ) {
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
  if (settings.readonly_password !== undefined && settings.readonly_user === undefined) {
    throw new SkillError(
      `"readonly_password" is set without "readonly_user" in ${where}; add the reader's ` +
        `readonly_user, or remove readonly_password`,
    );
  }
  if (settings.readonly_url !== undefined && settings.readonly_user !== undefined) {
    throw new SkillError(
      `Both "readonly_url" and "readonly_user" are set in ${where}; name the reader role once: ` +
        `remove readonly_url, or readonly_user and readonly_password`,
    );
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
      text: editTomlText(path, text, [{ section, key, value }]),
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
    const { text, data, bom } = await readToml(path);
    const outcome = edit(text, data);
    if (outcome.text !== undefined && outcome.text !== text) {
      await writeTomlFile(path, bom ? BOM + outcome.text : outcome.text);
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

/** A profile's own reader keys (see {@linkcode READER_KEYS}); a missing key is absent. */
export type ReaderKeys = Partial<Record<typeof READER_KEYS[number], string>>;

/**
 * Makes the reader keys of `[database.<profile>]` exactly `keys` (those not
 * given are removed), under the file's lock, keeping comments and every other
 * key; written whole with mode 0600. Returns what the profile's table held
 * before, so that a second call can put it back.
 */
export async function setReaderKeys(
  path: string,
  profile: string,
  keys: ReaderKeys,
): Promise<ReaderKeys> {
  return await editTomlFile(path, (text, data) => {
    const existing = asTable(asTable(data.database)?.[profile]);
    if (!existing) {
      throw new SkillError(`No profile "${profile}" in "${path}" any more; nothing was saved`);
    }
    const section = ["database", profile];
    const previous: ReaderKeys = {};
    const edits: TomlEdit[] = [];
    for (const key of READER_KEYS) {
      const now = existing[key];
      if (typeof now === "string") previous[key] = now;
      const wanted = keys[key];
      if (wanted !== undefined && now !== wanted) edits.push({ section, key, value: wanted });
      if (wanted === undefined && now !== undefined) edits.push({ section, key, remove: true });
    }
    return {
      text: edits.length ? editTomlText(path, text, edits) : undefined,
      result: previous,
    };
  });
}
