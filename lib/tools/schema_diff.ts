/**
 * Comparing two schema-only dumps: the noise left out (version banners,
 * session settings, \restrict keys), a unified diff of what remains, and a
 * structured summary of the objects only in A, only in B, and in both but
 * different, by kind.
 *
 * @module
 */
import diffSequencesExport from "@jest/diff-sequences";

/**
 * Jest's diff-sequences. Its types describe the CommonJS build (a module whose
 * `default` is the function); the ES module build Deno loads exports the
 * function itself as default.
 */
const diffSequences = diffSequencesExport as unknown as (
  aLength: number,
  bLength: number,
  isCommon: (aIndex: number, bIndex: number) => boolean,
  foundSubsequence: (count: number, aCommon: number, bCommon: number) => void,
) => void;

/** The dump's lines that are noise, not structure. */
const NOISE = [
  /^-- Dumped (from database|by pg_dump) version /,
  /^-- PostgreSQL database dump( complete)?$/,
  /^SET [a-z_]+ = .*;$/,
  /^SELECT pg_catalog\.set_config\('search_path', '', false\);$/,
  /^\\(un)?restrict \S+$/,
];

/** What pg_dump writes for a schema initdb made (public) whose owner is not the default. */
const NOT_CREATED = "-- *not* creating schema, since initdb creates it";

/** A schema dump without its noise, blank-line runs folded to one. */
export function normalizeDump(text: string): string[] {
  const kept = text.split(/\r?\n/).filter((line) => !NOISE.some((re) => re.test(line)));
  // That header without a statement depends on the database's age (public's
  // owner changed in PostgreSQL 15), not on its structure: it goes, header too.
  for (let i = kept.indexOf(NOT_CREATED); i >= 0; i = kept.indexOf(NOT_CREATED, i)) {
    const header = kept.findLastIndex((line, j) => j < i && line.startsWith("-- Name: "));
    const from = header >= 0 && header > i - 4 ? header : i;
    kept.splice(from, i - from + 1);
    i = from;
  }
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

/** A changed stretch: lines [aStart, aEnd) of A became lines [bStart, bEnd) of B. */
interface Change {
  aStart: number;
  aEnd: number;
  bStart: number;
  bEnd: number;
}

/**
 * The changed stretches from `a` to `b`, in order, by a shortest edit script
 * found in linear space (Myers' algorithm with the middle snake, as Jest's
 * diff-sequences implements it). Lines are compared as small integers.
 */
function changes(a: string[], b: string[]): Change[] {
  const ids = new Map<string, number>();
  const intern = (lines: string[]) =>
    Int32Array.from(lines, (line) => {
      let id = ids.get(line);
      if (id === undefined) ids.set(line, id = ids.size);
      return id;
    });
  const left = intern(a);
  const right = intern(b);
  const found: Change[] = [];
  let aNext = 0;
  let bNext = 0;
  diffSequences(
    a.length,
    b.length,
    (i, j) => left[i] === right[j],
    (count, aCommon, bCommon) => {
      if (aCommon > aNext || bCommon > bNext) {
        found.push({ aStart: aNext, aEnd: aCommon, bStart: bNext, bEnd: bCommon });
      }
      aNext = aCommon + count;
      bNext = bCommon + count;
    },
  );
  if (aNext < a.length || bNext < b.length) {
    found.push({ aStart: aNext, aEnd: a.length, bStart: bNext, bEnd: b.length });
  }
  return found;
}

/** A hunk's line range in unified format: "start,count", start 1-based, or the line before when empty. */
function range(start: number, end: number): string {
  return `${end > start ? start + 1 : start},${end - start}`;
}

/** A unified diff of two line lists with 3 lines of context; empty when equal. */
export function unifiedDiff(
  a: string[],
  b: string[],
  labels: { a: string; b: string },
  context = 3,
): string {
  const found = changes(a, b);
  if (found.length === 0) return "";
  const out = [`--- ${labels.a}`, `+++ ${labels.b}`];
  let first = 0;
  while (first < found.length) {
    // A hunk takes changes whose common stretches between them are short enough
    // for their contexts to touch.
    let last = first;
    while (
      last + 1 < found.length && found[last + 1].aStart - found[last].aEnd <= 2 * context
    ) last++;
    const lead = Math.min(context, found[first].aStart);
    const trail = Math.min(context, a.length - found[last].aEnd);
    const aStart = found[first].aStart - lead;
    const bStart = found[first].bStart - lead;
    const aEnd = found[last].aEnd + trail;
    const bEnd = found[last].bEnd + trail;
    out.push(`@@ -${range(aStart, aEnd)} +${range(bStart, bEnd)} @@`);
    let position = aStart;
    for (let i = first; i <= last; i++) {
      const change = found[i];
      while (position < change.aStart) out.push(` ${a[position++]}`);
      for (let j = change.aStart; j < change.aEnd; j++) out.push(`-${a[j]}`);
      for (let j = change.bStart; j < change.bEnd; j++) out.push(`+${b[j]}`);
      position = change.aEnd;
    }
    while (position < aEnd) out.push(` ${a[position++]}`);
    first = last + 1;
  }
  return out.join("\n");
}

/**
 * The kind the summary reports for each pg_dump object type; any other type
 * is reported as itself in lower case (operator, cast, collation, rule,
 * publication ...). Exported for --help, which lists them.
 */
export const KINDS: Record<string, string> = {
  "SCHEMA": "schema",
  "EXTENSION": "extension",
  "TYPE": "type",
  "DOMAIN": "domain",
  "TABLE": "table",
  "FOREIGN TABLE": "table",
  "TABLE ATTACH": "table attach",
  "DEFAULT": "column",
  "INDEX": "index",
  "INDEX ATTACH": "index attach",
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
  "TRIGGER": "trigger",
  "EVENT TRIGGER": "event trigger",
  "RULE": "rule",
  "POLICY": "policy",
  "ROW SECURITY": "row security",
  "STATISTICS": "statistics",
  "COMMENT": "comment",
};

/** Kinds whose pg_dump name is "<table> <name>": named schema.table.name. */
const TABLE_ITEMS = new Set(["constraint", "trigger", "column", "policy", "rule"]);

/** One object of a dump. */
export interface DumpObject {
  /** What it is, in lower case: `table`, `column`, `function`, `comment` ... */
  kind: string;
  /**
   * Its name, schema-qualified where it has a schema (`schema.table.column` for
   * a table's part); a comment's is its object's, as in `table public.t`.
   */
  name: string;
}

/** An object of a dump with its statement text. */
export interface DumpedObject extends DumpObject {
  /** The dump's lines for it (a table's without its columns, which are objects of their own). */
  text: string;
  /**
   * The key of the object it belongs to (a column's or inline check's table, a
   * comment's object); absent for an object that stands alone.
   */
  partOf?: string;
}

function objectKey(kind: string, name: string): string {
  return `${kind}\u0000${name}`;
}

/**
 * The objects of a normalised schema dump, keyed by kind and qualified name,
 * each with its statement text. Table columns are objects of their own
 * (`schema.table.column`), so that a changed column is named as such.
 */
export function dumpObjects(lines: string[]): Map<string, DumpedObject> {
  const objects = new Map<string, DumpedObject>();
  let current: DumpedObject | undefined;
  const add = (kind: string, name: string, text: string, partOf?: string) => {
    const key = objectKey(kind, name);
    const existing = objects.get(key);
    if (existing) existing.text += `\n${text}`;
    else objects.set(key, { kind, name, text, partOf });
  };
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i].match(/^-- Name: (.+); Type: ([A-Z ]+); Schema: ([^;]+); Owner: /);
    if (header) {
      const [, rawName, type, schema] = header;
      const kind = KINDS[type] ?? type.toLowerCase();
      let name = schema === "-" ? rawName : `${schema}.${rawName}`;
      if (TABLE_ITEMS.has(kind) && rawName.includes(" ")) {
        const space = rawName.indexOf(" ");
        name = `${schema}.${rawName.slice(0, space)}.${rawName.slice(space + 1)}`;
      }
      // A comment's name is its object's: "TABLE t" -> "table public.t".
      const commented = kind === "comment" && rawName.match(/^((?:[A-Z]+ )+)(.+)$/);
      let partOf: string | undefined;
      if (commented) {
        const qualified = schema === "-" ? commented[2] : `${schema}.${commented[2]}`;
        const type = commented[1].trim();
        name = `${type.toLowerCase()} ${qualified}`;
        partOf = objectKey(KINDS[type] ?? type.toLowerCase(), qualified);
      }
      if (type === "SEQUENCE OWNED BY") name += " (owned by)";
      add(kind, name, "", partOf);
      current = objects.get(objectKey(kind, name));
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
        add(
          "constraint",
          `${object.name}.${constraint[1]}`,
          column,
          objectKey("table", object.name),
        );
        continue;
      }
      const m = column.match(/^("(?:[^"]|"")+"|[^\s]+)\s/);
      if (!m || /^(PRIMARY|UNIQUE|CHECK|FOREIGN|EXCLUDE)\b/.test(column)) continue;
      add("column", `${object.name}.${m[1]}`, column, objectKey("table", object.name));
    }
    object.text = rest;
  }
  return objects;
}

