/**
 * Rendering shared by every script: an aligned table for people (the default),
 * one JSON document for agents (`--json`), CSV where rows are the product
 * (`--csv`).
 *
 * @module
 */
import { eastAsianWidth } from "get-east-asian-width";
import { escapeControl, note } from "../core/text.ts";
import { SkillError } from "../core/errors.ts";
import type { Column, QueryOutcome, QueryResult, RowBatch } from "../connection/session.ts";
import {
  ExactNumber,
  isNumeric,
  jsonRowWriter,
  JsonText,
  stringifyJson,
} from "../connection/values.ts";

/** How a script renders its result. */
export type OutputFormat = "table" | "json" | "csv";

/** A result made of rows that share the same columns. */
export interface Rows {
  /** The key of each column in the rows, in order. */
  columns: string[];
  /** The rows, each a record keyed by the column keys. */
  rows: Record<string, unknown>[];
  /** Column headings for the table and CSV when they differ from the keys (repeated names). */
  labels?: string[];
}

/**
 * The rows of a query result, with its columns in the order the query gave
 * them; repeated column names keep their names as headings.
 */
export function resultRows(result: QueryResult): Rows {
  const columns = result.columns.map((c) => c.key);
  const labels = result.columns.map((c) => c.name);
  return labels.every((label, i) => label === columns[i])
    ? { columns, rows: result.rows }
    : { columns, rows: result.rows, labels };
}

/**
 * Renders rows: an aligned table with a header (numbers right-aligned,
 * multi-line values kept on several lines, as psql does), a JSON array of
 * objects, or CSV with a header line (RFC 4180 quoting, newline-separated
 * records as psql --csv writes them).
 */
export function renderRows(result: Rows, format: OutputFormat): string {
  if (format === "json") return stringifyJson(result.rows, { indent: 2 });
  if (format === "csv") return renderCsv(result);
  return renderTable(result);
}

/**
 * Renders one record of named fields: a two-column field/value table, a JSON
 * object, or CSV with a `field,value` header.
 */
export function renderRecord(record: Record<string, unknown>, format: OutputFormat): string {
  if (format === "json") return stringifyJson(record, { indent: 2 });
  const rows = Object.entries(record).map(([field, value]) => ({ field, value }));
  const result = { columns: ["field", "value"], rows };
  return format === "csv" ? renderCsv(result) : renderTable(result, { header: false });
}

/** A report made of named row sets, e.g. the sections of a schema introspection. */
export type Sections = Record<string, Rows>;

/**
 * Renders sections: for people, a heading and a table per section (an empty
 * section says so); for agents, one JSON object mapping each section to its
 * array of rows. CSV holds one section only, so callers allow `--csv` only
 * when exactly one section is selected.
 */
export function renderSections(sections: Sections, format: OutputFormat): string {
  const names = Object.keys(sections);
  if (format === "json") {
    return stringifyJson(
      Object.fromEntries(names.map((name) => [name, sections[name].rows])),
      { indent: 2 },
    );
  }
  if (format === "csv") {
    if (names.length !== 1) throw new Error("CSV output needs exactly one section");
    return renderCsv(sections[names[0]]);
  }
  return names.map((name) => {
    const section = sections[name];
    const title = name.replaceAll("_", " ");
    return section.rows.length === 0
      ? `== ${title}: none`
      : `== ${title} (${section.rows.length})\n${renderTable(section)}`;
  }).join("\n\n");
}

/**
 * The column that a list's SQL returns on every row with the count of all the
 * rows it matched (`count(*) over ()`, computed before its LIMIT): the total
 * that a cut list reports. {@linkcode countedList} takes it off the rows.
 */
export const TOTAL_COLUMN = "total";

/** The most a `[limit]` may be: a larger list says how much is left out. */
export const MAX_LIMIT = 10_000;

