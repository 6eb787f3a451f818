/**
 * What a script reads from its user: a path as typed, the text given as an
 * argument, a file or stdin.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { decodeUtf8 } from "../core/text.ts";

/**
 * A path the user typed, made absolute from the folder they typed it in (under
 * `deno task` that is `INIT_CWD`, not the skill's folder).
 */
export function resolveUserPath(path: string): string {
  if (path.trim() === "") throw new UsageError("The file name is empty; give a path");
  if (path.startsWith("/")) return path;
  const base = Deno.env.get("INIT_CWD") || Deno.cwd();
  return `${base.replace(/\/$/, "")}/${path}`;
}

/**
 * The text a script works on: the argument, the file given with `-f` (a path
 * as the user typed it), or stdin when the argument is `-`. Exactly one. A
 * file or stdin that is not valid UTF-8 is refused (a usage error naming
 * where), as the server would refuse it, instead of being sent with
 * replacement characters in place of the bytes.
 */
export async function readInputText(
  options: { argument?: string; file?: string; what: string },
): Promise<string> {
  if (options.file !== undefined && options.argument !== undefined) {
    throw new UsageError(
      `Give the ${options.what} once: as an argument, with -f FILE, or - for stdin`,
    );
  }
  if (options.file !== undefined) {
    const path = resolveUserPath(options.file);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch {
      throw new UsageError(`Cannot read "${options.file}"; check the path given to -f`);
    }
    return decodeUtf8(bytes, { source: `The file "${options.file}"` });
  }
  if (options.argument === "-") {
    const bytes = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
    return decodeUtf8(bytes, { source: `The ${options.what} on stdin` });
  }
  if (options.argument === undefined || options.argument.trim() === "") {
    throw new UsageError(
      `Give the ${options.what} as an argument, with -f FILE, or - to read it from stdin`,
    );
  }
  return options.argument;
}
