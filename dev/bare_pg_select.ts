/**
 * The floor of this design, for `deno task bench`: a bare Deno script that
 * connects with npm:pg (settings from PGHOST, PGPORT, PGUSER, PGPASSWORD,
 * PGDATABASE), runs `select 1` and disconnects. Nothing of the skill is
 * loaded.
 */
import pg from "pg";

const client = new pg.Client();
await client.connect();
await client.query("select 1");
await client.end();
