/**
 * The PostgreSQL client tools (`psql`, `pg_dump`, `pg_restore`): finding them,
 * `[configuration].pg_bin_path` (prepended to PATH; written when missing;
 * never overwritten without confirmation when wrong), and running them with
 * the connection passed through the environment, so that no password ever
 * appears in a process's arguments.
 *
 * @module
 */
import { type Environment, processEnvironment } from "../core/environment.ts";
import { basename, join } from "node:path";
import { note } from "../core/text.ts";
import { SkillError } from "../core/errors.ts";
import {
  loadConfig,
  type LoadedConfig,
  ProfilesFileMissing,
  updateTomlFile,
} from "../config/profiles_file.ts";
import { findProjectRoot, tomlPathFor } from "../config/project_root.ts";
import { asTable } from "../config/toml_edit.ts";
import { checkUserOptions } from "../connection/resolve.ts";
import { type ConnectionTarget, type SslMode } from "../connection/target.ts";
import { PINNED_SETTINGS } from "../connection/session.ts";

/** The client tools the skill drives. */
export const CLIENT_TOOLS = ["psql", "pg_dump", "pg_restore"] as const;

const isWindows = Deno.build.os === "windows";
const exe = (name: string) => isWindows ? `${name}.exe` : name;

/** True when `path` is an executable file. */
export function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && (isWindows || ((info.mode ?? 0o111) & 0o111) !== 0);
  } catch {
    return false;
  }
}

function versionDirs(parent: string, pattern: RegExp, suffix: string): string[] {
  const found: { dir: string; version: number[] }[] = [];
  try {
    for (const entry of Deno.readDirSync(parent)) {
      const m = entry.name.match(pattern);
      if (m) found.push({ dir: join(parent, entry.name, suffix), version: versionKey(m[1] ?? "") });
    }
  } catch {
    // The folder does not exist on this machine.
  }
  return found.sort((a, b) => compareVersions(b.version, a.version)).map((f) => f.dir);
}

