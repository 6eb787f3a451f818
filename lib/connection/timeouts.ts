/**
 * The time limits of a connection: the connect timeout, which as in libpq
 * covers the TCP connect, SSL and authentication, and how long a server may
 * stay silent while a statement runs.
 *
 * @module
 */
import { ConnectTimeout } from "./connect_errors.ts";
import type { ConnectionTarget } from "./target.ts";

/**
 * `connecting`, failed with {@linkcode ConnectTimeout} when it takes longer
 * than `seconds` (0 waits as long as it takes, as in libpq).
 */
export async function connectWithin<T>(connecting: Promise<T>, seconds: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    if (seconds === 0) return;
    timer = setTimeout(() => reject(new ConnectTimeout()), seconds * 1000);
  });
  try {
    return await Promise.race([connecting, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How long a server may stay silent while a statement runs: its statement
 * timeout (after which the server itself ends the statement and says so)
 * plus the connect timeout, for the answer to travel. Without a statement
 * timeout a statement may run as long as it needs, and only Ctrl-C ends the
 * wait.
 */
export function answerLimitMs(target: ConnectionTarget): number | undefined {
  const statementTimeout = Number(target.parameters.statement_timeout ?? 0);
  if (!(statementTimeout > 0)) return undefined;
  const travel = (target.connectTimeoutSeconds || DEFAULT_ANSWER_TRAVEL_SECONDS) * 1000;
  return statementTimeout + travel;
}

/** Seconds an answer may take to arrive when PGCONNECT_TIMEOUT says wait forever. */
const DEFAULT_ANSWER_TRAVEL_SECONDS = 10;
