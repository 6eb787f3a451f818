/**
 * Drives a program on a real pseudo-terminal (util-linux `script`), step by
 * step: wait for a prompt, type the answer, as a person would. Typing only
 * after the prompt appears matters: a terminal echoes input when it arrives,
 * so this is what shows whether a password prompt really turned echo off.
 */

/** A program running on a pseudo-terminal. */
export class Terminal {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #output = "";
  #seen = 0;
  #done: Promise<void>;

  constructor(command: string, env: Record<string, string>, cwd?: string) {
    this.#child = new Deno.Command("script", {
      args: ["-qefc", command, "/dev/null"],
      env,
      clearEnv: true,
      cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    const decoder = new TextDecoder();
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) this.#output += decoder.decode(chunk, { stream: true });
    };
    this.#done = Promise.all([drain(this.#child.stdout), drain(this.#child.stderr)]).then(() => {});
  }

  /** Everything the terminal has shown so far. */
  get output(): string {
    return this.#output;
  }

  /** Waits until text shown after the last expectation matches `pattern`. */
  async expect(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const rest = this.#output.slice(this.#seen);
      const m = rest.match(pattern);
      if (m) {
        this.#seen += m.index! + m[0].length;
        return m[0];
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`the terminal never showed ${pattern}; it showed:\n${this.#output}`);
  }

  /** Types text (include "\n" for Enter). */
  async type(text: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(text));
  }

  /** Waits for the program to end; returns its exit status and the whole output. */
  async finish(): Promise<{ code: number; output: string }> {
    await this.#writer.close().catch(() => {});
    const status = await this.#child.status;
    await this.#done;
    return { code: status.code, output: this.#output };
  }
}
