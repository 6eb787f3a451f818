/** Rendering: aligned tables, JSON with numbers as numbers, CSV quoting. */
import assert from "node:assert/strict";
import {
  countedList,
  cutList,
  renderList,
  renderLists,
  renderRecord,
  renderRows,
  renderSections,
} from "../../lib/output/render.ts";

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
      "t      |      8",
      "(2 rows)",
    ].join("\n"),
  );
});

Deno.test("table: a line ends at its last non-empty cell, not the padding before it", () => {
  const findings = {
    columns: ["check", "finding", "action"],
    rows: [
      { check: "a", finding: "x".repeat(40), action: "fix it" },
      { check: "b", finding: "short", action: "" },
      { check: "c", finding: "", action: "" },
    ],
  };
  const lines = renderRows(findings, "table").split("\n");
  assert.deepEqual(lines.slice(3, 5), ["b     | short", "c"]);
  assert.equal(lines[2], `a     | ${"x".repeat(40)} | fix it`);
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

Deno.test("CSV: COPY's dialect everywhere, an empty string told from NULL", () => {
  const result = { columns: ["a", "b", "c"], rows: [{ a: "", b: null, c: "\\." }] };
  assert.equal(renderRows(result, "csv"), 'a,b,c\n"",,\\.');
  const alone = { columns: ["only"], rows: [{ only: "\\." }, { only: null }, { only: "" }] };
  assert.equal(renderRows(alone, "csv"), 'only\n"\\."\n\n""');
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

Deno.test("JSON output of exact values", async (t) => {
  const { compactJson, ExactNumber, jsonRowWriter, JsonText, stringifyJson } = await import(
    "../../lib/connection/values.ts"
  );
  const deep = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

  await t.step("anything else is written exactly as JSON.stringify writes it", () => {
    const values: unknown[] = [
      rows.rows,
      { a: [1, "two", null, undefined, () => 1], b: undefined, c: {}, d: [], e: { f: [[]] } },
      { when: new Date(Date.UTC(2026, 10, 25)), nan: NaN, inf: -Infinity, zero: -0, e: 1e21 },
      ['\u2028 \ud800 \u0007 "\\', { "": "", "a\nb": true, false: false }],
      Object.defineProperty({}, "__proto__", { value: 1, enumerable: true }),
      { self: { toJSON: () => ({ toJSON: () => "called twice" }) }, n: { toJSON: () => 1 } },
      "text",
      7,
      null,
    ];
    for (const value of values) {
      assert.equal(stringifyJson(value), JSON.stringify(value));
      assert.equal(stringifyJson(value, { indent: 2 }), JSON.stringify(value, null, 2));
    }
  });

  await t.step("json values are the server's text, numbers the server's digits", () => {
    const row = {
      j: new JsonText('{"a":1,"a":2}'),
      b: new JsonText('{"a": [1, 2], "b": 1.50}'),
      n: new ExactNumber("12345678901234567890.10"),
      list: [new JsonText('{"x" : 1}'), null, new JsonText("1e400")],
    };
    const line = '{"j":{"a":1,"a":2},"b":{"a": [1, 2], "b": 1.50},' +
      '"n":12345678901234567890.10,"list":[{"x" : 1},null,1e400]}';
    assert.equal(stringifyJson(row), line);
    assert.equal(jsonRowWriter(Object.keys(row))(row), line);
    assert.equal(
      renderRows({ columns: Object.keys(row), rows: [row] }, "json"),
      '[\n  {\n    "j": {"a":1,"a":2},\n    "b": {"a": [1, 2], "b": 1.50},\n' +
        '    "n": 12345678901234567890.10,\n    "list": [\n      {"x" : 1},\n      null,\n' +
        "      1e400\n    ]\n  }\n]",
    );
    assert.throws(() => JSON.stringify(row), TypeError, "JSON.stringify would lose the text");
  });

  await t.step("NDJSON lines: insignificant whitespace removed, strings untouched", () => {
    const text = ' {\n\t"a b" : [ 1 ,\r\n 2.50 ] , "s": " x \\" \\\\" , "t":"\\\\" ,"u" : "" }\n';
    const compact = '{"a b":[1,2.50],"s":" x \\" \\\\","t":"\\\\","u":""}';
    assert.equal(compactJson(text), compact);
    assert.equal(compactJson(compact), compact);
    assert.deepEqual(JSON.parse(compact), JSON.parse(text));
    const row = { j: new JsonText(text) };
    assert.equal(jsonRowWriter(["j"], { oneLine: true })(row), `{"j":${compact}}`);
    assert.equal(jsonRowWriter(["j"])(row), `{"j":${text}}`, "--json keeps the server's text");
    const spaced = deep(100_000).split("").join(" \n");
    assert.equal(compactJson(spaced), deep(100_000));
  });

  await t.step("json nested 100,000 deep: every format and renderer", () => {
    const text = deep(100_000);
    const value = new JsonText(text);
    const result = { columns: ["j", "list"], rows: [{ j: value, list: [value, value] }] };
    assert.equal(
      renderRows(result, "json"),
      `[\n  {\n    "j": ${text},\n    "list": [\n      ${text},\n      ${text}\n    ]\n  }\n]`,
    );
    assert.equal(
      renderRows(result, "table"),
      `j${" ".repeat(text.length - 1)} | list\n${"-".repeat(text.length)}-+-` +
        `${"-".repeat(text.length * 2 + 2)}\n${text} | ${text}, ${text}\n(1 row)`,
    );
    assert.equal(renderRows(result, "csv"), `j,list\n${text},"[${text},${text}]"`);
    assert.equal(renderRecord({ plan: value }, "json"), `{\n  "plan": ${text}\n}`);
    assert.equal(renderRecord({ plan: value }, "table"), `plan | ${text}`);
    assert.equal(
      renderSections({ plans: { columns: ["j"], rows: [{ j: value }] } }, "json"),
      `{\n  "plans": [\n    {\n      "j": ${text}\n    }\n  ]\n}`,
    );
  });

  await t.step("tables show json text with control characters escaped", () => {
    const value = new JsonText('{"a":\t"b\\u001b",\n "c": 1}');
    assert.equal(
      renderRows({ columns: ["j"], rows: [{ j: value }] }, "table"),
      'j\n-------------------\n{"a":\\x09"b\\u001b",\n "c": 1}\n(1 row)',
    );
  });
});

Deno.test("lists: one JSON shape, cut or whole; the table and CSV say when cut", () => {
  const rows = [{ n: 1, total: 3 }, { n: 2, total: 3 }];
  const cut = countedList({ columns: ["n", "total"], rows }, 2);
  assert.deepEqual(cut, { columns: ["n"], rows: [{ n: 1 }, { n: 2 }], total: 3, limit: 2 });
  assert.deepEqual(JSON.parse(renderList(cut, "json")), {
    rows: [{ n: 1 }, { n: 2 }],
    total: 3,
    truncated: true,
    limit: 2,
  });
  assert.equal(
    renderList(cut, "table"),
    "n\n-\n1\n2\n(2 of 3 rows shown; limit 2: --limit 3 shows all)",
  );
  const whole = cutList({ columns: ["n"], rows: [{ n: 1 }, { n: 2 }] }, 5);
  assert.deepEqual(JSON.parse(renderList(whole, "json")), {
    rows: [{ n: 1 }, { n: 2 }],
    total: 2,
    truncated: false,
    limit: 5,
  });
  assert.equal(renderList(whole, "table"), "n\n-\n1\n2\n(2 rows)");
  const none = countedList({ columns: ["n", "total"], rows: [] }, 5);
  assert.deepEqual([none.total, none.columns], [0, ["n"]]);
  const huge = { columns: ["n"], rows: [{ n: 1 }], total: 12_345, limit: 1 };
  assert.match(renderList(huge, "table"), /--limit 10000 shows the first 10000\)$/);
  assert.throws(() => countedList({ columns: ["n"], rows: [{ n: 1 }] }, 1), /no "total" column/);
  assert.deepEqual(JSON.parse(renderLists({ a: cut, b: whole }, "json")).a.truncated, true);
  assert.match(renderLists({ a: cut, b: none }, "table"), /^== a \(2 of 3\)\n[^]*\n\n== b: none$/);
});

Deno.test("table: columns are measured in terminal cells (CJK and emoji take two, marks none)", () => {
  const wide = {
    columns: ["name", "n"],
    rows: [
      { name: "顧客", n: 1 },
      { name: "👍🏽 ok", n: 2 },
      { name: "cafe\u0301", n: 3 },
      { name: "plain", n: 4 },
    ],
  };
  assert.equal(
    renderRows(wide, "table"),
    [
      "name  | n",
      "------+--",
      "顧客  | 1",
      "👍🏽 ok | 2",
      "cafe\u0301  | 3",
      "plain | 4",
      "(4 rows)",
    ].join("\n"),
  );
});
