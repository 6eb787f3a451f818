import { loadPgParser } from "../lib/sql/parser.ts";
const { parse } = await loadPgParser();
for (const sql of Deno.args) console.log(JSON.stringify(await parse(sql)));
