/**
 * Comparing two schema-only dumps: the noise left out (version banners,
 * session settings, \restrict keys), a unified diff of what remains, and a
 * structured summary of the objects only in A, only in B, and in both but
 * different, by kind.
 *
 * @module
 */

/** The dump's lines that are noise, not structure. */
const NOISE = [
  /^-- Dumped (from database|by pg_dump) version /,
  /^-- PostgreSQL database dump( complete)?$/,
  /^SET [a-z_]+ = .*;$/,
  /^SELECT pg_catalog\.set_config\('search_path', '', false\);$/,
  /^\\(un)?restrict \S+$/,
];

/** A schema dump without its noise, blank-line runs folded to one. */
export function normalizeDump(text: string): string[] {
  const kept = text.split(/\r?\n/).filter((line) => !NOISE.some((re) => re.test(line)));
  // "--" lines frame the "-- Name:" headers; those left framing removed banners go.
  const framed = kept.filter((line, i) =>
    line !== "--" || kept[i + 1]?.startsWith("-- Name: ") || kept[i - 1]?.startsWith("-- Name: ")
  );
  const lines: string[] = [];
  for (const line of framed) {
    if (line === "" && (lines.length === 0 || lines.at(-1) === "")) continue;
    lines.push(line);
  }
  while (lines.at(-1) === "") lines.pop();
  return lines;
}

type Op = { kind: "equal" | "delete" | "insert"; a: number; b: number };

/** The shortest edit script from `a` to `b` (Myers' O(ND) algorithm). */
function editScript(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    const next = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])
        ? v[offset + k + 1]
        : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      next[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
    v = next;
  }
  trace.push(v);
  // Walk back through the trace.
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 2; d >= 0 && (x > 0 || y > 0); d--) {
    const vd = trace[d];
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1] < vd[offset + k + 1]) ? k + 1 : k - 1;
    const prevX = vd[offset + prevK];
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ kind: "equal", a: --x, b: --y });
    }
    if (d === 0) break;
    if (x === prevX) ops.push({ kind: "insert", a: x, b: --y });
    else ops.push({ kind: "delete", a: --x, b: y });
  }
  while (x > 0 && y > 0) ops.push({ kind: "equal", a: --x, b: --y });
  return ops.reverse();
}

/** A unified diff of two line lists with 3 lines of context; empty when equal. */
export function unifiedDiff(
  a: string[],
  b: string[],
  labels: { a: string; b: string },
  context = 3,
): string {
  // Equal ends are cut off first: dumps mostly agree.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  if (start === endA && start === endB) return "";
  const middle = editScript(a.slice(start, endA), b.slice(start, endB)).map((op) => ({
    ...op,
    a: op.a + start,
    b: op.b + start,
  }));
  const ops: Op[] = [
    ...Array.from({ length: start }, (_, i) => ({ kind: "equal" as const, a: i, b: i })),
    ...middle,
    ...Array.from({ length: a.length - endA }, (_, i) => ({
      kind: "equal" as const,
      a: endA + i,
      b: endB + i,
    })),
  ];
  const out = [`--- ${labels.a}`, `+++ ${labels.b}`];
  let i = 0;
  while (i < ops.length) {
    if (ops[i].kind === "equal") {
      i++;
      continue;
    }
    let from = Math.max(0, i - context);
    let to = i;
    // Extend the hunk while changes are within 2 * context of each other.
    while (to < ops.length) {
      if (ops[to].kind !== "equal") {
        to++;
        continue;
      }
      let run = 0;
      while (to + run < ops.length && ops[to + run].kind === "equal") run++;
      if (to + run >= ops.length || run > 2 * context) {
        to += Math.min(run, context);
        break;
      }
      to += run;
    }
    const hunk = ops.slice(from, to);
    const aStart = hunk.find((o) => o.kind !== "insert")?.a ?? hunk[0].a;
    const bStart = hunk.find((o) => o.kind !== "delete")?.b ?? hunk[0].b;
    const aCount = hunk.filter((o) => o.kind !== "insert").length;
    const bCount = hunk.filter((o) => o.kind !== "delete").length;
    out.push(
      `@@ -${aCount ? aStart + 1 : aStart},${aCount} +${bCount ? bStart + 1 : bStart},${bCount} @@`,
    );
    for (const op of hunk) {
      if (op.kind === "equal") out.push(` ${a[op.a]}`);
      else if (op.kind === "delete") out.push(`-${a[op.a]}`);
      else out.push(`+${b[op.b]}`);
    }
    i = to;
    from = to;
  }
  return out.join("\n");
}