/**
 * Rows of a list that stops at a limit, with how many there are in all. Every
 * list script renders one (or one per section) with {@linkcode renderList} or
 * {@linkcode renderLists}, so that a cut list always says so.
 */
export interface List extends Rows {
  /** How many rows there are in all, those left out included. */
  total: number;
  /** The most rows the list shows (the script's limit). */
  limit: number;
}

/**
 * A list from rows whose SQL counted them itself: each row carries
 * {@linkcode TOTAL_COLUMN}, which is taken off the rows and the columns.
 * No rows means none matched.
 */
export function countedList(result: Rows, limit: number): List {
  const first = result.rows[0];
  if (first !== undefined && !(TOTAL_COLUMN in first)) {
    throw new Error(`The list's SQL returns no "${TOTAL_COLUMN}" column`);
  }
  const at = result.columns.indexOf(TOTAL_COLUMN);
  const columns = result.columns.filter((_, i) => i !== at);
  const rows = result.rows.slice(0, limit).map(({ [TOTAL_COLUMN]: _total, ...row }) => row);
  const labels = result.labels?.filter((_, i) => i !== at);
  return {
    columns,
    rows,
    ...(labels ? { labels } : {}),
    total: first === undefined ? 0 : Number(first[TOTAL_COLUMN]),
    limit,
  };
}

/** A list cut here from all of its rows (for lists built in TypeScript). */
export function cutList(result: Rows, limit: number): List {
  return { ...result, rows: result.rows.slice(0, limit), total: result.rows.length, limit };
}

/** True when a list shows fewer rows than it has. */
export function isTruncated(list: List): boolean {
  return list.rows.length < list.total;
}

/** The one JSON shape of every list: rows, total, truncated and the limit. */
function listJson(list: List): Record<string, unknown> {
  return { rows: list.rows, total: list.total, truncated: isTruncated(list), limit: list.limit };
}

/**
 * What a cut list says about what it left out, e.g. "20 of 31 rows shown;
 * limit 20: --limit 31 shows all".
 */
export function truncationText(list: List): string {
  const more = Math.min(list.total, MAX_LIMIT);
  return `${list.rows.length} of ${list.total} rows shown; limit ${list.limit}: ` +
    (more === list.total ? `--limit ${more} shows all` : `--limit ${more} shows the first ${more}`);
}

/**
 * Renders a list: the table ends with "(31 rows)", or when cut with the line
 * of {@linkcode truncationText}; JSON is `{"rows": [...], "total": 31,
 * "truncated": false, "limit": 50}` whether cut or not; CSV holds the rows
 * only, and a cut one says so on stderr.
 */
export function renderList(list: List, format: OutputFormat): string {
  if (format === "json") return stringifyJson(listJson(list), { indent: 2 });
  if (format === "csv") {
    if (isTruncated(list)) note(truncationText(list));
    return renderCsv(list);
  }
  return renderTable(list, { footer: listFooter(list) });
}

/**
 * Renders lists as sections: a heading and a table per list (a cut one says
 * so in its heading and its last line); JSON maps each name to the list's
 * object as {@linkcode renderList} writes it. CSV holds one section only.
 */
export function renderLists(lists: Record<string, List>, format: OutputFormat): string {
  const names = Object.keys(lists);
  if (format === "json") {
    return stringifyJson(
      Object.fromEntries(names.map((name) => [name, listJson(lists[name])])),
      { indent: 2 },
    );
  }
  if (format === "csv") {
    if (names.length !== 1) throw new Error("CSV output needs exactly one section");
    return renderList(lists[names[0]], format);
  }
  return names.map((name) => {
    const list = lists[name];
    const title = name.replaceAll("_", " ");
    if (list.total === 0) return `== ${title}: none`;
    const count = isTruncated(list) ? `${list.rows.length} of ${list.total}` : `${list.total}`;
    return `== ${title} (${count})\n${renderTable(list, { footer: listFooter(list) })}`;
  }).join("\n\n");
}