function versionKey(text: string): number[] {
  return text.split(/[^0-9]+/).filter(Boolean).map(Number);
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Folders that may hold the client tools, in the order they are tried: PATH,
 * the newest Debian/Ubuntu `/usr/lib/postgresql/<major>/bin`, Homebrew,
 * Postgres.app, the Windows installer's folders.
 */
export function candidateBinDirs(env: Environment = processEnvironment()): string[] {
  const path = (env.PATH ?? "").split(isWindows ? ";" : ":").filter(Boolean);
  return [
    ...path,
    ...versionDirs("/usr/lib/postgresql", /^(\d+)$/, "bin"),
    ...versionDirs("/opt/homebrew/opt", /^postgresql(?:@(\d+))?$/, "bin"),
    ...versionDirs("/usr/local/opt", /^postgresql(?:@(\d+))?$/, "bin"),
    "/opt/homebrew/bin",
    "/usr/local/bin",
    "/Applications/Postgres.app/Contents/Versions/latest/bin",
    ...versionDirs("C:\\Program Files\\PostgreSQL", /^(\d+(?:\.\d+)?)$/, "bin"),
  ];
}

/**
 * True for Debian's `pg_wrapper` (what `/usr/bin/psql`, `pg_dump` ... link
 * to): a Perl script that picks a version's real binary on every start. Told
 * by where the link leads, or by a script that loads PostgreSQL-common's
 * PgCommon module (a copy instead of a link).
 */
export function isDebianWrapper(path: string): boolean {
  try {
    const real = Deno.realPathSync(path);
    if (basename(real) === "pg_wrapper") return true;
    const file = Deno.openSync(real, { read: true });
    try {
      const head = new Uint8Array(4096);
      const n = file.readSync(head) ?? 0;
      const text = new TextDecoder().decode(head.subarray(0, n));
      return text.startsWith("#!") && /^use PgCommon;/m.test(text);
    } finally {
      file.close();
    }
  } catch {
    return false;
  }
}

/**
 * The first candidate folder holding `tool`, if any. A folder where it is
 * Debian's wrapper (`/usr/bin`) is passed over for the real binaries it would
 * run (`/usr/lib/postgresql/<newest>/bin`, later among the candidates): that
 * is the folder to save as pg_bin_path, and the wrapper costs each start time.
 */
export function findToolDir(
  tool: string = "psql",
  env: Environment = processEnvironment(),
): string | undefined {
  return candidateBinDirs(env).find((dir) => isRealTool(join(dir, exe(tool))));
}

function isRealTool(path: string): boolean {
  return isExecutable(path) && !isDebianWrapper(path);
}

/** Where the client tools come from. */
export interface ClientTools {
  /** Folder holding psql (and normally pg_dump and pg_restore), if found. */
  binDir?: string;
  /** How binDir was chosen. */
  source: "pg_bin_path" | "detected" | "none";
  /** The TOML consulted, if any. */
  tomlPath?: string;
  /**
   * The TOML's `pg_bin_path` has no psql and another folder has one: the script may ask
   * whether to save that one ({@linkcode savePgBinPath}); it is used meanwhile.
   */
  replaceablePgBinPath?: { configured: string; detected: string };
}

/** Saves the folder found for the client tools as the TOML's `pg_bin_path` (the user agreed). */
export async function savePgBinPath(tools: ClientTools): Promise<void> {
  const replacement = tools.replaceablePgBinPath;
  if (!replacement || !tools.tomlPath) return;
  await updateTomlFile(tools.tomlPath, ["configuration"], "pg_bin_path", replacement.detected);
  note(`saved pg_bin_path = "${replacement.detected}"`);
}

/** The full path of a client tool, or a clear error when it is not installed. */
export function toolPath(tools: ClientTools, tool: typeof CLIENT_TOOLS[number]): string {
  const path = tools.binDir ? join(tools.binDir, exe(tool)) : undefined;
  if (path && isExecutable(path)) return path;
  throw new SkillError(
    `${tool} is not installed or not found; ${installHint()}` +
      (tools.tomlPath ? `, or set [configuration] pg_bin_path in "${tools.tomlPath}"` : ""),
  );
}

/** The install command for the client tools on this platform. */
export function installHint(): string {
  if (Deno.build.os === "darwin") return "install them with: brew install postgresql";
  if (isWindows) return "install them with: winget install PostgreSQL.PostgreSQL";
  let id = "";
  try {
    const release = Deno.readTextFileSync("/etc/os-release");
    id = (release.match(/^ID=(.*)$/m)?.[1] ?? "") + " " +
      (release.match(/^ID_LIKE=(.*)$/m)?.[1] ?? "");
  } catch {
    // Not a Linux with os-release.
  }
  id = id.replaceAll('"', "");
  if (/debian|ubuntu/.test(id)) {
    return "install them with: sudo apt-get update && sudo apt-get install -y postgresql-client";
  }
  if (/fedora|rhel|centos/.test(id)) return "install them with: sudo dnf install -y postgresql";
  if (/arch/.test(id)) return "install them with: sudo pacman -S postgresql";
  if (/alpine/.test(id)) return "install them with: sudo apk add postgresql-client";
  if (/suse/.test(id)) return "install them with: sudo zypper install postgresql";
  return "install the PostgreSQL client package of your system";
}

async function projectConfig(
  writable: boolean,
  env: Environment,
): Promise<LoadedConfig | undefined> {
  try {
    return await loadConfig(tomlPathFor(findProjectRoot(env).path));
  } catch (error) {
    // A one-off DB_URL needs no TOML; with a profile, resolveTarget has
    // already reported any problem with the file.
    if (!writable) return undefined;
    if (error instanceof ProfilesFileMissing) return undefined;
    throw error;
  }
}

/**
 * Finds the client tools. With a TOML profile: a valid `pg_bin_path` is used;
 * a missing one is detected and written (the one write done without asking);
 * an invalid one is reported, and when tools were found elsewhere the result
 * says so (`replaceablePgBinPath`) for the script to ask before replacing it.
 * With a one-off `DB_URL`, a TOML is read if present but never written.
 */
export async function resolveClientTools(
  target?: Pick<ConnectionTarget, "source">,
  env: Environment = processEnvironment(),
): Promise<ClientTools> {
  const writable = target?.source !== "DB_URL";
  const config = await projectConfig(writable, env);
  const detected = findToolDir("psql", env);
  if (!config) return { binDir: detected, source: detected ? "detected" : "none" };
  const configured = asTable(config.data.configuration)?.pg_bin_path;
  if (typeof configured === "string" && configured !== "") {
    if (isExecutable(join(configured, exe("psql")))) {
      return { binDir: configured, source: "pg_bin_path", tomlPath: config.path };
    }
    note(
      `warning: pg_bin_path "${configured}" in "${config.path}" has no psql` +
        (detected ? `; found one in "${detected}"` : ""),
    );
    return {
      binDir: detected,
      source: detected ? "detected" : "none",
      tomlPath: config.path,
      ...(detected && writable ? { replaceablePgBinPath: { configured, detected } } : {}),
    };
  }
  if (detected && writable) {
    // A convenience: when it cannot be saved, say so and go on with the tools found.
    try {
      await updateTomlFile(config.path, ["configuration"], "pg_bin_path", detected);
      note(`note: saved pg_bin_path = "${detected}" in "${config.path}"`);
      return { binDir: detected, source: "pg_bin_path", tomlPath: config.path };
    } catch (error) {
      note(
        `warning: could not save pg_bin_path = "${detected}" ` +
          `(${error instanceof Error ? error.message : error}); using it anyway`,
      );
      return { binDir: detected, source: "detected", tomlPath: config.path };
    }
  }
  return { binDir: detected, source: detected ? "detected" : "none", tomlPath: config.path };
}

/** The startup option every tool's session gets: the string syntax the skill's parser reads. */
export const PINNED_LEXING_OPTION =
  `-c standard_conforming_strings=${PINNED_SETTINGS.standard_conforming_strings}`;

/**
 * Inherited libpq variables a tool keeps: they shape what it prints, never
 * where it connects or as whom.
 */
const KEPT_PG_VARIABLES = new Set(["PGTZ", "PGDATESTYLE"]);

/**
 * The process environment without the libpq variables the skill did not set.
 * libpq reads them after the skill's own: a PGSERVICE's service file outranks
 * PGHOST and PGDATABASE (and would carry the profile's password to its host),
 * PGSSLCERT or PGPASSFILE would add credentials the profile never named, and
 * PGREQUIRESSL or PGGSSENCMODE would change how it connects.
 */
function inheritedEnvironment(given: Environment): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    if (value !== undefined && (!/^PG/i.test(name) || KEPT_PG_VARIABLES.has(name))) {
      env[name] = value;
    }
  }
  return env;
}

