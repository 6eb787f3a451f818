/**
 * V8 flags that a script needs even when it is started without them.
 *
 * `--liftoff-only` (run_sql.ts): the parser (npm:libpg-query, WASM) is
 * otherwise tiered up by V8's optimizing compiler (TurboFan) on background
 * threads while the script goes on, and that compilation alone peaks at 40 to
 * 75 MiB, on top of whatever the script holds at the time (a result being
 * streamed). The tasks and the shebangs pass the flag; `deno run -A
 * scripts/run_sql.ts` does not. V8 freezes its flags once it has started
 * (node:v8's setFlagsFromString changes nothing under Deno 2.9), so the only
 * way to get them is to start again with them: the process replaces itself
 * with `execv` (same process id, same stdin, stdout and stderr, same
 * environment, the same command line plus the flag), before it has read any
 * input or opened any connection.
 *
 * This needs the FFI permission (`-A` has it) and Linux's /proc/self/cmdline;
 * without them the script runs on as it was started, with TurboFan.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The flag that keeps WASM on V8's baseline compiler (Liftoff), never tiered up. */
export const LIFTOFF_ONLY = "--liftoff-only";

/**
 * A young generation of 2 MiB semi-spaces instead of up to 16: a script that
 * streams many small values (schema_introspect.ts on 10,000 tables) otherwise
 * grows it to the maximum, about 40 MiB of garbage kept between collections,
 * and peaks above pg_dump (135 MiB against 129); with it, 100 MiB, no slower.
 */
export const SMALL_YOUNG_GENERATION = "--max-semi-space-size=2";

/** True when permission `descriptor` is granted without asking (never prompts). */
function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

/** Where this process's main module is and what relative paths resolve against. */
export interface MainModuleOptions {
  /** The main module's URL (`Deno.mainModule`). */
  mainModule: string;
  /** The directory relative arguments resolve against (`Deno.cwd()`). */
  cwd: string;
}

/**
 * The command line this process would be started again with to get `flag`,
 * or undefined when it needs none or cannot be restarted as it was started:
 * its command line already has V8 flags (passed with --v8-flags or
 * DENO_V8_FLAGS; the user's own are kept as they are), or its main module is
 * not a local file named in `argv` (`deno eval`, a script read from stdin,
 * a remote URL: starting again would not run the same code, or would run it
 * on an emptied stdin).
 *
 * The flag goes right after the `run` subcommand when one precedes the main
 * module (`deno -q run -A script.ts`: global flags may come before `run`),
 * else right before the main module (`deno -A script.ts`).
 */
export function commandLineWithV8Flag(
  argv: string[],
  flag: string,
  options: MainModuleOptions,
): string[] | undefined {
  if ((Deno.env.get("DENO_V8_FLAGS") ?? "") !== "") return undefined;
  if (argv.some((arg) => arg === "--v8-flags" || arg.startsWith("--v8-flags="))) return undefined;
  if (!options.mainModule.startsWith("file:")) return undefined;
  let mainPath: string;
  try {
    mainPath = fileURLToPath(options.mainModule);
  } catch {
    return undefined;
  }
  const script = argv.findIndex((arg, i) => i > 0 && namesMainModule(arg, mainPath, options));
  if (script < 0) return undefined;
  const run = argv.slice(0, script).indexOf("run");
  const at = run > 0 ? run + 1 : script;
  return [...argv.slice(0, at), `--v8-flags=${flag}`, ...argv.slice(at)];
}

/** True when command-line argument `arg` names the file at `mainPath`. */
function namesMainModule(arg: string, mainPath: string, options: MainModuleOptions): boolean {
  if (arg === "" || arg.startsWith("-")) return false;
  if (arg.startsWith("file:")) {
    try {
      return fileURLToPath(arg) === mainPath;
    } catch {
      return false;
    }
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(arg)) return false; // another URL scheme (https:, jsr:, npm:)
  return resolve(options.cwd, arg) === mainPath;
}

/**
 * Starts this process again with V8 flag `flag` when its command line lacks
 * it (see the module's description); returns only when it cannot or need not,
 * and the script then runs as it is. Call it first, before reading input.
 */
export function relaunchWithV8Flag(flag: string): void {
  const cmdline = "/proc/self/cmdline";
  if (Deno.build.os !== "linux") return;
  if (!granted({ name: "ffi" }) || !granted({ name: "read", path: cmdline })) return;
  let argv: string[];
  try {
    argv = Deno.readTextFileSync(cmdline).split("\0").slice(0, -1);
  } catch {
    return;
  }
  const relaunch = commandLineWithV8Flag(argv, flag, {
    mainModule: Deno.mainModule,
    cwd: Deno.cwd(),
  });
  if (!relaunch) return;
  let libc: Deno.DynamicLibrary<{ execv: { parameters: ["buffer", "buffer"]; result: "i32" } }>;
  try {
    libc = Deno.dlopen("libc.so.6", {
      execv: { parameters: ["buffer", "buffer"], result: "i32" },
    });
  } catch {
    return; // Not glibc (musl names it otherwise): run on as started.
  }
  const encoder = new TextEncoder();
  const strings = relaunch.map((arg) => encoder.encode(`${arg}\0`));
  const pointers = new BigUint64Array(strings.length + 1); // NULL-terminated char *argv[]
  strings.forEach((bytes, i) => {
    pointers[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
  });
  // Returns only on failure (the process image stays as it is): then run on as started.
  libc.symbols.execv(encoder.encode(`${Deno.execPath()}\0`), new Uint8Array(pointers.buffer));
  libc.close();
}