/** Kinds the summary reports. */
const KINDS: Record<string, string> = {
  "TABLE": "table",
  "INDEX": "index",
  "CONSTRAINT": "constraint",
  "FK CONSTRAINT": "constraint",
  "CHECK CONSTRAINT": "constraint",
  "VIEW": "view",
  "MATERIALIZED VIEW": "view",
  "FUNCTION": "function",
  "PROCEDURE": "function",
  "AGGREGATE": "function",
  "SEQUENCE": "sequence",
  "SEQUENCE OWNED BY": "sequence",
  "TYPE": "type",
  "DOMAIN": "type",
  "TRIGGER": "trigger",
  "EXTENSION": "extension",
  "DEFAULT": "column",
  "SCHEMA": "schema",
};

/** One object of a dump. */
export interface DumpObject {
  kind: string;
  name: string;
}

/**
 * The objects of a normalised schema dump, keyed by kind and qualified name,
 * each with its statement text. Table columns are objects of their own
 * (`schema.table.column`), so that a changed column is named as such.
 */
export function dumpObjects(lines: string[]): Map<string, DumpObject & { text: string }> {
  const objects = new Map<string, DumpObject & { text: string }>();
  let current: (DumpObject & { text: string }) | undefined;
  const add = (kind: string, name: string, text: string) => {
    const key = `${kind}\u0000${name}`;
    const existing = objects.get(key);
    if (existing) existing.text += `\n${text}`;
    else objects.set(key, { kind, name, text });
  };
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i].match(/^-- Name: (.+); Type: ([A-Z ]+); Schema: ([^;]+); Owner: /);
    if (header) {
      const [, rawName, type, schema] = header;
      const kind = KINDS[type] ?? type.toLowerCase();
      let name = schema === "-" ? rawName : `${schema}.${rawName}`;
      // "table constraint" and "table column" name the owning table first.
      if (["constraint", "trigger", "column"].includes(kind) && rawName.includes(" ")) {
        const [table, item] = rawName.split(" ", 2);
        name = `${schema}.${table}.${item}`;
      }
      if (type === "SEQUENCE OWNED BY") name += " (owned by)";
      current = { kind, name, text: "" };
      add(kind, name, "");
      current = objects.get(`${kind}\u0000${name}`);
      continue;
    }
    if (!current || lines[i] === "--" || lines[i] === "") continue;
    current.text += `${lines[i]}\n`;
  }
  // Columns out of CREATE TABLE statements.
  for (const object of [...objects.values()]) {
    if (object.kind !== "table") continue;
    const body = object.text.match(
      /^CREATE (?:UNLOGGED |FOREIGN )?TABLE [^\n]*\(\n([\s\S]*?)\n\)/m,
    );
    if (!body) continue;
    const rest = object.text.replace(body[1], "");
    for (const line of body[1].split("\n")) {
      const column = line.trim().replace(/,$/, "");
      const constraint = column.match(/^CONSTRAINT ("(?:[^"]|"")+"|\S+) /);
      if (constraint) {
        // pg_dump writes check constraints inside CREATE TABLE.
        add("constraint", `${object.name}.${constraint[1]}`, column);
        continue;
      }
      const m = column.match(/^("(?:[^"]|"")+"|[^\s]+)\s/);
      if (!m || /^(PRIMARY|UNIQUE|CHECK|FOREIGN|EXCLUDE)\b/.test(column)) continue;
      add("column", `${object.name}.${m[1]}`, column);
    }
    object.text = rest;
  }
  return objects;
}

/** The structured comparison of two dumps. */
export interface SchemaComparison {
  only_in_a: DumpObject[];
  only_in_b: DumpObject[];
  different: DumpObject[];
}

/** Objects only in A, only in B, and in both with different statements. */
export function compareDumps(a: string[], b: string[]): SchemaComparison {
  const left = dumpObjects(a);
  const right = dumpObjects(b);
  const strip = ({ kind, name }: DumpObject) => ({ kind, name });
  const order = (x: DumpObject, y: DumpObject) =>
    x.kind.localeCompare(y.kind) || x.name.localeCompare(y.name);
  const result: SchemaComparison = { only_in_a: [], only_in_b: [], different: [] };
  for (const [key, object] of left) {
    const other = right.get(key);
    if (!other) result.only_in_a.push(strip(object));
    else if (other.text.trim() !== object.text.trim()) result.different.push(strip(object));
  }
  for (const [key, object] of right) {
    if (!left.has(key)) result.only_in_b.push(strip(object));
  }
  result.only_in_a.sort(order);
  result.only_in_b.sort(order);
  result.different.sort(order);
  return result;
}
