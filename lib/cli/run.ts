/**
 * A script's body run to an exit status: 0, 1 for a failure, 2 for a usage
 * error, each error one line on stderr, never a stack trace or a password.
 *
 * @module
 */
import { EXIT_FAILURE, EXIT_OK, SkillError } from "../core/errors.ts";
import { escapeControl, maskPasswords } from "../core/text.ts";

/**
 * Runs a script's body and turns its outcome into an exit status: the number it
 * returns (default 0), 1 for a failure, 2 for a usage error. Errors print as one
 * line `<name>: <message>`; set `DB_DEBUG=1` to see a stack trace.
 */
export async function runScript(
  name: string,
  body: () => Promise<number | void>,
): Promise<never> {
  let code: number;
  try {
    code = (await body()) ?? EXIT_OK;
  } catch (error) {
    code = error instanceof SkillError ? error.exitCode : EXIT_FAILURE;
    const message = error instanceof Error ? error.message : String(error);
    // Our own messages are one line by design: a line break in one came from a value (a host
    // name, a path) and is shown escaped, not cut. Anything else shows its first line.
    const text = error instanceof SkillError
      ? `${name}: ${message.trim()}`
      : `${name}: unexpected error: ${firstLine(message)}`;
    console.error(escapeControl(maskPasswords(text), { newlines: false }));
    if (Deno.env.get("DB_DEBUG") === "1" && error instanceof Error && error.stack) {
      console.error(escapeControl(maskPasswords(error.stack)));
    }
  }
  Deno.exit(code);
}

function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? text;
  return line.trim();
}
