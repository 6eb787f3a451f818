#!/usr/bin/env -S deno run --v8-flags=--liftoff-only --allow-env --allow-read --allow-write --allow-net
/** Turns the pending migrations into one dated released file and clears their changelog entries. */
import { confirmAction } from "../lib/cli/prompt.ts";
import { note } from "../lib/core/text.ts";
import { parseCli } from "../lib/cli/args.ts";
import { runScript } from "../lib/cli/run.ts";
import { appliedOnProfiles } from "../lib/migrations/run.ts";
import { parsePending, resolveMigrationsFolder, shown } from "../lib/migrations/folder.ts";
import { planRelease, releasePending } from "../lib/migrations/release.ts";
import { printOutput, renderRecord } from "../lib/output/render.ts";

const usage = `Usage: migration_release.ts [--name TEXT] [--profile NAME] [--json]

Turns every pending migration in the migrations folder (prerelease.sql,
1_prerelease.sql ... in order; see migration_status.ts) into one released file,
<YYYYMMDD>_<slug>_released.sql, holding their SQL in order, each part headed by
the file it came from; then removes the CHANGELOG.md entries that name those
files, and the files themselves. The slug comes from --name, else from the
message of the files' first changelog entry, else from their first change.
Asks first: YES on a terminal, or DB_CONFIRM=YES without one.
Refused, with nothing changed, when a pending file does not parse, when the
released name is taken, or when the files change while it asks. Nothing already
released is touched; the released file is never written over.
Release once the files are applied where they should be (migration_apply.ts):
before it asks, it reads the database of every profile in the profiles file
(and DB_URL's) for the pending files, as migration_status.ts --applied does,
and says where they are applied, where not or in part, and which could not be
read; it warns when the profile it works with (--profile, else DB_PROFILE,
else "local") does not hold them all. --no-check skips that.

Options:
  --name TEXT      words for the file name ("add orders index")
  --profile NAME   the profile whose migrations_path counts, and whose
                   database must hold the files
  --no-check       do not read the profiles' databases
  --json           {file, released, statements, changelog_entries_removed,
                   applied_on}
  --help           this text

Example:
  DB_CONFIRM=YES ./scripts/migration_release.ts --name "add orders index"`;

await runScript("migration_release", async () => {
  const { values, format } = parseCli({
    name: "migration_release",
    usage,
    connects: false,
    formats: ["json"],
    options: {
      name: { type: "string" },
      profile: { type: "string" },
      "no-check": { type: "boolean" },
    },
  }, Deno.args);
  const folder = await resolveMigrationsFolder(values.profile);
  const plan = await planRelease(folder.absolute, { name: values.name });
  const files = plan.files.map((f) => f.name).join(", ");
  const entries = plan.entries.length;
  const appliedOn = values["no-check"] === true ? [] : await appliedOnProfiles(
    await parsePending(plan.files),
  );
  const lines = appliedOn.map((p) =>
    p.files
      ? `${p.profile}: ${
        p.files.every((f) => f.state === "applied")
          ? "applied"
          : p.files.map((f) => `${f.file} ${f.state}`).join(", ")
      }`
      : `${p.profile}: not read (${p.error})`
  );
  const own = folder.profile;
  const ownState = appliedOn.find((p) => p.profile === own);
  if (ownState?.files?.some((f) => f.state !== "applied" && f.state !== "unknown")) {
    note(
      `warning: profile "${own}" does not hold every pending file (${
        ownState.files.filter((f) => f.state !== "applied").map((f) => `${f.file} ${f.state}`)
          .join(", ")
      }); apply them there first (migration_apply.ts --apply) unless that is meant`,
    );
  }
  await confirmAction(
    `Release ${files} (${plan.statements} statement${plan.statements === 1 ? "" : "s"}) as ` +
      `${shown(folder.projectRoot, `${folder.absolute}/${plan.name}`)}, deleting ` +
      `${plan.files.length === 1 ? "it" : "them"} and ${entries} changelog ` +
      `entr${entries === 1 ? "y" : "ies"}?` +
      (lines.length ? `\nWhere the pending files are found:\n  ${lines.join("\n  ")}` : ""),
  );
  const report = await releasePending(plan);
  note(`Released ${report.released.join(", ")} as ${report.file}.`);
  printOutput(renderRecord(
    {
      ...report,
      ...(appliedOn.length ? { applied_on: format === "json" ? appliedOn : lines } : {}),
    },
    format,
  ));
});
