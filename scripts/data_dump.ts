#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net --allow-run
/** Dumps the data only (no schema), leaving out owners and privileges. */
import { runDumpScript } from "../lib/cli/dump_script.ts";

const usage = `Usage: data_dump.ts [file] [--json]

Dumps the data only (no schema), leaving out owners and privileges,
with pg_dump. The file defaults to data_<profile>_<YYYYMMDD_HHMMSS>.dump in the
current folder. Format: plain SQL when the name ends in .sql, else pg_dump's
custom format (restore it with restore_dump.ts).
The dump goes to a private (0600) temporary file beside the target, which
pg_dump fills through its standard output (no path is opened twice, so a
symlink swapped in meanwhile gets nothing), and is renamed into place only when
pg_dump succeeds: on failure no file appears and an existing file of that name
is left as it was. A symlink is written through (the link stays); a
missing folder, a folder or a read-only file as the target is refused before
connecting. The client tools must be at least as new as the
server; if not, the error says which pg_bin_path to set. On a terminal, a dump
that takes a while shows its progress.

Options:
  --json   the report as JSON
  --help   this text

Example:
  ./scripts/data_dump.ts data.sql`;

await runDumpScript("data", usage);