/**
 * The whole environment for a client tool, to start it with `clearEnv`: the
 * process's own without the libpq variables (see `inheritedEnvironment`), the
 * connection as libpq variables (the password as PGPASSWORD, never an
 * argument), the session settings as PGAPPNAME and PGOPTIONS
 * (standard_conforming_strings = on last, whatever the user's PGOPTIONS, the
 * URL or the database and role defaults say), and PATH with the tools' folder
 * first.
 */
export function toolEnvironment(
  target: ConnectionTarget,
  tools: ClientTools,
  how: { sslmode?: SslMode; env?: Environment } = {},
): Record<string, string> {
  const given = how.env ?? processEnvironment();
  const sslmode = how.sslmode ?? target.sslmode;
  const env: Record<string, string> = {
    ...inheritedEnvironment(given),
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: target.user,
    PGDATABASE: target.database,
    PGSSLMODE: sslmode,
    PGCONNECT_TIMEOUT: String(target.connectTimeoutSeconds),
  };
  if (target.password !== undefined) env.PGPASSWORD = target.password;
  if (target.sslrootcert) env.PGSSLROOTCERT = target.sslrootcert;
  if (target.hostaddr) env.PGHOSTADDR = target.hostaddr;
  if (target.sslcert) env.PGSSLCERT = target.sslcert;
  if (target.sslkey) env.PGSSLKEY = target.sslkey;
  if (target.channelBinding) env.PGCHANNELBINDING = target.channelBinding;
  if (target.targetSessionAttrs) env.PGTARGETSESSIONATTRS = target.targetSessionAttrs;
  if (target.sslNegotiation) env.PGSSLNEGOTIATION = target.sslNegotiation;
  const { application_name, options, ...gucs } = target.parameters;
  if (application_name) env.PGAPPNAME = application_name;
  const pgOptions = [options ?? "", given.PGOPTIONS ?? ""].filter(checkUserOptions);
  for (const [name, value] of Object.entries(gucs)) {
    // The server splits PGOPTIONS at spaces; a backslash keeps one in a value.
    pgOptions.push(`-c ${name}=${value.replace(/[\\ ]/g, "\\$&")}`);
  }
  // Last, so that it wins over the same -c anywhere before it; a startup option
  // also outranks ALTER DATABASE/ROLE ... SET. psql lexes files with the value
  // the server reports, so it reads them as the skill's parser does.
  pgOptions.push(PINNED_LEXING_OPTION);
  env.PGOPTIONS = pgOptions.join(" ");
  if (tools.binDir) {
    env.PATH = [tools.binDir, given.PATH ?? ""].filter(Boolean).join(
      isWindows ? ";" : ":",
    );
  }
  return env;
}