function listFooter(list: List): string {
  return isTruncated(list)
    ? `(${truncationText(list)})`
    : `(${list.total} ${list.total === 1 ? "row" : "rows"})`;
}

/** A titled table of a {@linkcode renderReport}, with an optional line after it. */
export interface ReportSection {
  /** The heading shown before the table, followed by the count. */
  title: string;
  /** The table's rows; a section without rows is named on the report's last line instead. */
  rows: Rows;
  /** How many there are in all, when `rows` holds only the first of them (the title says it). */
  total?: number;
  /** A line after the table, e.g. what a limit left out. */
  note?: string;
}

/** True for what a compact report leaves out: null, undefined, "", false and []. */
function isBlank(value: unknown): boolean {
  return value === null || value === undefined || value === "" || value === false ||
    (Array.isArray(value) && value.length === 0);
}

/**
 * Renders a compact report for people: `label: value` lines (blank values left
 * out), then each section that has rows as `title (n):` and an aligned table
 * without a count line, whose columns blank in every row are left out; the
 * sections without rows are named on a last line, `none: ...`.
 * Values are shown as table cells are (control characters escaped).
 */
export function renderReport(lines: [string, unknown][], sections: ReportSection[]): string {
  const out = lines.filter(([, value]) => !isBlank(value))
    .map(([label, value]) => `${label}: ${tableCellText(value)}`);
  const empty: string[] = [];
  for (const section of sections) {
    const { rows } = section.rows;
    if (rows.length === 0) {
      empty.push(section.title);
      continue;
    }
    const keep = section.rows.columns.map((c) => rows.some((r) => !isBlank(r[c])));
    const columns = section.rows.columns.filter((_, i) => keep[i]);
    const labels = (section.rows.labels ?? section.rows.columns).filter((_, i) => keep[i]);
    const table = renderTable({ columns, rows, labels }, { footer: "" }).replace(/\n$/, "");
    out.push(`${section.title} (${section.total ?? rows.length}):\n${table}`);
    if (section.note) out.push(section.note);
  }
  // Said once, so that "none" is told from "not looked at".
  if (empty.length) out.push(`none: ${empty.join(", ")}`);
  return out.join("\n");
}

/** Writes rendered output to stdout, with exactly one trailing newline. */
export function printOutput(text: string): void {
  console.log(text.replace(/\n+$/, ""));
}

/**
 * Text of one value as a table cell: lists read as "a, b" for people, json as
 * the server's text, and control characters (server text may hold any) shown
 * as escapes.
 */
function tableCellText(value: unknown): string {
  return escapeControl(plainCellText(value));
}

function plainCellText(value: unknown): string {
  if (
    Array.isArray(value) &&
    value.every((v) =>
      typeof v !== "object" || v === null || v instanceof ExactNumber || v instanceof JsonText
    )
  ) {
    return value.map((v) => v === null ? "NULL" : String(v)).join(", ");
  }
  return cellText(value);
}

/** Text of one value as a CSV cell (json as the server's text, lists and objects as JSON). */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (value instanceof ExactNumber || value instanceof JsonText) return value.text;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (value instanceof Date) return value.toISOString();
  return stringifyJson(value);
}

