/**
 * Connection resolution: turns `--profile`/`DB_URL`/`DB_PROFILE` (in that
 * order) and `--database`, the profile's settings in `postgres.toml`, plus
 * the session variables (`DB_APPLICATION_NAME`,
 * `DB_STATEMENT_TIMEOUT_MS`, `DB_LOCK_TIMEOUT_MS`, `PGCONNECT_TIMEOUT`) into one
 * {@linkcode ConnectionTarget}.
 *
 * @module
 */
import { checkProfileName } from "../config/profile_name.ts";
import { type Environment, processEnvironment } from "../core/environment.ts";
import { SkillError, UsageError } from "../core/errors.ts";
import {
  DEFAULT_PROFILE,
  loadConfig,
  type ProfileSettings,
  profileSettings,
} from "../config/profiles_file.ts";
import { findProjectRoot, tomlPathFor } from "../config/project_root.ts";
import { connectionFlags } from "./flags.ts";
import {
  type ChannelBinding,
  type ConnectionTarget,
  DEFAULT_APPLICATION_NAME,
  DEFAULT_CONNECT_TIMEOUT_SECONDS,
  type ReaderUse,
  type SslMode,
  type TargetSessionAttrs,
} from "./target.ts";
import { parseConnectionUrl, parseConnectTimeout, type ParsedUrl, parseSslMode } from "./url.ts";

/** The largest value a PostgreSQL integer setting (a timeout in ms) takes. */
const INT_SETTING_MAX = 2_147_483_647;

function envInteger(env: Environment, name: string, options: { min: number }): number | undefined {
  const text = env[name];
  if (text === undefined || text === "") return undefined;
  if (!/^\d{1,10}$/.test(text) || Number(text) < options.min || Number(text) > INT_SETTING_MAX) {
    throw new UsageError(
      `${name} must be a whole number from ${options.min} to ${INT_SETTING_MAX}, got "${text}"`,
    );
  }
  return Number(text);
}

/** Options for {@linkcode resolveTarget}. */
export interface ResolveOptions {
  /** The environment variable holding a one-off URL (default `DB_URL`). */
  urlVariable?: string;
  /**
   * Profile to use instead of `DB_PROFILE`; like `--profile` it wins over the
   * URL variable too. Default: the `--profile` that parseCli read.
   */
  profile?: string;
  /**
   * Database to connect to instead of the profile's (or the URL's), with the
   * same credentials. Default: the `--database` that parseCli read.
   */
  database?: string;
  /**
   * The kind of session: `diagnostic` sessions are read-only and carry polite
   * default timeouts; `explain` sessions carry the timeouts but may write
   * (inside a transaction that is rolled back); `migration` sessions wait
   * for a lock only as long as diagnostics do (a structure change queued
   * behind a long transaction would stall every query behind it) but may run
   * as long as they need; `plain` sessions carry only what the environment
   * sets.
   */
  session?: "plain" | "diagnostic" | "explain" | "migration";
  /**
   * Connect as the profile's own user even where a diagnostic session would
   * use its reader role (test_connection.ts checks both).
   */
  ownRole?: boolean;
  /**
   * Keep the role's own search_path in a diagnostic session. Without it a
   * diagnostic session resolves every unqualified name in pg_catalog only
   * (`search_path = pg_catalog,pg_temp`): the skill's own SQL then cannot
   * call a function or operator someone planted in a schema on the path
   * (CVE-2018-1058: `public.=(oid, integer)` wins over pg_catalog's by an
   * exact type match). Only what runs the user's SQL, or resolves a name the
   * user typed, keeps it (and then guards its own SQL itself).
   */
  userSearchPath?: boolean;
  /** The environment to read (default: the process's, read once for the call). */
  env?: Environment;
}

/** The search_path of a diagnostic session that runs only the skill's own SQL. */
export const CATALOG_SEARCH_PATH = "pg_catalog,pg_temp";

/**
 * Timeouts of diagnostic sessions when the environment sets none, so that a
 * look at a busy production server can neither run away nor wait on locks.
 */
export const DIAGNOSTIC_TIMEOUTS_MS = { statement_timeout: 30_000, lock_timeout: 2_000 };

/**
 * Checks the user's own startup options (PGOPTIONS, a URL's `options`) that
 * the skill's settings follow, and says whether there are any. One that ends
 * with a backslash is refused (a usage error): the server reads a backslash
 * as escaping the next character, so the space after it, and with it the
 * first setting the skill adds (`default_transaction_read_only`, a timeout),
 * would be glued onto the user's last value.
 */
export function checkUserOptions(text: string): boolean {
  if (/(^|[^\\])(\\\\)*\\$/.test(text)) {
    throw new UsageError(
      `PGOPTIONS (or the url's options) ends with a backslash, which would swallow the ` +
        `settings the skill adds after it; remove that backslash`,
    );
  }
  return text !== "";
}

