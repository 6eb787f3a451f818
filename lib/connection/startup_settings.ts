/**
 * The settings a session is opened with (read-only, the timeouts, the pinned
 * lexing settings, the user's own options) and where they travel: in the
 * startup packet's options, or, behind a pooler in transaction mode that
 * refuses or drops those, given by each transaction itself. One read of
 * pg_settings tells whether the startup settings held.
 *
 * @module
 */
import type { Environment } from "../core/environment.ts";
import { SkillError } from "../core/errors.ts";
import { PgServerError, type PgSession, PINNED_SETTINGS, type PooledSettings } from "./session.ts";
import { checkUserOptions } from "./resolve.ts";
import { type ConnectionTarget, describeSource } from "./target.ts";
import { loadSql } from "../sql/sql_files.ts";

/** The startup settings were accepted but did not take effect (see {@linkcode settingsHeld}). */
export class StartupSettingsDropped extends Error {
  constructor() {
    super("the startup settings did not take effect");
  }
}

/**
 * True when an attempt failed for its startup settings alone: a pooler in
 * transaction mode (PgBouncer) refused them (SQLSTATE 08P01), or accepted
 * and dropped them.
 */
export function startupSettingsRefused(error: unknown): boolean {
  return (error instanceof PgServerError && error.code === "08P01") ||
    error instanceof StartupSettingsDropped;
}

/**
 * The settings whose loss would break a promise (read-only, the timeouts,
 * names resolving in pg_catalog, the lexer's view of strings), by the name
 * pg_settings gives them.
 */
const GUARDED_SETTINGS = [
  "default_transaction_read_only",
  "statement_timeout",
  "lock_timeout",
  "search_path",
  "standard_conforming_strings",
];

/**
 * True when the guarded settings sent in the startup packet are the
 * session's: a pooler may accept the options and drop them (PgBouncer's
 * ignore_startup_parameters = options), leaving a read-write session without
 * timeouts that looks like any other.
 */
export async function settingsHeld(session: PgSession, target: ConnectionTarget): Promise<boolean> {
  const wanted = new Map(
    Object.entries(sessionSettings(target)).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const names = GUARDED_SETTINGS.filter((name) => wanted.has(name));
  if (names.length === 0) return true;
  const { rows } = await session.query(await loadSql("settings_named"), [names]);
  const actual = new Map(rows.map((r) => [String(r.name), String(r.setting)]));
  const same = (a: string, b: string) =>
    /^\d+$/.test(a) && /^\d+$/.test(b)
      ? Number(a) === Number(b)
      : a.replace(/\s+/g, "").toLowerCase() === b.replace(/\s+/g, "").toLowerCase();
  return names.every((name) => actual.has(name) && same(actual.get(name)!, wanted.get(name)!));
}

/**
 * The settings every session carries besides application_name, by name; the
 * pinned ones last, so that they win over the same names from anywhere else.
 * (client_encoding travels as a startup parameter of its own, which the
 * server applies after the options.)
 */
function sessionSettings(target: ConnectionTarget): Record<string, string> {
  const { application_name: _, options: _options, ...settings } = target.parameters;
  const { client_encoding: _encoding, ...pinned } = PINNED_SETTINGS;
  return { DateStyle: "ISO", ...settings, ...pinned };
}

/** The user's own startup options: the URL's, else PGOPTIONS (as libpq). */
function userOptions(target: ConnectionTarget, env: Environment): string {
  const options = target.parameters.options ?? env.PGOPTIONS ?? "";
  checkUserOptions(options);
  return options;
}

/**
 * The startup `options`: the user's, then each session setting as
 * `-c name=value` with spaces and backslashes escaped.
 */
export function startupOptions(target: ConnectionTarget, env: Environment): string {
  const parts = [userOptions(target, env)];
  for (const [name, value] of Object.entries(sessionSettings(target))) {
    parts.push(`-c ${name}=${value.replace(/[\\ ]/g, "\\$&")}`);
  }
  return parts.filter(Boolean).join(" ");
}

/**
 * Behind a pooler: the settings each transaction gives itself, the user's
 * `-c name=value` options among them (other options cannot be applied).
 */
export function pooledSettings(target: ConnectionTarget, env: Environment): PooledSettings {
  const { default_transaction_read_only: readOnly, ...own } = sessionSettings(target);
  const settings: Record<string, string> = {};
  const words = (userOptions(target, env).match(/(?:\\.|\S)+/g) ?? []).map((w) =>
    w.replace(/\\(.)/g, "$1")
  );
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const setting = word === "-c" ? words[++i] : /^(-c|--)/.test(word) ? word.slice(2) : undefined;
    const m = setting?.match(/^([A-Za-z_][\w.]*)=(.*)$/s);
    if (!m) {
      throw new SkillError(
        `The options "${word}" cannot be applied behind a connection pooler in transaction ` +
          `mode; only -c name=value settings can (${describeSource(target)})`,
      );
    }
    settings[m[1].toLowerCase()] = m[2];
  }
  // The user's first, the skill's after them, so that the skill's win as they do at startup
  // (where they come last in the options); read-only is the BEGIN's own.
  for (const [name, value] of Object.entries(own)) {
    delete settings[name.toLowerCase()];
    settings[name] = value;
  }
  if (readOnly === "on") delete settings.default_transaction_read_only;
  return { settings, readOnly: readOnly === "on" };
}
