/**
 * Waiting in tests for something that happens elsewhere (a server, another
 * process), with one deadline and one failure message.
 */
import type { Cluster } from "./cluster.ts";

/** Polls `check` every `everyMs` until it holds; fails after `timeoutMs`, naming `what`. */
export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  options: { timeoutMs?: number; everyMs?: number } = {},
): Promise<void> {
  const every = options.everyMs ?? 50;
  const deadline = performance.now() + (options.timeoutMs ?? 20_000);
  while (performance.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The PID of a session of application `app` that is running a statement
 * (optionally one matching `query`, a POSIX regular expression), once there is one.
 */
export async function activeSession(
  cluster: Cluster,
  app: string,
  query = ".",
): Promise<number> {
  let pid = 0;
  await waitFor(async () => {
    const rows = await cluster.sql(
      `select pid from pg_stat_activity
        where application_name = '${app.replaceAll("'", "''")}' and state = 'active'
          and query ~ '${query.replaceAll("'", "''")}'`,
    );
    pid = rows.length ? rows[0].pid as number : 0;
    return pid !== 0;
  }, `a running statement of ${app}`);
  return pid;
}
