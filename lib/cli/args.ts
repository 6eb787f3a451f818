/**
 * The command line of a script: its options, `--help`, the connection flags,
 * the output format, the limit of a report.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { EXIT_OK, UsageError } from "../core/errors.ts";
import { escapeControl } from "../core/text.ts";
import { parseLimit } from "../core/numbers.ts";
import { checkProfileName } from "../config/profile_name.ts";
import { useConnectionFlags } from "../connection/flags.ts";
import type { OutputFormat } from "../output/render.ts";

/** One option a script accepts, in the shape `node:util` parseArgs takes. */
export interface OptionSpec {
  /** Whether the option takes a value ("string") or is a flag ("boolean"). */
  type: "string" | "boolean";
  /** The one-letter alias, without its "-"; absent when the option has none. */
  short?: string;
  /** The option may repeat, and its value is then the list of every occurrence. */
  multiple?: boolean;
}

/** The value of one option as parsed: a string or a flag, a list of them when it repeats. */
export type OptionValue<S extends OptionSpec> = S["type"] extends "boolean"
  ? (S["multiple"] extends true ? boolean[] : boolean)
  : (S["multiple"] extends true ? string[] : string);

/** The values of a script's declared options, each absent when not given. */
export type OptionValues<O extends Record<string, OptionSpec>> =
  & { [K in keyof O]?: OptionValue<O[K]> }
  & { profile?: string; database?: string };

/** What a script declares about itself so that {@linkcode parseCli} can parse it. */
export interface ScriptSpec<O extends Record<string, OptionSpec> = Record<never, OptionSpec>> {
  /** The script's file name without extension, used as the prefix of error lines. */
  name: string;
  /** The full `--help` text. */
  usage: string;
  /** Options beyond `--help` (and `--json`/`--csv` when `formats` is set). */
  options?: O;
  /** Output formats besides the table; adds `--json` and/or `--csv`. */
  formats?: ("json" | "csv")[];
  /** Smallest and largest number of positional arguments accepted. */
  positionals?: { min: number; max: number };
  /**
   * The script lists rows up to a limit: it takes `[limit]`, the positional
   * after its own, or `--limit N` (not both), 1 to 10000; `fallback` when
   * neither is given. The result is {@linkcode ParsedCli.limit}.
   */
  limit?: { fallback: number };
  /**
   * Pass the arguments through (psql wrapper): only the script's own options
   * (and the connection flags) are read, and only as long as they lead; from
   * the first other argument (or after a `--`) everything is a positional,
   * untouched. `--help` counts only as a leading argument, `-h` only alone.
   */
  passthrough?: boolean;
  /**
   * The script resolves a connection (default true): it takes `--profile NAME`
   * and `--database NAME` ({@linkcode CONNECTION_OPTIONS}), which
   * `resolveTarget` then uses, and its `--help` lists them. A script that never
   * connects says false and refuses them as unknown options.
   */
  connects?: boolean;
}

/**
 * The connection flags every connecting script takes. An explicit flag wins
 * over the environment: `--profile` over `DB_PROFILE` and over `DB_URL`;
 * `--database` keeps the credentials (of the profile, or of `DB_URL`) and
 * changes only the database.
 */
export const CONNECTION_OPTIONS: Record<"profile" | "database", OptionSpec> = {
  profile: { type: "string" },
  database: { type: "string" },
};

/** The usage lines of {@linkcode CONNECTION_OPTIONS}, added to each connecting script's help. */
const CONNECTION_USAGE: Record<keyof typeof CONNECTION_OPTIONS, string> = {
  profile: "  --profile NAME    the profile in postgres.toml to use (wins over DB_PROFILE and\n" +
    "                    over DB_URL)",
  database: "  --database NAME   another database on the same server, with the same\n" +
    "                    credentials (the profile's, or DB_URL's)",
};

/** The longest database name PostgreSQL keeps (NAMEDATALEN - 1 bytes); it cuts longer ones. */
const MAX_NAME_BYTES = 63;