/** What a client tool prints for `--version` (`psql (PostgreSQL) 16.4 (Debian ...)`), if it runs. */
async function toolVersionText(path: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(path, {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return undefined;
  }
}

/** The version a client tool reports (`psql (PostgreSQL) 16.4` gives `16.4`). */
export async function toolVersion(path: string): Promise<string | undefined> {
  return (await toolVersionText(path))?.match(/(\d+(?:\.\d+)*)/)?.[1];
}

/**
 * The first release of each major whose psql has `\restrict` (the fix for
 * CVE-2025-8714); every 18 from beta 3 on has it too.
 */
export const RESTRICT_RELEASES = ["13.22", "14.19", "15.14", "16.10", "17.6"] as const;

/**
 * Whether the psql that printed `versionText` for `--version` (`psql
 * (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`, `psql (PostgreSQL) 18beta3`)
 * has `\restrict`, under which it runs no meta-command from a file (pg_dump
 * and pg_restore of the same release print the same and have the fix too).
 * Older minors, pre-releases before the fix, and text it cannot read say no.
 */
export function psqlHasRestrict(versionText: string): boolean {
  const match = versionText.match(
    /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:(devel|alpha|beta|rc)(\d*))?/,
  );
  if (!match) return false;
  const major = Number(match[1]);
  const [, , minorText, prerelease, prereleaseNumber] = match;
  if (major > 18) return true;
  if (major === 18) {
    return prerelease === undefined || prerelease === "rc" ||
      (prerelease === "beta" && Number(prereleaseNumber || 0) >= 3);
  }
  const first = RESTRICT_RELEASES.find((release) => release.startsWith(`${major}.`));
  if (!first || prerelease !== undefined || minorText === undefined) return false;
  return Number(minorText) >= Number(first.split(".")[1]);
}

/**
 * Whether a client tool is of a release with `\restrict` ({@linkcode
 * psqlHasRestrict}): pg_dump and pg_restore of those releases write
 * `\restrict <key>` into the SQL they write, and take `--restrict-key`.
 */
