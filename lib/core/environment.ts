/**
 * The process environment, read in one place. A call that needs it (resolving
 * a connection, finding the project root, running a client tool) takes an
 * {@linkcode Environment} in its options, reads it where the call begins and
 * passes that one value down, so every part of one call sees the same
 * variables, and a test gives its own instead of changing the process's.
 *
 * @module
 */

/** Environment variables by name, as read at one moment. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The process's environment now: what a call uses when its caller passes none. */
export function processEnvironment(): Environment {
  return Deno.env.toObject();
}

/**
 * Runs `make` with the process environment's `names` unset, then puts back
 * what they held: for a library that reads variables of its own while `make`
 * builds something with it (node-postgres's client reads `PGOPTIONS` ...).
 */
export function withoutVariables<T>(names: string[], make: () => T): T {
  const saved = names.map((name) => [name, Deno.env.get(name)] as const);
  for (const [name, value] of saved) if (value !== undefined) Deno.env.delete(name);
  try {
    return make();
  } finally {
    for (const [name, value] of saved) if (value !== undefined) Deno.env.set(name, value);
  }
}