/** Session parameters every connection carries, from the environment. */
export function sessionParameters(
  session: ResolveOptions["session"] = "plain",
  options: { userSearchPath?: boolean; env?: Environment } = {},
): Record<string, string> {
  const env = options.env ?? processEnvironment();
  const parameters: Record<string, string> = {
    application_name: env.DB_APPLICATION_NAME || DEFAULT_APPLICATION_NAME,
  };
  const polite = session === "diagnostic" || session === "explain";
  const statementTimeout = envInteger(env, "DB_STATEMENT_TIMEOUT_MS", { min: 0 }) ??
    (polite ? DIAGNOSTIC_TIMEOUTS_MS.statement_timeout : undefined);
  const lockTimeout = envInteger(env, "DB_LOCK_TIMEOUT_MS", { min: 0 }) ??
    (polite || session === "migration" ? DIAGNOSTIC_TIMEOUTS_MS.lock_timeout : undefined);
  if (statementTimeout !== undefined) parameters.statement_timeout = String(statementTimeout);
  if (lockTimeout !== undefined) parameters.lock_timeout = String(lockTimeout);
  if (session === "diagnostic") parameters.default_transaction_read_only = "on";
  if (session === "diagnostic" && !options.userSearchPath) {
    parameters.search_path = CATALOG_SEARCH_PATH;
  }
  return parameters;
}

/**
 * Resolves the connection: a profile named explicitly (`--profile`, or
 * `options.profile`) wins, since a flag says more than the environment; then
 * a one-off URL from `DB_URL`, which needs no TOML; otherwise the profile
 * `DB_PROFILE` (default `local`) from
 * `<project-root>/.skills/postgres/postgres.toml`. `--database` (or
 * `options.database`) then names another database on that server, reached
 * with the same credentials.
 */
export async function resolveTarget(options: ResolveOptions = {}): Promise<ConnectionTarget> {
  const env = options.env ?? processEnvironment();
  const flags = connectionFlags();
  const named = options.profile ?? flags.profile;
  const database = options.database ?? flags.database;
  const urlVariable = options.urlVariable ?? "DB_URL";
  const url = named === undefined ? env[urlVariable] : undefined;
  if (url) {
    const parsed = parseConnectionUrl(url, urlVariable);
    if (database !== undefined) parsed.database = database;
    return finish({
      parsed,
      sslmode: parsed.params.sslmode ? parseSslMode(parsed.params.sslmode) : "prefer",
      sslFallback: false,
      connectTimeoutSeconds: connectTimeoutFromEnvironment(env),
      parameters: sessionParameters(options.session, { ...options, env }),
      source: "DB_URL",
      urlVariable,
      databaseOverridden: database !== undefined,
      env,
    });
  }
  const profile = named ?? (env.DB_PROFILE || DEFAULT_PROFILE);
  checkProfileName(profile, named === undefined ? "DB_PROFILE" : undefined);
  const root = findProjectRoot(env);
  const tomlPath = tomlPathFor(root.path);
  const config = await loadConfig(tomlPath);
  return profileTarget(profileSettings(config, profile), {
    session: options.session,
    ownRole: options.ownRole,
    userSearchPath: options.userSearchPath,
    database,
    profile: { name: profile, tomlPath, projectRoot: root.path },
    env,
  });
}

/** Seconds a connection attempt may take: `PGCONNECT_TIMEOUT`, else the default. */
function connectTimeoutFromEnvironment(env: Environment): number {
  const fromEnv = env.PGCONNECT_TIMEOUT;
  return fromEnv
    ? parseConnectTimeout(fromEnv, "PGCONNECT_TIMEOUT")
    : DEFAULT_CONNECT_TIMEOUT_SECONDS;
}

/** Where a profile's settings come from, for {@linkcode profileTarget}. */
export interface ProfileContext {
  /** The kind of session (see {@linkcode ResolveOptions}). */
  session?: ResolveOptions["session"];
  /** Connect as the profile's own user, never its reader (see {@linkcode ResolveOptions}). */
  ownRole?: boolean;
  /** Keep the role's search_path in a diagnostic session (see {@linkcode ResolveOptions}). */
  userSearchPath?: boolean;
  /** Another database than the profile's, with its credentials (see {@linkcode ResolveOptions}). */
  database?: string;
  /** The saved profile; without it the settings are a one-off, named `describe` in messages. */
  profile?: { name: string; tomlPath: string; projectRoot: string };
  /** How messages name unsaved settings (default "the settings given"). */
  describe?: string;
  /** The environment to read (default: the process's, read once for the call). */
  env?: Environment;
}