export async function toolHasRestrict(path: string): Promise<boolean> {
  const text = await toolVersionText(path);
  return text !== undefined && psqlHasRestrict(text);
}

/**
 * Refuses (a failure naming what to install) a psql without `\restrict`:
 * restores need it, so that meta-commands in the SQL they run (`\!` runs a
 * shell command as the user, `\connect` moves to another database) cannot run.
 */
export async function requireRestrictingPsql(path: string): Promise<void> {
  const text = await toolVersionText(path);
  if (text !== undefined && psqlHasRestrict(text)) return;
  const version = text?.match(/\(PostgreSQL\)\s+(\S+)/)?.[1] ?? "of unknown version";
  throw new SkillError(
    `psql ${version} ("${path}") has no \\restrict, which a restore needs so that no psql ` +
      `meta-command in the SQL it runs does (\\! would run a shell command as you); psql ` +
      `${RESTRICT_RELEASES.join(", ")} and later (and 18) have it: update the client tools ` +
      `(${installHint()}) or set [configuration] pg_bin_path to the folder of newer ones`,
  );
}

/** psql's long options (psql 13-18), for resolving the prefixes getopt accepts. */
const PSQL_LONG_OPTIONS = [
  "echo-all",
  "no-align",
  "echo-errors",
  "command",
  "dbname",
  "echo-queries",
  "echo-hidden",
  "file",
  "field-separator",
  "host",
  "html",
  "list",
  "log-file",
  "no-readline",
  "output",
  "port",
  "pset",
  "quiet",
  "record-separator",
  "single-step",
  "single-line",
  "tuples-only",
  "table-attr",
  "username",
  "set",
  "variable",
  "version",
  "no-password",
  "password",
  "expanded",
  "no-psqlrc",
  "field-separator-zero",
  "record-separator-zero",
  "single-transaction",
  "help",
  "csv",
];
/** The long options that take a value in the next argument when not given `=value`. */
const PSQL_LONG_WITH_VALUE = new Set([
  "command",
  "dbname",
  "file",
  "field-separator",
  "host",
  "log-file",
  "output",
  "port",
  "pset",
  "record-separator",
  "table-attr",
  "username",
  "set",
  "variable",
]);
/** psql's short options that take a value (`-c SQL`, `-cSQL`), from its getopt string. */
const PSQL_SHORT_WITH_VALUE = new Set([
  "c",
  "d",
  "f",
  "F",
  "h",
  "L",
  "o",
  "p",
  "P",
  "R",
  "T",
  "U",
  "v",
]);
const PSQL_CONNECTION_LONG = new Set(["dbname", "host", "port", "username"]);
const PSQL_CONNECTION_SHORT = new Set(["d", "h", "p", "U"]);

/**
 * The first psql argument that would choose the connection (`-d`, `-h`,
 * `-p`, `-U` in any spelling getopt accepts, or a positional database name,
 * user name or conninfo such as `service=x` or `postgresql://...`), if any.
 * psql must connect where the profile says: such an argument would take the
 * profile's password to another host, or log in as another role than the
 * reader that makes the session read-only.
 */
export function psqlConnectionArgument(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") return args[i + 1];
    if (arg.startsWith("--")) {
      const [given, value] = [arg.slice(2).split("=", 1)[0], arg.includes("=")];
      const matches = PSQL_LONG_OPTIONS.filter((name) => name.startsWith(given));
      const name = matches.includes(given) ? given : matches.length === 1 ? matches[0] : undefined;
      if (name === undefined) continue; // psql itself refuses an unknown or ambiguous one
      if (PSQL_CONNECTION_LONG.has(name)) return arg;
      if (PSQL_LONG_WITH_VALUE.has(name) && !value) i++;
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        if (PSQL_CONNECTION_SHORT.has(arg[j])) return arg;
        if (PSQL_SHORT_WITH_VALUE.has(arg[j])) {
          if (j === arg.length - 1) i++;
          break;
        }
      }
      continue;
    }
    return arg;
  }
  return undefined;
}

