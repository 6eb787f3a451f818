/**
 * The signal script, declared once: cancel_backend.ts and terminate_backend.ts
 * take one PID, confirm (YES on a terminal, or `DB_CONFIRM=YES`), signal that
 * session and report what happened to it.
 *
 * @module
 */
import { parseCli } from "./args.ts";
import { runScript } from "./run.ts";
import { confirmAction } from "./prompt.ts";
import { resolveTarget } from "../connection/resolve.ts";
import { parsePid, reportOutcomes, type SignalAction, signalOne } from "../reports/backends.ts";

/** Runs the script that sends `action` to the session whose PID it is given. */
export function runSignalScript(action: SignalAction, usage: string): Promise<never> {
  const name = `${action}_backend`;
  return runScript(name, async () => {
    const { positionals, format } = parseCli({
      name,
      usage,
      formats: ["json", "csv"],
      positionals: { min: 1, max: 1 },
    }, Deno.args);
    const outcomes = await signalOne(await resolveTarget(), {
      pid: parsePid(positionals[0]),
      action,
      confirm: confirmAction,
    });
    return reportOutcomes(outcomes, format);
  });
}