function renderTable(
  result: Rows,
  { header = true, footer }: { header?: boolean; footer?: string } = {},
): string {
  const { columns, rows } = result;
  if (columns.length === 0) return "";
  const cells = rows.map((row) => columns.map((c) => tableCellText(row[c]).split("\n")));
  const labels = (result.labels ?? columns).map((label) =>
    escapeControl(label, { newlines: false })
  );
  const numeric = columns.map((c) =>
    rows.length > 0 &&
    rows.every((r) => r[c] === null || r[c] === undefined || isNumeric(r[c]))
  );
  const widths = columns.map((_column, i) =>
    Math.max(
      header ? displayWidth(labels[i]) : 0,
      ...cells.map((row) => Math.max(...row[i].map(displayWidth))),
    )
  );
  const lines: string[] = [];
  const join = (parts: string[]) => parts.join(" | ").trimEnd();
  if (header) {
    lines.push(join(labels.map((label, i) => pad(label, widths[i], false))));
    lines.push(widths.map((w) => "-".repeat(w)).join("-+-"));
  }
  for (const row of cells) {
    const height = Math.max(...row.map((cell) => cell.length));
    for (let line = 0; line < height; line++) {
      // A line ends at its last non-empty cell: empty cells after it would only carry the
      // padding of the cells before them (a long finding, an empty action) to the line's end.
      let last = row.length;
      while (last > 1 && (row[last - 1][line] ?? "") === "") last--;
      lines.push(
        join(row.slice(0, last).map((cell, i) => pad(cell[line] ?? "", widths[i], numeric[i]))),
      );
    }
  }
  if (header) lines.push(footer ?? `(${rows.length} ${rows.length === 1 ? "row" : "rows"})`);
  return lines.join("\n");
}

function pad(text: string, width: number, right: boolean): string {
  const fill = " ".repeat(Math.max(0, width - displayWidth(text)));
  return right ? fill + text : text + fill;
}

const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * Terminal cells: a CJK character or an emoji takes two, a combining mark or a
 * skin-tone modifier none (each user-perceived character counts as its first
 * code point). Control characters never get here: cells are escaped first.
 * npm:string-width would do the same at 40-60 ms of loading per script.
 */
function displayWidth(text: string): number {
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let width = 0;
  for (const { segment } of GRAPHEMES.segment(text)) {
    width += eastAsianWidth(segment.codePointAt(0)!);
  }
  return width;
}

function renderCsv(result: Rows): string {
  // One dialect for every script: COPY's, as run_sql.ts --csv streams it (NULL empty, "" quoted).
  const lines = [csvLine(result.labels ?? result.columns)];
  for (const row of result.rows) {
    lines.push(csvLine(result.columns.map((c) => row[c] == null ? null : cellText(row[c]))));
  }
  return lines.join("").slice(0, -1);
}

/**
 * Output written as it is produced, in large chunks: what streams through
 * it is never held whole. Partial writes to a pipe are completed.
 */
export class OutputBuffer {
  #buffer = new Uint8Array(1 << 16);
  #used = 0;
  #encoder = new TextEncoder();
  /** Adds text. */
  write(text: string): void {
    while (true) {
      const { read, written } = this.#encoder.encodeInto(text, this.#buffer.subarray(this.#used));
      this.#used += written;
      if (read === text.length) return;
      text = text.slice(read);
      this.flush();
      if (text.length * 3 > this.#buffer.length) {
        this.#writeOut(this.#encoder.encode(text));
        return;
      }
    }
  }
  /** Adds bytes as they are. */
  writeBytes(bytes: Uint8Array): void {
    if (bytes.length > this.#buffer.length - this.#used) this.flush();
    if (bytes.length > this.#buffer.length) {
      this.#writeOut(bytes);
      return;
    }
    this.#buffer.set(bytes, this.#used);
    this.#used += bytes.length;
  }
  /** Writes everything gathered so far. */
  flush(): void {
    this.#writeOut(this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }
  #writeOut(bytes: Uint8Array): void {
    for (let offset = 0; offset < bytes.length;) {
      offset += Deno.stdout.writeSync(bytes.subarray(offset));
    }
  }
}

/** Formats of streamed results: the usual three and newline-delimited JSON. */
export type StreamFormat = OutputFormat | "ndjson";

/** What one streamed statement produced. */
export interface StatementOutcome {
  /** The statement's command tag, e.g. `SELECT 3` or `UPDATE 2`. */
  command: string;
  /** Rows returned (all of them, also those the table left out). */
  rows: number;
}

/**
 * Writes the results of several statements as they arrive: a table per
 * statement capped at `maxRows` (0: all) with a line saying how many were
 * left out, one JSON document (`results`, then what the caller adds) whose
 * rows are capped the same way (each result says `truncated` and how many
 * rows it `omitted`; the rest are counted, not kept), CSV or NDJSON of the
 * one statement that returns rows, whole. Only the table ever holds rows,
 * and at most `maxRows` of them.
 */
export class ResultStream {
  #out = new OutputBuffer();
  #format: StreamFormat;
  #maxRows: number;
  #results = 0;
  #rowSets = 0;
  /** Writes one row of the current statement as JSON (--json, --ndjson). */
  #rowJson: (row: Record<string, unknown>) => string = stringifyJson;

