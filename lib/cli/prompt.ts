/**
 * Questions asked on the terminal: a line, yes or no, a secret, the YES that
 * confirms a change to a database. Only scripts ask; library code returns what
 * it needs answered.
 *
 * @module
 */
import { SkillError } from "../core/errors.ts";
import { escapeControl } from "../core/text.ts";

/** True when a person can answer a question: stdin and stderr are terminals. */
export function canAsk(): boolean {
  return Deno.stdin.isTerminal() && Deno.stderr.isTerminal();
}

/**
 * Asks a question on the terminal (prompt on stderr) and returns the answer
 * line without its newline, or undefined at end of input.
 */
export async function askLine(prompt: string): Promise<string | undefined> {
  await Deno.stderr.write(new TextEncoder().encode(escapeControl(prompt)));
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  while (true) {
    const n = await Deno.stdin.read(one);
    if (n === null) {
      return bytes.length ? new TextDecoder().decode(new Uint8Array(bytes)) : undefined;
    }
    if (one[0] === 10) return new TextDecoder().decode(new Uint8Array(bytes)).replace(/\r$/, "");
    bytes.push(one[0]);
  }
}

/** Asks for a line of text; an empty answer takes `fallback` (shown in brackets). */
export async function askText(question: string, fallback = ""): Promise<string> {
  const answer = await askLine(fallback !== "" ? `${question} [${fallback}]: ` : `${question}: `);
  if (answer === undefined) throw new SkillError("Input ended before the answers were complete");
  return answer.trim() === "" ? fallback : answer.trim();
}

/** Asks a yes/no question until it gets y, yes, n, no or an empty answer (the default). */
export async function askYesNo(question: string, fallback: boolean): Promise<boolean> {
  while (true) {
    const answer = await askLine(`${question} [${fallback ? "Y/n" : "y/N"}] `);
    if (answer === undefined) throw new SkillError("Input ended before the answers were complete");
    const word = answer.trim().toLowerCase();
    if (word === "") return fallback;
    if (word === "y" || word === "yes") return true;
    if (word === "n" || word === "no") return false;
  }
}

/**
 * Asks for a secret without echoing it: the terminal is put in raw mode, so
 * nothing typed appears on screen (backspace works, Ctrl-C aborts).
 */
export async function askSecret(question: string): Promise<string> {
  const encoder = new TextEncoder();
  await Deno.stderr.write(encoder.encode(question));
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  Deno.stdin.setRaw(true);
  try {
    while (true) {
      const n = await Deno.stdin.read(one);
      if (n === null || one[0] === 13 || one[0] === 10 || one[0] === 4) break;
      if (one[0] === 3) throw new SkillError("Interrupted; nothing was written");
      if (one[0] === 127 || one[0] === 8) {
        // One character, not one byte: its UTF-8 continuation bytes go with it.
        while (bytes.length > 1 && (bytes.at(-1)! & 0xc0) === 0x80) bytes.pop();
        bytes.pop();
      } else bytes.push(one[0]);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
  const secret = new TextDecoder().decode(new Uint8Array(bytes));
  return secret;
}

/** True when `DB_CONFIRM=YES` confirms every action without a prompt. */
export function confirmedInAdvance(): boolean {
  return Deno.env.get("DB_CONFIRM") === "YES";
}

/**
 * Confirms an action that changes a database. `DB_CONFIRM=YES` confirms it
 * outright; otherwise, on a terminal, the user must type YES; without a
 * terminal the action is refused with the way to confirm it.
 */
export async function confirmAction(question: string): Promise<void> {
  if (confirmedInAdvance()) return;
  if (!canAsk()) {
    throw new SkillError(
      `Not confirmed: ${
        question.replace(/\s*\n\s*/g, " ").replace(/\?$/, "")
      } needs confirmation; ` +
        `run it on a terminal and type YES, or set DB_CONFIRM=YES`,
    );
  }
  const answer = await askLine(`${question} Type YES to confirm: `);
  if (answer?.trim() !== "YES") {
    throw new SkillError("Not confirmed (the answer was not YES); nothing was done");
  }
}
