/**
 * The client tools as a script finds them: where the profiles file names a
 * `pg_bin_path` without psql and another folder has one, the user is asked on
 * a terminal whether to save that folder instead.
 *
 * @module
 */
import type { ConnectionTarget } from "../connection/target.ts";
import { type ClientTools, resolveClientTools, savePgBinPath } from "../tools/client_tools.ts";
import { askLine, canAsk } from "./prompt.ts";

/** {@linkcode resolveClientTools}, then the question about a replaceable `pg_bin_path`. */
export async function findClientTools(
  target?: Pick<ConnectionTarget, "source">,
): Promise<ClientTools> {
  const tools = await resolveClientTools(target);
  const replacement = tools.replaceablePgBinPath;
  if (replacement && canAsk()) {
    const answer = await askLine(`Replace pg_bin_path with "${replacement.detected}"? [y/N] `);
    if (/^y(es)?$/i.test(answer?.trim() ?? "")) await savePgBinPath(tools);
  }
  return tools;
}