  /**
   * A stream writing in `format`, keeping at most `options.maxRows` rows of a
   * statement (0: all); `options.prologue` holds keys that the JSON document
   * carries before its `results`.
   */
  constructor(
    format: StreamFormat,
    options: { maxRows: number; prologue?: Record<string, unknown> },
  ) {
    this.#format = format;
    this.#maxRows = options.maxRows;
    if (format === "json") {
      const head = Object.entries(options.prologue ?? {})
        .map(([key, value]) => `  ${JSON.stringify(key)}: ${stringifyJson(value)},\n`).join("");
      this.#out.write(`{\n${head}  "results": [`);
    }
  }

  /** Consumes one statement's batches and writes them; returns its tag and row count. */
  async statement(
    index: number,
    batches: AsyncGenerator<RowBatch, QueryOutcome>,
  ): Promise<StatementOutcome> {
    let columns: Column[] | undefined;
    let count = 0;
    let shown = 0;
    const kept: Record<string, unknown>[] = [];
    let step = await batches.next();
    for (; !step.done; step = await batches.next()) {
      const batch = step.value;
      if (!columns && batch.columns.length) {
        columns = batch.columns;
        this.#open(index, columns);
      }
      if (!columns) continue;
      for (const row of batch.rows) {
        if (this.#format === "table") {
          if (this.#maxRows === 0 || kept.length < this.#maxRows) kept.push(row);
        } else if (this.#format === "csv") {
          this.#out.write(csvLine(columns.map((c) => serverCell(row[c.key]))));
        } else if (this.#format === "ndjson") {
          this.#out.write(this.#rowJson(row) + "\n");
        } else if (this.#maxRows === 0 || shown < this.#maxRows) {
          this.#out.write(`${shown++ ? "," : ""}\n        ${this.#rowJson(row)}`);
        }
        count++;
      }
      if (this.#format !== "table") this.#out.flush();
    }
    const command = step.value.command;
    this.#close(index, columns, kept, { count, shown }, command);
    return { command, rows: count };
  }

  /**
   * Passes on the CSV that the server itself writes (COPY ... TO STDOUT WITH
   * CSV HEADER): the same text the row path writes, without a JavaScript
   * value per field. For `--csv` of one plain query; `run` starts the COPY
   * with the function that writes each piece.
   */
  async copy(
    index: number,
    run: (write: (bytes: Uint8Array) => void) => Promise<QueryOutcome>,
  ): Promise<StatementOutcome> {
    if (this.#format !== "csv" || ++this.#rowSets > 1) {
      throw new Error(`COPY output is for --csv of one statement (statement ${index})`);
    }
    const { command } = await run((bytes) => this.#out.writeBytes(bytes));
    const rows = Number(command.match(/^COPY (\d+)/)?.[1] ?? 0);
    return { command: `SELECT ${rows}`, rows };
  }

  /**
   * Passes on what a user's own `COPY ... TO STDOUT` writes, as psql does:
   * the server's bytes as they are, in its place among the statements'
   * results. Not for JSON or NDJSON, which cannot hold another format.
   */
  async copyOut(
    index: number,
    run: (write: (bytes: Uint8Array) => void) => Promise<QueryOutcome>,
  ): Promise<StatementOutcome> {
    if (this.#format === "json" || this.#format === "ndjson") {
      throw new Error(`COPY's own output has no place in --${this.#format} (statement ${index})`);
    }
    const { command } = await run((bytes) => this.#out.writeBytes(bytes));
    this.#out.flush();
    return { command, rows: Number(command.match(/^COPY (\d+)/)?.[1] ?? 0) };
  }

  #open(index: number, columns: Column[]): void {
    if (this.#format === "json" || this.#format === "ndjson") {
      this.#rowJson = jsonRowWriter(columns.map((c) => c.key), {
        oneLine: this.#format === "ndjson",
      });
    }
    if (this.#format === "csv" || this.#format === "ndjson") {
      if (++this.#rowSets > 1) {
        throw new SkillError(
          `--${this.#format} holds the rows of one statement, and statement ${index} returns ` +
            `rows too; run it on its own, or use --json`,
        );
      }
      if (this.#format === "csv") this.#out.write(csvLine(columns.map((c) => c.name)));
    } else if (this.#format === "json") {
      this.#out.write(
        `${this.#results++ ? "," : ""}\n    {\n      "statement": ${index},\n      "columns": ` +
          `${JSON.stringify(columns.map((c) => c.key))},\n      "rows": [`,
      );
    }
  }

  #close(
    index: number,
    columns: Column[] | undefined,
    kept: Record<string, unknown>[],
    { count, shown }: { count: number; shown: number },
    command: string,
  ): void {
    if (this.#format === "json") {
      if (!columns) {
        this.#out.write(
          `${
            this.#results++ ? "," : ""
          }\n    {\n      "statement": ${index},\n      "columns": [],\n` +
            `      "rows": [`,
        );
      }
      this.#out.write(
        `${shown ? "\n      " : ""}],\n      "command": ${JSON.stringify(command)},\n` +
          `      "row_count": ${count},\n      "truncated": ${shown < count},\n` +
          `      "omitted": ${count - shown}\n    }`,
      );
    } else if (this.#format === "table") {
      if (columns) {
        const footer = kept.length < count
          ? `(${kept.length} of ${count} rows shown; --max-rows 0 shows all, --csv or ` +
            `--ndjson stream all; a LIMIT in the query reads only what is shown)`
          : `(${count} ${count === 1 ? "row" : "rows"})`;
        const labels = columns.map((c) => c.name);
        const keys = columns.map((c) => c.key);
        this.#out.write(
          renderTable({ columns: keys, rows: kept, labels }, { footer }) + "\n" +
            // A data change with RETURNING also says what it did.
            (/^(INSERT|UPDATE|DELETE|MERGE)\b/.test(command) ? `${command}\n` : "") + "\n",
        );
      } else if (command) {
        this.#out.write(`${command}\n`);
      }
    }
    this.#out.flush();
  }

  /** Ends the output; for JSON, `epilogue` becomes the document's last keys. */
  end(epilogue: Record<string, unknown> = {}): void {
    if (this.#format === "json") {
      const tail = Object.entries(epilogue)
        .map(([key, value]) => `,\n  ${JSON.stringify(key)}: ${stringifyJson(value)}`).join("");
      this.#out.write(`${this.#results ? "\n  " : ""}]${tail}\n}\n`);
    }
    this.#out.flush();
  }
}

/** A value as CSV holds it: the server's text, NULL as nothing. */
function serverCell(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/**
 * One CSV record as COPY ... CSV writes it: a field is quoted when it holds a
 * comma, a quote or a line break, is empty (so that an empty string differs
 * from NULL, which is written as nothing), or is `\.` alone on its line.
 */
function csvLine(fields: (string | null)[]): string {
  return fields.map((field) =>
    field === null
      ? ""
      : field === "" || (field === "\\." && fields.length === 1) || /[",\r\n]/.test(field)
      ? `"${field.replaceAll('"', '""')}"`
      : field
  ).join(",") + "\n";
}
