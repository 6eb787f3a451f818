#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Terminates one session (its transaction is rolled back and it disconnects). */
import { runSignalScript } from "../lib/cli/signal_script.ts";

const usage = `Usage: terminate_backend.ts <pid> [--json | --csv]

Terminates session <pid> (pg_terminate_backend): its open transaction is rolled
back and its connection closed; the result says "terminated" once it is gone.
Asks for confirmation: type YES on a terminal, or set DB_CONFIRM=YES when there
is none. Refuses a PID that is not a positive integer (exit 2), that is no
session of this server, or that is this script's own session (exit 1), and
then signals nothing. Only the session confirmed is terminated: a new session
that took its PID by then is left alone. Reports the result truthfully:
signalled, terminated, already gone, moved on, or not permitted (exit 1 unless
signalled).

Options:
  --json   the result as JSON
  --csv    the result as CSV
  --help   this text

Example:
  DB_CONFIRM=YES ./scripts/terminate_backend.ts 12345`;

await runSignalScript("terminate", usage);
