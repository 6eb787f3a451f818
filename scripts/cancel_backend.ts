#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Cancels the running query of one session (the session itself lives on). */
import { runSignalScript } from "../lib/cli/signal_script.ts";

const usage = `Usage: cancel_backend.ts <pid> [--json | --csv]

Cancels the query that session <pid> is running (pg_cancel_backend): the query
fails with a cancel error and the session stays connected.
Asks for confirmation: type YES on a terminal, or set DB_CONFIRM=YES when there
is none. Refuses a PID that is not a positive integer (exit 2), that is no
session of this server, or that is this script's own session (exit 1), and
then signals nothing. Only the query confirmed is cancelled: a session that
runs another one by then (or whose PID a new session took) is left alone.
Reports the result truthfully: signalled, already gone, moved on, or not
permitted (exit 1 unless signalled).

Options:
  --json   the result as JSON
  --csv    the result as CSV
  --help   this text

Example:
  DB_CONFIRM=YES ./scripts/cancel_backend.ts 12345`;

await runSignalScript("cancel", usage);
