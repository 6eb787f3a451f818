/**
 * Numbers the user typed (a limit, a threshold) validated before any use, so
 * that no user text reaches SQL: anything else is a usage error naming where
 * it came from.
 *
 * @module
 */
import { UsageError } from "./errors.ts";

/**
 * Parses a positive integer argument such as a row limit (`bounds.min` 0
 * admits 0 too, where it means "all"). Anything else (a sign, a fraction,
 * SQL text) is a usage error, so no user text reaches SQL.
 */
export function parsePositiveInt(
  text: string,
  what: string,
  bounds: { max: number; min?: 0 | 1 } = { max: 1_000_000 },
): number {
  const min = bounds.min ?? 1;
  const kind = min === 0 ? "a whole number of at least 0" : "a positive integer";
  if (!/^[0-9]{1,9}$/.test(text)) throw new UsageError(`${what} must be ${kind}, got "${text}"`);
  const value = Number(text);
  if (value < min || value > bounds.max) {
    throw new UsageError(`${what} must be between ${min} and ${bounds.max}, got "${text}"`);
  }
  return value;
}

/**
 * Parses a number of at least 0 with up to three decimals (minutes, seconds,
 * a percentage) and at most `max`. Anything else is a usage error naming
 * `what`, so no user text reaches SQL.
 */
export function parseDecimal(text: string, what: string, bounds: { max: number }): number {
  if (!/^\d{1,10}(\.\d{1,3})?$/.test(text)) {
    throw new UsageError(`${what} must be a number of at least 0, got "${text}"`);
  }
  const value = Number(text);
  if (value > bounds.max) {
    throw new UsageError(`${what} must be at most ${bounds.max}, got "${text}"`);
  }
  return value;
}

/**
 * The optional `[limit]` argument of a report: a positive integer up to 10000, else `fallback`.
 * Scripts declare `limit` in their `ScriptSpec` (lib/cli/args.ts) instead, which takes `[limit]` and
 * `--limit N` alike.
 */
export function parseLimit(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : parsePositiveInt(text, "limit", { max: 10_000 });
}