/** The structured comparison of two dumps. */
export interface SchemaComparison {
  /** The objects only dump A has, sorted by kind and name. */
  only_in_a: DumpObject[];
  /** The objects only dump B has, sorted by kind and name. */
  only_in_b: DumpObject[];
  /** The objects in both whose statements differ, sorted by kind and name. */
  different: DumpObject[];
}

/** A comparison as one table: each object with how it differs (only in A, only in B, different). */
export function comparisonRows(
  comparison: SchemaComparison,
): { columns: string[]; rows: Record<string, string>[] } {
  const rows = [
    ...comparison.only_in_a.map((o) => ({ difference: "only in A", ...o })),
    ...comparison.only_in_b.map((o) => ({ difference: "only in B", ...o })),
    ...comparison.different.map((o) => ({ difference: "different", ...o })),
  ];
  return { columns: ["difference", "kind", "name"], rows };
}

/**
 * Objects only in A, only in B, and in both with different statements. What
 * belongs to an object that is itself only on one side (a new table's columns
 * and inline checks, a new extension's comment) is part of it, not listed again.
 */
export function compareDumps(a: string[], b: string[]): SchemaComparison {
  const left = dumpObjects(a);
  const right = dumpObjects(b);
  const strip = ({ kind, name }: DumpObject) => ({ kind, name });
  const order = (x: DumpObject, y: DumpObject) =>
    x.kind.localeCompare(y.kind) || x.name.localeCompare(y.name);
  const result: SchemaComparison = { only_in_a: [], only_in_b: [], different: [] };
  const partOfNewObject = (object: DumpedObject, other: Map<string, DumpedObject>) =>
    object.partOf !== undefined && !other.has(object.partOf);
  for (const [key, object] of left) {
    const other = right.get(key);
    if (!other) {
      if (!partOfNewObject(object, right)) result.only_in_a.push(strip(object));
    } else if (other.text.trim() !== object.text.trim()) result.different.push(strip(object));
  }
  for (const [key, object] of right) {
    if (!left.has(key) && !partOfNewObject(object, left)) result.only_in_b.push(strip(object));
  }
  result.only_in_a.sort(order);
  result.only_in_b.sort(order);
  result.different.sort(order);
  return result;
}