function recordConnectionFlags(values: RawValues): void {
  const profile = values.profile as string | undefined;
  const database = values.database as string | undefined;
  if (profile !== undefined) checkProfileName(profile, "--profile");
  if (database !== undefined) {
    // Sent as the startup packet's database, never in SQL; the server would cut a longer name
    // and connect to whatever database the cut name is.
    const bytes = new TextEncoder().encode(database).length;
    if (database === "" || database.includes("\0") || bytes > MAX_NAME_BYTES) {
      throw new UsageError(
        `Invalid database name "${database}" given to --database; give a name of 1 to ` +
          `${MAX_NAME_BYTES} bytes without NUL`,
      );
    }
  }
  useConnectionFlags({ profile, database });
}

/** The `--help` text: the script's own, with the connection flags it does not list itself. */
function helpText(spec: ScriptSpec<Record<string, OptionSpec>>): string {
  const usage = spec.usage.trimEnd();
  if (spec.connects === false) return usage;
  const lines = (Object.keys(CONNECTION_USAGE) as (keyof typeof CONNECTION_USAGE)[])
    // A script that explains a flag in its own options list keeps its own words.
    .filter((name) => !new RegExp(`^ +--${name} NAME`, "m").test(usage))
    .map((name) => CONNECTION_USAGE[name]);
  if (!lines.length) return usage;
  const fragment = `Connection:\n${lines.join("\n")}`;
  // Before the example, which stays the last thing the help shows.
  const example = usage.search(/\n\nExamples?:\n(?![\s\S]*\n\nExamples?:\n)/);
  return example === -1
    ? `${usage}\n\n${fragment}`
    : `${usage.slice(0, example)}\n\n${fragment}${usage.slice(example)}`;
}

/** The parsed command line, typed by the options the script declared. */
export interface ParsedCli<O extends Record<string, OptionSpec> = Record<never, OptionSpec>> {
  /** The options given, by name; one not given is absent. */
  values: OptionValues<O>;
  /** The arguments that are not options, in order, without the limit when it was one of them. */
  positionals: string[];
  /** The output format asked for: "table" unless `--json` or `--csv` was given. */
  format: OutputFormat;
  /** The limit of a script whose spec has `limit` (0 for one without). */
  limit: number;
}

/**
 * Parses `args` strictly: unknown flags, missing values and the wrong number of
 * positionals are usage errors. `--help` prints the usage and exits 0.
 */
export function parseCli<const O extends Record<string, OptionSpec> = Record<never, OptionSpec>>(
  spec: ScriptSpec<O>,
  args: string[],
): ParsedCli<O> {
  if (spec.passthrough) return parsePassthrough(spec, args) as ParsedCli<O>;
  if (args.includes("--help") || args.includes("-h")) {
    console.log(helpText(spec));
    Deno.exit(EXIT_OK);
  }
  const options: Record<string, OptionSpec> = {
    ...(spec.connects === false ? {} : CONNECTION_OPTIONS),
    ...spec.options,
  };
  if (spec.limit) options.limit = { type: "string" };
  for (const format of spec.formats ?? []) options[format] = { type: "boolean" };
  const end = args.indexOf("--");
  const takesValue = (arg: string) =>
    Object.entries(options).some(([name, option]) =>
      option.type === "string" && (arg === `--${name}` || arg === `-${option.short}`)
    );
  const text = (end === -1 ? args : args.slice(0, end)).find((arg, i) =>
    /^-/.test(arg) && /\s/.test(arg.split("=")[0]) && !(i > 0 && takesValue(args[i - 1]))
  );
  if (text !== undefined) {
    // SQL that opens with a comment ("-- why ...") reads as an option otherwise.
    const shown = escapeControl(text.length > 40 ? `${text.slice(0, 40)}...` : text, {
      newlines: false,
    });
    throw new UsageError(
      `The argument "${shown}" starts with "-" but is not an option; put -- before it ` +
        `(${spec.name}.ts [options] -- "<text>"), or pass it with -f FILE or on stdin`,
    );
  }
  const parsed = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of parsed.tokens) {
    if (token.kind === "option") checkOptionToken(token, options);
  }
  const positionals = parsed.positionals;
  const own = spec.positionals ?? { min: 0, max: 0 };
  const { min } = own;
  // The limit, when given as a positional, is the one after the script's own.
  const max = own.max + (spec.limit ? 1 : 0);
  if (positionals.length < min) {
    throw new UsageError(
      `Missing argument (expected ${
        min === max ? min : `at least ${min}`
      }); run with --help for usage`,
    );
  }
  if (positionals.length > max) {
    throw new UsageError(
      `Unexpected argument "${positionals[max]}"; run with --help for usage`,
    );
  }
  const values = parsed.values as RawValues;
  if (values.json && values.csv) {
    throw new UsageError("Choose one of --json and --csv, not both");
  }
  const format: OutputFormat = values.json ? "json" : values.csv ? "csv" : "table";
  if (spec.connects !== false) recordConnectionFlags(values);
  let limit = 0;
  if (spec.limit) {
    const given = positionals.length > own.max ? positionals.pop() : undefined;
    if (given !== undefined && values.limit !== undefined) {
      throw new UsageError(
        `Give the limit once, as [limit] or --limit N, not both (got "${given}" and ` +
          `"${values.limit}")`,
      );
    }
    limit = parseLimit(given ?? values.limit as string | undefined, spec.limit.fallback);
  }
  return { values: values as OptionValues<O>, positionals, format, limit };
}

