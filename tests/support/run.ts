/**
 * Running the skill's scripts as a user would: a separate process with the
 * exact permissions of the script's shebang line, a controlled environment,
 * and a throwaway project folder with a `postgres.toml`.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { shellQuote } from "../../lib/core/text.ts";

/** The skill's folder. */
export const SKILL_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** The permission flags in a script's shebang line. */
export async function shebangFlags(script: string): Promise<string[]> {
  const first = (await Deno.readTextFile(join(SKILL_ROOT, "scripts", script))).split("\n")[0];
  const m = first.match(/^#!\/usr\/bin\/env -S deno run (.*)$/);
  if (!m) throw new Error(`${script} has no deno shebang line`);
  return m[1].trim().split(/\s+/);
}

/** What a finished script run left behind. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@linkcode runSkillScript}. */
export interface RunOptions {
  /** Environment variables on top of PATH, HOME and the Deno cache location. */
  env?: Record<string, string>;
  /** Working directory (default: a folder outside the skill). */
  cwd?: string;
  /** Text written to the script's stdin (default: none, stdin closed). */
  stdin?: string;
  /** Run the script through this wrapper command (e.g. unshare). */
  wrapper?: string[];
}

/** The baseline environment: only what any shell has, no DB_* or PG* variables. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${dirname(Deno.execPath())}:/usr/local/bin:/usr/bin:/bin`,
    HOME: Deno.env.get("HOME") ?? "/root",
    NO_COLOR: "1",
  };
  // Keep Deno's cache and the machine's network settings (a proxy, extra CA
  // certificates) even when a test gives the script another HOME.
  env.DENO_DIR = Deno.env.get("DENO_DIR") ?? `${env.HOME}/.cache/deno`;
  const passThrough = [
    "XDG_CACHE_HOME",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "DENO_CERT",
    "DENO_TLS_CA_STORE",
    "NODE_EXTRA_CA_CERTS",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
  ];
  for (const name of passThrough) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  return env;
}

/** A script started in the background: its process and, when it ends, what it left. */
export interface RunningScript {
  child: Deno.ChildProcess;
  result: Promise<RunResult>;
}

/**
 * The command line that runs `scripts/<script>` with its shebang's permissions:
 * the Deno binary first, then its arguments.
 */
export async function skillArgv(
  script: string,
  args: string[] = [],
  denoFlags: string[] = [],
): Promise<string[]> {
  return [
    Deno.execPath(),
    "run",
    ...denoFlags,
    ...await shebangFlags(script),
    join(SKILL_ROOT, "scripts", script),
    ...args,
  ];
}

/** The same command as one shell-quoted line, for a terminal. */
export async function skillCommandLine(script: string, args: string[] = []): Promise<string> {
  return (await skillArgv(script, args)).map(shellQuote).join(" ");
}

/** Starts `scripts/<script>` with its shebang's permissions and returns at once. */
export async function spawnSkillScript(
  script: string,
  args: string[] = [],
  options: RunOptions & { denoFlags?: string[] } = {},
): Promise<RunningScript> {
  const command = await skillArgv(script, args, options.denoFlags);
  const [program, ...rest] = [...(options.wrapper ?? []), ...command];
  const child = new Deno.Command(program, {
    args: rest,
    cwd: options.cwd ?? Deno.env.get("TMPDIR") ?? "/tmp",
    env: { ...baseEnv(), ...options.env },
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const result = child.output().then((out) => {
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  });
  return { child, result };
}

/** Runs `scripts/<script>` with its shebang's permissions; never throws on failure. */
export async function runSkillScript(
  script: string,
  args: string[] = [],
  options: RunOptions & { denoFlags?: string[] } = {},
): Promise<RunResult> {
  return await (await spawnSkillScript(script, args, options)).result;
}

/** A throwaway project: a git-like root with `.skills/postgres/postgres.toml`. */
export interface Project {
  root: string;
  tomlPath: string;
  /** Environment that points the scripts at this project. */
  env: Record<string, string>;
  readToml(): Promise<string>;
  writeToml(text: string): Promise<void>;
  remove(): Promise<void>;
}

/** Creates a project folder (with a `.git` folder so it is its own root) holding `toml`. */
export async function makeProject(toml?: string): Promise<Project> {
  const root = await Deno.makeTempDir({ prefix: "pgskill-project-" });
  await Deno.mkdir(join(root, ".git"));
  await Deno.mkdir(join(root, ".skills", "postgres"), { recursive: true });
  const tomlPath = join(root, ".skills", "postgres", "postgres.toml");
  const project: Project = {
    root,
    tomlPath,
    env: { DB_PROJECT_ROOT: root },
    readToml: () => Deno.readTextFile(tomlPath),
    async writeToml(text: string) {
      await Deno.writeTextFile(tomlPath, text, { mode: 0o600 });
      await Deno.chmod(tomlPath, 0o600);
    },
    remove: () => Deno.remove(root, { recursive: true }),
  };
  if (toml !== undefined) await project.writeToml(toml);
  return project;
}

/** A `postgres.toml` (schema 1) with one profile per entry. */
export function tomlWithProfiles(
  profiles: Record<string, Record<string, string | number | boolean>>,
  options: { pgBinPath?: string; comment?: string } = {},
): string {
  const lines = [
    `# ${options.comment ?? "Test profiles"}`,
    "[configuration]",
    "schema_version = 1",
  ];
  if (options.pgBinPath) lines.push(`pg_bin_path = ${JSON.stringify(options.pgBinPath)}`);
  lines.push("", "[database]", "sslmode = false", "");
  for (const [name, settings] of Object.entries(profiles)) {
    lines.push(`[database.${name}]`);
    for (const [key, value] of Object.entries(settings)) {
      lines.push(`${key} = ${typeof value === "string" ? JSON.stringify(value) : value}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

/** The single-line-error contract: one non-empty line, no stack trace. */
export function isOneLineError(stderr: string): boolean {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  return lines.length === 1 && !/\bat .*:\d+:\d+/.test(stderr);
}

/**
 * Runs a shell command on a real pseudo-terminal (util-linux `script`), typing
 * `input` into it once the terminal shows a question (its last text ends in `?`, `:` or `]`,
 * or `prompt`), as a person would; returns the exit status and everything the
 * terminal showed.
 */
export async function runInTerminal(
  command: string,
  input: string,
  env: Record<string, string>,
  { prompt = /[?:\]] ?$/ }: { prompt?: RegExp } = {},
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("script", {
    args: ["-qefc", command, "/dev/null"],
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let shown = "";
  let asked = false;
  const answer = async () => {
    asked = true;
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    shown += decoder.decode(value, { stream: true });
    if (!asked && prompt.test(shown)) await answer();
  }
  if (!asked) await child.stdin.close().catch(() => {});
  const { code } = await child.status;
  return { code, output: shown + await stderr };
}

/**
 * A wrapper command that runs its arguments in a mount namespace where this
 * machine has no psql at all (the Debian version folders emptied, psql on
 * PATH replaced by a device): a real "psql is not installed". Needs root or
 * user namespaces; fails the test that asks when neither works.
 */
export async function withoutPsql(): Promise<string[]> {
  const hide = [
    "mount -t tmpfs none /usr/lib/postgresql 2>/dev/null || true",
    "for f in /usr/bin/psql /usr/local/bin/psql; do [ -e $f ] && mount --bind /dev/null $f; done",
    'exec "$@"',
  ].join("; ");
  for (const flags of [["-rm"], ["-m"]]) {
    const probe = await new Deno.Command("unshare", { args: [...flags, "true"], stderr: "null" })
      .output().catch(() => undefined);
    if (probe?.success) return ["unshare", ...flags, "sh", "-c", hide, "sh"];
  }
  throw new Error("neither unshare -rm nor unshare -m works here; psql cannot be hidden");
}