/**
 * Runs `run` with `env` changed so that the password is in a password file
 * of its own (mode 0600, in a private folder, removed afterwards) whose one
 * line names this host, port and user, instead of PGPASSWORD. For psql
 * sessions: libpq hands PGPASSWORD to whatever server a `\connect` inside
 * psql names, while a line for this server alone gives another none (and
 * `\getenv` finds no password to print). Without a password, `env` is kept.
 */
export async function withPrivatePassfile<T>(
  env: Record<string, string>,
  target: ConnectionTarget,
  run: (env: Record<string, string>) => Promise<T>,
): Promise<T> {
  if (target.password === undefined) return await run(env);
  const field = (value: string) => value.replace(/[\\:]/g, "\\$&");
  const dir = await Deno.makeTempDir({ prefix: "postgres-skill-" });
  try {
    const file = join(dir, "pgpass");
    const line = [target.host, String(target.port), "*", target.user, target.password]
      .map(field).join(":");
    await Deno.writeTextFile(file, `${line}\n`, { mode: 0o600 });
    const { PGPASSWORD: _, ...rest } = env;
    return await run({ ...rest, PGPASSFILE: file });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Runs a client tool with the terminal handed over (stdin, stdout and stderr
 * inherited) and returns its exit status. Ctrl-C goes to the tool, as it would
 * without this wrapper, instead of ending the wrapper under it.
 */
export async function runToolInteractive(
  path: string,
  args: string[],
  env: Record<string, string>,
): Promise<number> {
  const ignore = () => {};
  const signals: Deno.Signal[] = isWindows
    ? ["SIGINT"]
    : ["SIGINT", "SIGQUIT", "SIGTERM", "SIGHUP"];
  for (const signal of signals) Deno.addSignalListener(signal, ignore);
  try {
    const child = new Deno.Command(path, {
      args,
      env,
      clearEnv: true,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const status = await child.status;
    return status.signal ? 128 + signalNumber(status.signal) : status.code;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, ignore);
  }
}

function signalNumber(signal: Deno.Signal): number {
  const numbers: Partial<Record<Deno.Signal, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGTERM: 15,
    SIGPIPE: 13,
  };
  return numbers[signal] ?? 1;
}

/** The major version of a client tool (`pg_dump (PostgreSQL) 16.4` gives 16). */
export async function toolMajor(path: string): Promise<number> {
  const version = await toolVersion(path);
  return Number(version?.match(/^(\d+)/)?.[1] ?? 0);
}

/**
 * The full path of a client tool at least as new as the server (pg_dump
 * refuses newer servers, and older tools cannot read newer dumps). When it is
 * older, the error names a folder with new enough tools to set as pg_bin_path,
 * if this machine has one.
 */
export async function toolForServer(
  tools: ClientTools,
  tool: typeof CLIENT_TOOLS[number],
  serverMajor: number,
): Promise<string> {
  const path = toolPath(tools, tool);
  const major = await toolMajor(path);
  if (major >= serverMajor) return path;
  let better: string | undefined;
  for (const dir of candidateBinDirs()) {
    const candidate = join(dir, exe(tool));
    if (isRealTool(candidate) && await toolMajor(candidate) >= serverMajor) {
      better = dir;
      break;
    }
  }
  const where = tools.tomlPath ? ` in "${tools.tomlPath}"` : "";
  throw new SkillError(
    `${tool} ${major} (${path}) is older than the server (PostgreSQL ${serverMajor}); ` +
      (better
        ? `set [configuration] pg_bin_path = "${better}"${where}`
        : `install the PostgreSQL ${serverMajor} client tools and set [configuration] pg_bin_path${where} to their folder`),
  );
}

/** What a finished client tool left behind. */
export interface ToolResult {
  /** The tool's exit status (0 for success). */
  code: number;
  /** What it wrote on stdout, when `captureStdout` asked to keep it; else empty. */
  stdout: Uint8Array;
  /** Everything it wrote on stderr. */
  stderr: string;
}

/** Options for {@linkcode runTool}. */
export interface RunToolOptions {
  /**
   * Feed these bytes to the tool's stdin, counting them. When they cannot
   * all be read, the tool is stopped rather than shown an end of input: psql
   * would take a cut file for a whole one.
   */
  stdin?: AsyncIterable<Uint8Array>;
  /** Keep the tool's stdout in memory (small outputs only; otherwise it is discarded). */
  captureStdout?: boolean;
  /**
   * Write the tool's stdout into this open file as it comes (memory stays
   * flat, whatever its size). When a write fails, the tool is stopped.
   */
  stdoutFile?: Deno.FsFile;
  /**
   * On a terminal, show progress under this label: elapsed time and the
   * bytes fed to stdin (or, with stdoutFile, written to the file).
   */
  progressLabel?: string;
}

/**
 * Runs a client tool to completion with the connection in its environment;
 * stderr is collected for the report. On a terminal, a run with a progress
 * label that takes more than half a second shows elapsed time and bytes on
 * stderr; on a pipe it shows nothing.
 */
export async function runTool(
  path: string,
  args: string[],
  env: Record<string, string>,
  options: RunToolOptions = {},
): Promise<ToolResult> {
  const input = options.stdin;
  const output = options.stdoutFile;
  const child = new Deno.Command(path, {
    args,
    env,
    clearEnv: true,
    stdin: input ? "piped" : "null",
    stdout: options.captureStdout || output ? "piped" : "null",
    stderr: "piped",
  }).spawn();
  let fed = 0;
  let unread: Error | undefined;
  const feeding = input
    ? (async () => {
      const writer = child.stdin.getWriter();
      const chunks = input[Symbol.asyncIterator]();
      // The next chunk is read while this one is written: neither side waits for the other.
      const ahead = () => {
        const next = chunks.next();
        next.catch(() => {}); // handled when awaited
        return next;
      };
      let pending = ahead();
      try {
        while (true) {
          let next;
          try {
            next = await pending;
          } catch (error) {
            unread = error instanceof Error ? error : new Error(String(error));
            child.kill("SIGKILL");
            await writer.abort().catch(() => {});
            return;
          }
          if (next.done) break;
          pending = ahead();
          try {
            await writer.write(next.value);
          } catch {
            // The tool stopped reading (it failed); its exit status tells.
            await pending.catch(() => {});
            await chunks.return?.();
            return;
          }
          fed += next.value.length;
        }
        await writer.close().catch(() => {});
      } finally {
        writer.releaseLock();
      }
    })()
    : Promise.resolve();
  let written = 0;
  let unwritten: Error | undefined;
  const collecting: Promise<ArrayBuffer> = output
    ? (async () => {
      // One buffer, filled by reads and then written whole: no garbage, memory
      // flat, and one write for many small reads.
      const reader = child.stdout.getReader({ mode: "byob" });
      let buffer = new ArrayBuffer(1024 * 1024);
      let filled = 0;
      const flush = async () => {
        const bytes = new Uint8Array(buffer, 0, filled);
        for (let at = 0; at < bytes.length;) at += await output.write(bytes.subarray(at));
        written += filled;
        filled = 0;
      };
      try {
        while (true) {
          const { value, done } = await reader.read(
            new Uint8Array(buffer, filled, buffer.byteLength - filled),
          );
          if (value) {
            buffer = value.buffer as ArrayBuffer;
            filled += value.length;
          }
          if (done || filled === buffer.byteLength) await flush();
          if (done) break;
        }
      } catch (error) {
        unwritten = error instanceof Error ? error : new Error(String(error));
        child.kill("SIGKILL");
        await reader.cancel().catch(() => {});
      }
      return new ArrayBuffer(0);
    })()
    : options.captureStdout
    ? new Response(child.stdout).arrayBuffer()
    : Promise.resolve(new ArrayBuffer(0));
  const stopProgress = options.progressLabel
    ? showProgress(options.progressLabel, () => output ? written : fed)
    : () => {};
  // Ctrl-C, a TERM or a hang-up (the terminal closed) stops the tool too, so that nothing keeps running (or
  // writing) behind the script's back; the caller cleans up and says so.
  let interrupted: Deno.Signal | undefined;
  const signals: Deno.Signal[] = isWindows ? ["SIGINT"] : ["SIGINT", "SIGTERM", "SIGHUP"];
  const stop = (signal: Deno.Signal) => () => {
    interrupted ??= signal;
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
  };
  const handlers = signals.map((signal) => [signal, stop(signal)] as const);
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  try {
    const [status, stderr, stdout] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
      collecting,
      feeding,
    ]);
    if (interrupted) throw new ToolInterruptedError(path, interrupted, stderr);
    if (unread) {
      throw new ToolInputError(
        `${basename(path)} was stopped: its input could not be read (${unread.message})`,
        stderr,
      );
    }
    if (unwritten) {
      throw new SkillError(
        `${basename(path)} was stopped: its output could not be written (${unwritten.message})`,
      );
    }
    return { code: status.code, stdout: new Uint8Array(stdout), stderr };
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    stopProgress();
  }
}

