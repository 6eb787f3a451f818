/**
 * The SQL report, declared once: a script that parses its arguments, resolves
 * a diagnostic session, runs one `sql/` file and renders its rows as a list
 * cut at a limit (the table, `--json` or `--csv`), saying when it was cut.
 *
 * @module
 */
import { type OptionSpec, parseCli, type ParsedCli, type ScriptSpec } from "./args.ts";
import { runScript } from "./run.ts";
import { note } from "../core/text.ts";
import { resolveTarget } from "../connection/resolve.ts";
import { querySqlFile } from "../connection/script_sessions.ts";
import { countedList, cutList, printOutput, renderList, resultRows } from "../output/render.ts";

/** What a list report declares: its arguments, its `sql/` file and the parameters it binds. */
export interface SqlReportSpec<O extends Record<string, OptionSpec>>
  extends Omit<ScriptSpec<O>, "formats" | "limit"> {
  /** The `sql/` file, without `.sql`. */
  sql: string;
  /** Rows listed when no limit is given. */
  limit: number;
  /** The parameters bound to the query, from the parsed arguments (default: the limit). */
  params?: (cli: ParsedCli<O>) => unknown[];
  /**
   * How the total is known: `column` (default) from the query's `total`
   * column, the query itself stopping at the limit; `rows` by reading every
   * row, for a query whose rows are few by nature (one per session).
   */
  total?: "column" | "rows";
  /** What an empty list means, said on stderr (the threshold it used, where to look instead). */
  empty?: (cli: ParsedCli<O>) => string;
}

/** Runs a list report as a whole script: exit 0 with the list, else the error line. */
export function runSqlReport<const O extends Record<string, OptionSpec>>(
  spec: SqlReportSpec<O>,
): Promise<never> {
  return runScript(spec.name, async () => {
    const cli = parseCli(
      { ...spec, formats: ["json", "csv"], limit: { fallback: spec.limit } },
      Deno.args,
    );
    const target = await resolveTarget({ session: "diagnostic" });
    const result = await querySqlFile(target, spec.sql, spec.params?.(cli) ?? [cli.limit]);
    const list = spec.total === "rows"
      ? cutList(resultRows(result), cli.limit)
      : countedList(resultRows(result), cli.limit);
    printOutput(renderList(list, cli.format));
    if (list.total === 0 && spec.empty) note(spec.empty(cli));
  });
}
