/** Rendering: aligned tables, JSON with numbers as numbers, CSV quoting. */
import assert from "node:assert/strict";
import { renderRecord, renderRows } from "../lib/render.ts";

const rows = {
  columns: ["name", "size", "note"],
  rows: [
    { name: "events", size: 123456, note: 'big,\n"hot"' },
    { name: "t", size: 8, note: null },
  ],
};

Deno.test("table: header, numbers right-aligned, multi-line cells, row count", () => {
  assert.equal(
    renderRows(rows, "table"),
    [
      "name   | size   | note",
      "-------+--------+------",
      "events | 123456 | big,",
      '       |        | "hot"',
      "t      |      8 |",
      "(2 rows)",
    ].join("\n"),
  );
});

Deno.test("table: lists read as comma-separated words, CSV keeps them as JSON", () => {
  const lists = { columns: ["columns"], rows: [{ columns: ["order_id", "line_no"] }] };
  assert.equal(
    renderRows(lists, "table"),
    "columns\n-----------------\norder_id, line_no\n(1 row)",
  );
  assert.equal(renderRows(lists, "csv"), 'columns\n"[""order_id"",""line_no""]"');
});

Deno.test("JSON: an array of objects with numbers and nulls kept", () => {
  assert.deepEqual(JSON.parse(renderRows(rows, "json")), rows.rows);
});

Deno.test("CSV: header and RFC 4180 quoting", () => {
  assert.equal(renderRows(rows, "csv"), 'name,size,note\nevents,123456,"big,\n""hot"""\nt,8,');
});

Deno.test("records: field/value table, JSON object", () => {
  const record = { status: "ok", elapsed_ms: 12, ssl: false };
  assert.equal(
    renderRecord(record, "table"),
    "status     | ok\nelapsed_ms | 12\nssl        | false",
  );
  assert.deepEqual(JSON.parse(renderRecord(record, "json")), record);
  assert.equal(renderRecord(record, "csv"), "field,value\nstatus,ok\nelapsed_ms,12\nssl,false");
});