/**
 * A client tool's stdout as it writes it, a chunk at a time (memory stays
 * flat). When the tool fails, reading ends with an error naming its last
 * error line, after all it wrote; stopping early stops the tool.
 */
export async function* toolOutput(
  path: string,
  args: string[],
  env: Record<string, string>,
): AsyncGenerator<Uint8Array> {
  const child = new Deno.Command(path, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let ended = false;
  try {
    for await (const chunk of child.stdout) yield chunk;
    const status = await child.status;
    ended = true;
    if (!status.success) {
      throw new SkillError(`${basename(path)} failed: ${toolErrorLine(await stderr)}`);
    }
  } finally {
    if (!ended) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.status;
    }
    await stderr.catch(() => "");
  }
}

/** The last meaningful line a tool wrote on stderr. */
export function toolErrorLine(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error|fatal/i.test(l)) ?? lines.at(-1) ?? "no message";
}

/** Ctrl-C or a TERM stopped the tool; what it had written on stderr is kept. */
export class ToolInterruptedError extends SkillError {
  /** The tool's stderr up to then. */
  readonly stderr: string;
  /** The error for the tool at `path` stopped by `signal`; it exits with 128 + its number. */
  constructor(path: string, signal: Deno.Signal, stderr: string) {
    super(`Interrupted (${signal}); ${basename(path)} was stopped`, 128 + signalNumber(signal));
    this.name = "ToolInterruptedError";
    this.stderr = stderr;
  }
}

/** The tool's input could not be read to its end, so the tool was stopped. */
export class ToolInputError extends SkillError {
  /** The tool's stderr up to then. */
  readonly stderr: string;
  /** The error shown as `message`, keeping the `stderr` the tool wrote. */
  constructor(message: string, stderr: string) {
    super(message);
    this.name = "ToolInputError";
    this.stderr = stderr;
  }
}

/** Bytes as people read them. */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function showProgress(label: string, bytes: () => number): () => void {
  if (!Deno.stderr.isTerminal()) return () => {};
  const started = performance.now();
  const encoder = new TextEncoder();
  let shown = false;
  const timer = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    if (elapsed < 0.5) return;
    shown = true;
    const line = `\r\x1b[K${label}: ${formatBytes(bytes())}, ${elapsed.toFixed(1)} s`;
    Deno.stderr.writeSync(encoder.encode(line));
  }, 250);
  return () => {
    clearInterval(timer);
    if (shown) Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
  };
}
