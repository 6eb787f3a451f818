/**
 * The index advisor's candidates from a table's uses (lib/reports/index_advisor/candidates.ts):
 * which are proposed, in which order, which an existing index already serves, and the names
 * and statements made for them.
 */
import assert from "node:assert/strict";
import {
  candidateLabel,
  candidatesFor,
  type ExistingIndex,
  indexDefinition,
  indexName,
  type TableFacts,
} from "../../lib/reports/index_advisor/candidates.ts";
import { noUses, type RelationUses } from "../../lib/reports/index_advisor/plan_uses.ts";

function table(indexes: ExistingIndex[] = [], name = "orders"): TableFacts {
  const columns = new Map([
    ["id", { quoted: "id", distinct: -1 }],
    ["customer_id", { quoted: "customer_id", distinct: 5000 }],
    ["status", { quoted: "status", distinct: 4 }],
    ["placed", { quoted: "placed", distinct: -0.5 }],
    ["note", { quoted: "note", distinct: null }],
    ["Shop Id", { quoted: '"Shop Id"', distinct: 20 }],
    ["deleted", { quoted: "deleted", distinct: 2 }],
  ]);
  return {
    oid: 1,
    schemaOid: 2,
    schema: "public",
    schemaQuoted: "public",
    name,
    qualified: `public.${name}`,
    kind: "r",
    rows: 100_000,
    heapBytes: 8192 * 1000,
    leafPartitions: [],
    partitions: 0,
    columns,
    indexes,
  };
}

function uses(parts: Partial<RelationUses>): RelationUses {
  return { ...noUses("public", "orders"), ...parts };
}

function btree(keys: (string | null)[], extra: Partial<ExistingIndex> = {}): ExistingIndex {
  return { name: "i", keys, include: [], partial: false, valid: true, method: "btree", ...extra };
}

const labels = (found: ReturnType<typeof candidatesFor>) => found.map(candidateLabel);

Deno.test("equality columns lead, the most selective first, then the range column", () => {
  const found = candidatesFor(
    uses({ equal: new Set(["status", "customer_id"]), range: new Set(["placed"]) }),
    table(),
  );
  assert.deepEqual(labels(found).slice(0, 3), [
    "public.orders (customer_id, status, placed)",
    "public.orders (customer_id, status)",
    "public.orders (customer_id)",
  ]);
  // n_distinct below 0 is a share of the rows: -0.5 of 100,000 is more than 5000.
  const [first] = candidatesFor(
    uses({ equal: new Set(["customer_id", "placed"]) }),
    table(),
  );
  assert.equal(candidateLabel(first), "public.orders (placed, customer_id)");
});

Deno.test("an index whose leading keys are the candidate's serves it; a partial or invalid one does not", () => {
  const query = uses({ equal: new Set(["customer_id"]) });
  assert.deepEqual(labels(candidatesFor(query, table([btree(["customer_id", "placed"])]))), []);
  assert.deepEqual(labels(candidatesFor(query, table([btree(["placed", "customer_id"])]))), [
    "public.orders (customer_id)",
  ]);
  for (
    const index of [
      btree(["customer_id"], { partial: true }),
      btree(["customer_id"], { valid: false }),
    ]
  ) {
    assert.deepEqual(labels(candidatesFor(query, table([index]))), ["public.orders (customer_id)"]);
  }
  // An expression key (null) serves nothing after it.
  assert.deepEqual(labels(candidatesFor(query, table([btree([null, "customer_id"])]))), [
    "public.orders (customer_id)",
  ]);
});

Deno.test("ORDER BY ... LIMIT after equality; directions kept only when mixed", () => {
  const sorted = (descending: boolean[]) =>
    labels(candidatesFor(
      uses({
        equal: new Set(["customer_id"]),
        sorts: [{
          columns: [{ name: "placed", descending: descending[0] }, {
            name: "id",
            descending: descending[1],
          }],
          limited: true,
        }],
      }),
      table(),
    ));
  assert.ok(sorted([true, true]).includes("public.orders (customer_id, placed, id)"));
  assert.ok(sorted([true, false]).includes("public.orders (customer_id, placed DESC, id)"));
});

Deno.test("partial indexes for tests every wanted row passes, on few-valued columns only", () => {
  const found = labels(candidatesFor(
    uses({
      equal: new Set(["customer_id", "status", "placed"]),
      constants: [
        { column: "status", test: "= 'open'", negated: false },
        { column: "placed", test: "= '2024-01-01'", negated: false },
        { column: "note", test: "IS NULL", negated: false },
        { column: "deleted", test: "", negated: true },
      ],
    }),
    table(),
  ));
  assert.ok(
    found.includes("public.orders (placed, customer_id) WHERE status = 'open'"),
    found.join("; "),
  );
  assert.ok(found.includes("public.orders (placed, customer_id, status) WHERE note IS NULL"));
  assert.ok(found.includes("public.orders (placed, customer_id, status) WHERE NOT deleted"));
  assert.ok(!found.some((label) => label.includes("2024-01-01")), "placed has many values");
});

Deno.test("INCLUDE only when the rest the query reads is small and not the whole row", () => {
  const found = labels(candidatesFor(
    uses({ equal: new Set(["customer_id"]), outputs: new Set(["id", "placed"]) }),
    table(),
  ));
  assert.ok(found.includes("public.orders (customer_id) INCLUDE (id, placed)"), found.join("; "));
  const everything = labels(candidatesFor(
    uses({ equal: new Set(["customer_id"]), outputs: new Set(table().columns.keys()) }),
    table(),
  ));
  assert.ok(!everything.some((label) => label.includes("INCLUDE")), everything.join("; "));
});

Deno.test("names are lower-case words ending in _idx, at most 63 bytes, never taken", () => {
  const [candidate] = candidatesFor(
    uses({ equal: new Set(["Shop Id"]) }),
    table([], "A".repeat(80)),
  );
  const name = indexName(candidate, new Set());
  assert.match(name, /^[a-z0-9_]+_idx$/);
  assert.ok(name.length <= 63, name);
  const next = indexName(candidate, new Set([name]));
  assert.notEqual(next, name);
  assert.ok(next.length <= 63 && next.endsWith("_1_idx"), next);
  assert.equal(
    indexDefinition(candidate, { name, concurrently: true }),
    `CREATE INDEX CONCURRENTLY ${name} ON public.${"A".repeat(80)} USING btree ("Shop Id")`,
  );
});

Deno.test("a column the table lacks is never proposed nor written", () => {
  const found = candidatesFor(uses({ equal: new Set(["ctid", "customer_id"]) }), table());
  assert.deepEqual(labels(found), ["public.orders (customer_id)"]);
  assert.throws(() =>
    indexDefinition({ ...found[0], keys: [{ name: "x); drop table t; --", descending: false }] })
  );
});
