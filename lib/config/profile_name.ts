/**
 * What may name a profile: `[database.<name>]` in the profiles file, `--profile`,
 * `DB_PROFILE`. Its own module so that the command line checks a name without
 * loading the TOML parser.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";

/** Profile names: lowercase letters, digits and underscores. */
export const PROFILE_NAME = /^[a-z0-9_]+$/;

/**
 * Refuses a profile name the user gave (a flag, `DB_PROFILE`) that cannot name a
 * profile: a usage error naming `given`, where it came from, when known.
 */
export function checkProfileName(name: string, given?: string): void {
  if (PROFILE_NAME.test(name)) return;
  throw new UsageError(
    `Invalid profile name "${name}"${given ? ` given to ${given}` : ""}; use lowercase ` +
      `letters, digits and underscores only`,
  );
}
