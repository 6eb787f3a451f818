#!/usr/bin/env -S deno run --allow-env --allow-read --allow-write --allow-net
/** Lists the statements that cost the most time in total from pg_stat_statements. */
import { runTopStatementsScript } from "../lib/cli/top_statements_script.ts";

await runTopStatementsScript("total");
