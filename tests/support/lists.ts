/**
 * Reading the one JSON shape of every list script: `{"rows": [...], "total":
 * N, "truncated": bool, "limit": N}`, alone or one per section.
 */
import assert from "node:assert/strict";

/**
 * The rows of one list, after checking its shape: exactly those keys, as many
 * rows as the total allows under the limit, truncated exactly when rows were
 * left out.
 */
// deno-lint-ignore no-explicit-any
export function listRows(doc: unknown): any[] {
  assert.ok(doc !== null && typeof doc === "object" && !Array.isArray(doc), "a list object");
  assert.deepEqual(Object.keys(doc), ["rows", "total", "truncated", "limit"]);
  const { rows, total, truncated, limit } = doc as {
    rows: unknown[];
    total: number;
    truncated: boolean;
    limit: number;
  };
  assert.ok(Array.isArray(rows), "rows is an array");
  assert.ok(Number.isInteger(total) && Number.isInteger(limit) && limit > 0);
  assert.equal(rows.length, Math.min(total, limit), "as many rows as the limit allows");
  assert.equal(truncated, rows.length < total, "truncated exactly when rows are left out");
  return rows;
}

/** Each section of a sectioned list report as its rows, after checking every list's shape. */
// deno-lint-ignore no-explicit-any
export function sectionRows(doc: unknown): Record<string, any[]> {
  assert.ok(doc !== null && typeof doc === "object" && !Array.isArray(doc), "a report object");
  return Object.fromEntries(
    Object.entries(doc as Record<string, unknown>).map(([name, list]) => [name, listRows(list)]),
  );
}
