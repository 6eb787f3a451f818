#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net --allow-run
/** Dumps the schema only (no data) with its comments, leaving out owners and privileges. */
import { runDumpScript } from "../lib/cli/dump_script.ts";

await runDumpScript("schema");
