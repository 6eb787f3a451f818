#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists the slowest statements on average (mean execution time) from pg_stat_statements. */
import { runTopStatementsScript } from "../lib/cli/top_statements_script.ts";

await runTopStatementsScript("mean");
