/**
 * Transactions whose end must be known: a COMMIT whose answer was lost is
 * looked up on the server and reported as committed, rolled back or unknown,
 * never guessed; work that is always rolled back.
 *
 * @module
 */
import { SkillError } from "../core/errors.ts";
import { type OpenedSession, openSession } from "./connect.ts";
import { ConnectionLostError, type PgSession } from "./session.ts";
import { type ConnectionTarget, describeServer } from "./target.ts";
import { loadSql } from "../sql/sql_files.ts";

/** How a COMMIT ended, when its answer arrived or could be learnt afterwards. */
export interface CommitOutcome {
  /** True when the answer to COMMIT was lost and the server was asked afterwards. */
  learntAfterwards: boolean;
}

/**
 * A COMMIT whose answer never came, with what the server records of it
 * since: `aborted` (nothing was changed), `unknown` (it could not tell, or
 * could not be asked: the changes may or may not be there), or `empty` (the
 * transaction had changed nothing). The message says which, and how to check.
 */
export class CommitLostError extends SkillError {
  /** What the server records of the transaction since (see above). */
  readonly outcome: "aborted" | "unknown" | "empty";
  /** The error for a lost COMMIT whose transaction ended as `outcome`, told in `message`. */
  constructor(outcome: CommitLostError["outcome"], message: string) {
    super(message);
    this.name = "CommitLostError";
    this.outcome = outcome;
  }
}

/** How long to wait for the server to finish a transaction whose client left during COMMIT. */
const COMMIT_SETTLE_MS = 5000;

/**
 * Commits the session's transaction. When the connection is lost before
 * COMMIT's answer arrives, the transaction's id (taken just before) is looked
 * up in a new session: committed returns as a commit (learnt afterwards),
 * anything else is a {@linkcode CommitLostError} that says what the server
 * records (aborted: nothing was changed) or how to find out. Never guesses:
 * a transaction that changed nothing here but whose statements acted outside
 * it (`options.actedOutside`: dblink, a sequence moved ...) is unknown, not
 * harmless.
 */
export async function commitTransaction(
  session: PgSession,
  target: ConnectionTarget,
  options: { actedOutside?: string[] } = {},
): Promise<CommitOutcome> {
  const { rows } = await session.query(await loadSql("transaction_id"));
  const xid = rows[0]?.xid === null || rows[0]?.xid === undefined ? null : String(rows[0].xid);
  try {
    await session.transaction("commit");
    return { learntAfterwards: false };
  } catch (error) {
    if (!(error instanceof ConnectionLostError)) throw error;
    const outside = options.actedOutside ?? [];
    if (xid === null && outside.length) {
      // Nothing here to look up, yet what acted elsewhere stands or not on its own.
      throw new CommitLostError(
        "unknown",
        `The connection to ${describeServer(target)} was lost during COMMIT (${error.message}); ` +
          `this database recorded no change, but the statements also acted outside the ` +
          `transaction (${outside.join("; ")}), and whether that stands is unknown: check it ` +
          `before running them again`,
      );
    }
    if (xid === null) {
      throw new CommitLostError(
        "empty",
        `The connection to ${describeServer(target)} was lost during COMMIT (${error.message}); ` +
          `the transaction had changed nothing, so nothing was changed`,
      );
    }
    const status = await transactionStatus(target, xid);
    if (status === "committed") return { learntAfterwards: true };
    if (status === "aborted") {
      throw new CommitLostError(
        "aborted",
        `The connection to ${describeServer(target)} was lost during COMMIT (${error.message}); ` +
          `the server records transaction ${xid} as aborted: nothing was changed`,
      );
    }
    throw new CommitLostError(
      "unknown",
      `The connection to ${describeServer(target)} was lost during COMMIT (${error.message}) ` +
        `and whether transaction ${xid} committed is unknown (${
          status === undefined ? "the server could not be asked" : `the server says "${status}"`
        }); do not run it again before checking: select pg_xact_status('${xid}')`,
    );
  }
}

/**
 * What the server records for transaction `xid` (`committed`, `aborted`,
 * `in progress`; null when it is too old to know), asked in a session of
 * its own; waits a little while it is still in progress (its backend may
 * not have noticed the lost client yet). Undefined when the server cannot
 * be reached.
 */
export async function transactionStatus(
  target: ConnectionTarget,
  xid: string,
): Promise<string | null | undefined> {
  const sql = await loadSql("transaction_status");
  const deadline = performance.now() + COMMIT_SETTLE_MS;
  let opened: OpenedSession;
  try {
    opened = await openSession(target);
  } catch {
    return undefined;
  }
  try {
    while (true) {
      const { rows } = await opened.session.query(sql, [xid]);
      const status = rows[0]?.status === null ? null : String(rows[0]?.status);
      if (status !== "in progress" || performance.now() > deadline) return status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch {
    return undefined;
  } finally {
    await opened.session.close();
  }
}

/**
 * Runs `work` inside a transaction that is always rolled back, so that
 * whatever it changes is undone (EXPLAIN ANALYZE of a write).
 */
export async function withRollback<T>(
  session: PgSession,
  work: () => Promise<T>,
): Promise<T> {
  await session.transaction("begin");
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await session.transaction("rollback").catch(() => {});
    throw error;
  }
  await session.transaction("rollback");
  return result;
}
