/**
 * The connection flags of the command line (`--profile`, `--database`), handed
 * over by parseCli and read by resolveTarget. Its own module, importing
 * nothing, so that parsing a command line loads no connection code.
 *
 * @module
 */

/** What the command line said about the connection: `--profile` and `--database`. */
export interface ConnectionFlags {
  /** The value of `--profile`; absent when not given. */
  profile?: string;
  /** The value of `--database`; absent when not given. */
  database?: string;
}

let given: ConnectionFlags = {};

/**
 * The `--profile` and `--database` that the command line gave (checked
 * already), for every `resolveTarget` of this process: kept here,
 * once per process, so that no script's call can leave them out.
 */
export function useConnectionFlags(flags: ConnectionFlags): void {
  given = { ...flags };
}

/** The flags handed over by {@linkcode useConnectionFlags}, or none. */
export function connectionFlags(): ConnectionFlags {
  return { ...given };
}