/**
 * The connection a profile's settings stand for: the `url`'s parts override
 * the keys, its parameters apply as in libpq, its `sslmode` wins over the
 * boolean, and a profile with `sslmode = false` gets the SSL fallback.
 */
export function profileTarget(
  settings: ProfileSettings,
  context: ProfileContext,
): ConnectionTarget {
  const env = context.env ?? processEnvironment();
  const saved = context.profile;
  const where = saved ? `profile "${saved.name}"` : (context.describe ?? "the settings given");
  const fromUrl = settings.url
    ? parseConnectionUrl(settings.url, `The url of ${where}`)
    : { params: {} } as ParsedUrl;
  const own: ParsedUrl = {
    host: fromUrl.host ?? settings.host,
    port: fromUrl.port ?? settings.port,
    user: fromUrl.user ?? settings.user,
    password: fromUrl.password ?? settings.password,
    database: fromUrl.database ?? settings.database,
    params: fromUrl.params,
  };
  const reader = context.session === "diagnostic" && !context.ownRole
    ? readerOf(settings, own, where)
    : undefined;
  const merged: ParsedUrl = reader
    ? {
      ...own,
      user: reader.user,
      password: reader.password,
      params: { ...own.params, ...reader.params },
    }
    : { ...own };
  // After the reader's check, which compares a readonly_url with the profile's own database.
  if (context.database !== undefined) merged.database = context.database;
  const required = { ...own, database: merged.database };
  const missing = (["host", "port", "user", "database"] as const).filter((k) =>
    required[k] === undefined || required[k] === ""
  );
  if (missing.length) {
    throw new SkillError(
      saved
        ? `Profile "${saved.name}" in "${saved.tomlPath}" is missing ${missing.join(", ")}; ` +
          `add ${missing.length > 1 ? "them" : "it"} to [database.${saved.name}] or [database]`
        : `${where} lack ${missing.join(", ")}`,
    );
  }
  const urlMode = fromUrl.params.sslmode;
  const sslmode: SslMode = urlMode
    ? parseSslMode(urlMode, `The url of ${where}`)
    : settings.sslmode
    ? "require"
    : "disable";
  return finish({
    parsed: merged,
    sslmode,
    sslFallback: !urlMode && !settings.sslmode,
    connectTimeoutSeconds: connectTimeoutFromEnvironment(env),
    parameters: sessionParameters(context.session, { ...context, env }),
    source: saved ? "toml" : "DB_URL",
    urlVariable: saved ? undefined : where,
    profile: saved?.name,
    tomlPath: saved?.tomlPath,
    projectRoot: saved?.projectRoot,
    reader: reader && { key: reader.key, profileUser: own.user! },
    databaseOverridden: context.database !== undefined,
    env,
  });
}

/**
 * The name of the reader role a profile names (its readonly_user, or the user
 * of its readonly_url), or undefined when it names none.
 */
export function readerRoleName(settings: ProfileSettings, where: string): string | undefined {
  if (settings.readonly_user !== undefined) return settings.readonly_user;
  if (settings.readonly_url === undefined) return undefined;
  return parseConnectionUrl(settings.readonly_url, `The readonly_url of ${where}`).user;
}

/**
 * Parameters a readonly_url may carry: the reader's own credentials. Where it
 * connects and how (host, port, database, SSL) is the profile's.
 */
const READER_URL_PARAMS = ["user", "password", "passfile", "sslcert", "sslkey"];

/**
 * The reader role a profile names (readonly_user and readonly_password, or
 * readonly_url), or undefined. A readonly_url that names another server or
 * database than the profile's, or SSL settings of its own, is refused: the
 * reader works on what the profile's user would change.
 */
function readerOf(
  settings: ProfileSettings,
  own: ParsedUrl,
  where: string,
):
  | { key: ReaderUse["key"]; user: string; password?: string; params: Record<string, string> }
  | undefined {
  if (settings.readonly_user !== undefined) {
    if (settings.readonly_user === "") {
      throw new SkillError(`The readonly_user of ${where} is empty`);
    }
    return {
      key: "readonly_user",
      user: settings.readonly_user,
      password: settings.readonly_password,
      params: {},
    };
  }
  if (settings.readonly_url === undefined) return undefined;
  const what = `The readonly_url of ${where}`;
  const parsed = parseConnectionUrl(settings.readonly_url, what);
  if (!parsed.user) {
    throw new UsageError(
      `${what} names no user; give the reader role as postgresql://<user>:<password>@`,
    );
  }
  for (const part of ["host", "port", "database"] as const) {
    if (parsed[part] !== undefined && parsed[part] !== own[part]) {
      throw new UsageError(
        `${what} names another ${part} than the profile ("${parsed[part]}"); the reader ` +
          `connects where the profile does: give only its user and password ` +
          `(postgresql://<user>:<password>@)`,
      );
    }
  }
  const other = Object.keys(parsed.params).find((key) => !READER_URL_PARAMS.includes(key));
  if (other !== undefined) {
    throw new UsageError(
      `${what} has parameter "${other}"; the reader connects with the profile's settings, ` +
        `so only ${
          READER_URL_PARAMS.filter((p) => !["user", "password"].includes(p)).join(", ")
        } ` +
        `may be given there`,
    );
  }
  const { user: _user, password: _password, ...params } = parsed.params;
  return { key: "readonly_url", user: parsed.user, password: parsed.password, params };
}

