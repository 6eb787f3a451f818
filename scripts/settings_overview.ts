#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Settings changed from their defaults, where each comes from, and those waiting for a restart. */
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { withSession } from "../lib/connection/script_sessions.ts";
import { cutList, printOutput, renderLists } from "../lib/output/render.ts";
import { resolveTarget } from "../lib/connection/resolve.ts";
import { isPermissionDenied } from "../lib/connection/session.ts";
import { loadSql } from "../lib/sql/sql_files.ts";

const usage = `Usage: settings_overview.ts [limit | --limit N] [--json]

Shows the server's settings in two sections:
  changed   every setting not at its built-in default: current value, default,
            where it comes from (configuration file, command line, ALTER
            DATABASE/ROLE ...), the file and line (visible to superusers and
            pg_read_all_settings), whether it waits for a restart, and what it
            takes to change it (context: postmaster = restart, sighup = reload,
            user/superuser = per session)
  pending   what is not in effect yet: settings changed and reloaded that need
            a restart, and configuration-file entries that cannot be applied
            (a restart is needed, or an error), with file and line. Reading the
            files needs superuser or SELECT on pg_file_settings; without it a
            note says so and only the reloaded ones are listed.
Settings this session set for itself are left out. Read-only. limit: rows per
section (default 200, at most 10000); a section with more says so.

Options:
  --limit N   the same as [limit]
  --json      {"changed": {"rows": [...], "total": N, "truncated": false,
              "limit": N}, "pending": {...}}
  --help      this text

Example:
  ./scripts/settings_overview.ts`;

await runScript("settings_overview", async () => {
  const { format, limit } = parseCli({
    name: "settings_overview",
    usage,
    formats: ["json"],
    limit: { fallback: 200 },
  }, Deno.args);
  const target = await resolveTarget({ session: "diagnostic" });
  const { changed, files } = await withSession(target, async (session) => {
    const changed = (await session.query(await loadSql("settings_changed"))).rows;
    let files: Record<string, unknown>[] | null = null;
    try {
      files = (await session.query(await loadSql("settings_pending"))).rows;
    } catch (error) {
      if (!isPermissionDenied(error)) throw error;
    }
    return { changed, files };
  });
  if (files === null) {
    note(
      "The configuration files cannot be read by this role (pg_file_settings needs superuser " +
        "or a GRANT SELECT); pending lists only settings reloaded and waiting for a restart",
    );
  }
  const fromFiles = new Set((files ?? []).map((f) => f.name));
  const pending = [
    ...changed.filter((s) => s.pending_restart === true && !fromFiles.has(s.name)).map((s) => ({
      name: s.name,
      value_in_effect: s.value,
      new_value: null,
      sourcefile: s.sourcefile,
      sourceline: s.sourceline,
      reason: "changed and reloaded; needs a restart",
    })),
    ...(files ?? []).map((f) => ({
      name: f.name,
      value_in_effect: f.value_in_effect,
      new_value: f.file_value,
      sourcefile: f.sourcefile,
      sourceline: f.sourceline,
      reason: f.reason,
    })),
  ];
  printOutput(renderLists({
    changed: cutList({
      columns: [
        "name",
        "value",
        "default_value",
        "source",
        "sourcefile",
        "sourceline",
        "pending_restart",
        "context",
      ],
      rows: changed,
    }, limit),
    pending: cutList({
      columns: ["name", "value_in_effect", "new_value", "sourcefile", "sourceline", "reason"],
      rows: pending,
    }, limit),
  }, format));
});