/** What parseArgs returns before the options are known to match their declarations. */
type RawValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

type OptionToken = Extract<
  NonNullable<ReturnType<typeof parseArgs>["tokens"]>[number],
  { kind: "option" }
>;

/**
 * Refuses an option that the script does not declare, a flag given a value, an
 * option that needs a value and has none, and a value that starts with "-" given
 * as the next argument (`--database -x` is more likely a forgotten value than a
 * database named "-x"; `--database=-x` says it is one).
 */
function checkOptionToken(token: OptionToken, options: Record<string, OptionSpec>): void {
  const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
  const name = token.rawName.startsWith("--") ? token.rawName : `--${token.name}`;
  if (!option) {
    throw new UsageError(`Unknown option "${token.rawName}"; run with --help for usage`);
  }
  if (option.type === "boolean" && token.value !== undefined) {
    throw new UsageError(`Option "${name}" takes no value; run with --help for usage`);
  }
  if (option.type !== "string") return;
  if (token.value === undefined) {
    throw new UsageError(`Option "${token.rawName}" needs a value; run with --help for usage`);
  }
  if (!token.inlineValue && token.value.length > 1 && token.value.startsWith("-")) {
    throw new UsageError(
      `The value given to ${token.rawName} starts with "-"; write it as ${name}=<value>; ` +
        `run with --help for usage`,
    );
  }
}

/**
 * A passthrough script's command line: its own options and the connection
 * flags while they lead (`--name value` or `--name=value`), then everything
 * else untouched as positionals.
 */
function parsePassthrough(spec: ScriptSpec<Record<string, OptionSpec>>, args: string[]): ParsedCli {
  if ((args.length === 1 && args[0] === "-h")) {
    console.log(helpText(spec));
    Deno.exit(EXIT_OK);
  }
  const options: Record<string, OptionSpec> = {
    ...(spec.connects === false ? {} : CONNECTION_OPTIONS),
    ...spec.options,
  };
  const values: RawValues = {};
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      i++;
      break;
    }
    if (arg === "--help") {
      console.log(helpText(spec));
      Deno.exit(EXIT_OK);
    }
    const match = arg.match(/^--([a-z][a-z0-9-]*)(?:=([\s\S]*))?$/);
    const option = match ? options[match[1]] : undefined;
    if (!match || !option) break;
    const [, name, inline] = match;
    if (option.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`Option "--${name}" takes no value`);
      values[name] = true;
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`Option "--${name}" needs a value`);
    values[name] = value;
  }
  if (spec.connects !== false) recordConnectionFlags(values);
  return { values, positionals: args.slice(i), format: "table", limit: 0 };
}