/** The URL parsed, and the target's fields that come from the profile or the call, not the URL. */
type FinishInput =
  & { parsed: ParsedUrl; env: Environment }
  & Pick<ConnectionTarget, "sslmode" | "sslFallback" | "connectTimeoutSeconds" | "parameters">
  & Pick<
    ConnectionTarget,
    | "source"
    | "urlVariable"
    | "profile"
    | "tomlPath"
    | "projectRoot"
    | "reader"
    | "databaseOverridden"
  >;

function finish(input: FinishInput): ConnectionTarget {
  const { parsed, env } = input;
  const params = parsed.params;
  const parameters = { ...input.parameters };
  if (params.application_name && !env.DB_APPLICATION_NAME) {
    parameters.application_name = params.application_name;
  }
  if (params.options) parameters.options = params.options;
  const host = parsed.host || "localhost";
  const socket = host.startsWith("/");
  // As libpq: sslrootcert=system without an sslmode means verify-full.
  const systemRoots = params.sslrootcert === "system" && params.sslmode === undefined;
  const port = parsed.port ?? 5432;
  const user = parsed.user || env.USER || "postgres";
  const database = parsed.database || parsed.user || "postgres";
  return {
    host,
    port,
    user,
    password: parsed.password ??
      passwordFromEnvironment(env, { host, port, database, user }, params.passfile),
    database,
    // libpq never uses SSL over a Unix socket.
    sslmode: socket ? "disable" : systemRoots ? "verify-full" : input.sslmode,
    sslFallback: socket || systemRoots ? false : input.sslFallback,
    sslrootcert: params.sslrootcert,
    hostaddr: socket ? undefined : params.hostaddr,
    sslcert: params.sslcert,
    sslkey: params.sslkey,
    channelBinding: params.channel_binding as ChannelBinding | undefined,
    targetSessionAttrs: params.target_session_attrs as TargetSessionAttrs | undefined,
    sslNegotiation: params.sslnegotiation as "postgres" | "direct" | undefined,
    connectTimeoutSeconds: params.connect_timeout !== undefined
      ? parseConnectTimeout(params.connect_timeout, "connect_timeout")
      : input.connectTimeoutSeconds,
    parameters,
    source: input.source,
    urlVariable: input.urlVariable,
    profile: input.profile,
    tomlPath: input.tomlPath,
    projectRoot: input.projectRoot,
    ...(input.reader ? { reader: input.reader } : {}),
    ...(input.databaseOverridden ? { databaseOverridden: true } : {}),
  };
}

/**
 * A password not given in the URL or profile comes, as with libpq, from
 * `PGPASSWORD`, then from the password file (`passfile`, `PGPASSFILE`, default
 * `~/.pgpass`, ignored unless private), whose lines are
 * `host:port:database:user:password` with `*` wildcards.
 */
function passwordFromEnvironment(
  env: Environment,
  key: { host: string; port: number; database: string; user: string },
  passfile?: string,
): string | undefined {
  if (env.PGPASSWORD) return env.PGPASSWORD;
  const file = passfile || env.PGPASSFILE || (env.HOME ? `${env.HOME}/.pgpass` : undefined);
  if (!file) return undefined;
  let text: string;
  try {
    if ((Deno.statSync(file).mode ?? 0) & 0o077) return undefined;
    text = Deno.readTextFileSync(file);
  } catch {
    return undefined;
  }
  const host = key.host.startsWith("/") ? "localhost" : key.host;
  const wanted = [host, String(key.port), key.database, key.user];
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    const fields: string[] = [];
    let current = "";
    for (let i = 0; i < line.length; i++) {
      if (line[i] === "\\" && i + 1 < line.length) current += line[++i];
      else if (line[i] === ":" && fields.length < 4) {
        fields.push(current);
        current = "";
      } else current += line[i];
    }
    fields.push(current);
    if (fields.length !== 5) continue;
    if (wanted.every((value, i) => fields[i] === "*" || fields[i] === value)) {
      return fields[4];
    }
  }
  return undefined;
}
