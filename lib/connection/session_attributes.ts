/**
 * `target_session_attrs` checked on an open session, as libpq checks it with
 * one host.
 *
 * @module
 */
import { SkillError } from "../core/errors.ts";
import type { PgSession } from "./session.ts";
import { type ConnectionTarget, describeServer, describeSource } from "./target.ts";
import { loadSql } from "../sql/sql_files.ts";

/**
 * Checks `target_session_attrs` on the open session, as libpq does with one
 * host: primary/standby by recovery state, read-write/read-only also by the
 * server's default_transaction_read_only (not counting the read-only mode
 * the skill's own diagnostic sessions ask for).
 */
export async function checkSessionAttributes(
  session: PgSession,
  target: ConnectionTarget,
): Promise<void> {
  const wanted = target.targetSessionAttrs ?? "any";
  if (wanted === "any" || wanted === "prefer-standby") return;
  const { rows } = await session.query(await loadSql("session_state"));
  const inRecovery = rows[0].in_recovery === true;
  const ownReadOnly = target.parameters.default_transaction_read_only === "on";
  const readOnly = inRecovery || (rows[0].read_only_default === true && !ownReadOnly);
  const fails = {
    "read-write": readOnly,
    "read-only": !readOnly,
    primary: inRecovery,
    standby: !inRecovery,
  }[wanted];
  if (fails) {
    const state = wanted === "primary" || wanted === "standby"
      ? inRecovery ? "a standby (in recovery)" : "a primary (not in recovery)"
      : readOnly
      ? "read-only"
      : "read-write";
    throw new SkillError(
      `The server at ${describeServer(target)} is ${state}, but target_session_attrs is ` +
        `"${wanted}" (${describeSource(target)}); connect to another server or change it`,
    );
  }
}
