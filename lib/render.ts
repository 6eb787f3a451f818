/**
 * Rendering shared by every script: an aligned table for people (the default),
 * one JSON document for agents (`--json`), CSV where rows are the product
 * (`--csv`).
 *
 * @module
 */
import type { OutputFormat } from "./cli.ts";
import type { QueryResult } from "./session.ts";
import { ExactNumber, isNumeric } from "./values.ts";

/** A result made of rows that share the same columns. */
export interface Rows {
  /** The key of each column in the rows, in order. */
  columns: string[];
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
  if (format === "json") return JSON.stringify(result.rows, null, 2);
  if (format === "csv") return renderCsv(result);
  return renderTable(result);
}

/**
 * Renders one record of named fields: a two-column field/value table, a JSON
 * object, or CSV with a `field,value` header.
 */
export function renderRecord(record: Record<string, unknown>, format: OutputFormat): string {
  if (format === "json") return JSON.stringify(record, null, 2);
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
    return JSON.stringify(
      Object.fromEntries(names.map((name) => [name, sections[name].rows])),
      null,
      2,
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

/** Writes rendered output to stdout, with exactly one trailing newline. */
export function printOutput(text: string): void {
  console.log(text.replace(/\n+$/, ""));
}

/** Text of one value as a table cell: lists read as "a, b" for people. */
function tableCellText(value: unknown): string {
  if (
    Array.isArray(value) &&
    value.every((v) => typeof v !== "object" || v === null || v instanceof ExactNumber)
  ) {
    return value.map((v) => v === null ? "NULL" : String(v)).join(", ");
  }
  return cellText(value);
}

/** Text of one value as a CSV cell (lists and objects as JSON). */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (value instanceof ExactNumber) return value.text;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

function renderTable(result: Rows, { header = true } = {}): string {
  const { columns, rows } = result;
  if (columns.length === 0) return "";
  const cells = rows.map((row) => columns.map((c) => tableCellText(row[c]).split("\n")));
  const labels = result.labels ?? columns;
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
      lines.push(join(row.map((cell, i) => pad(cell[line] ?? "", widths[i], numeric[i]))));
    }
  }
  if (header) lines.push(`(${rows.length} ${rows.length === 1 ? "row" : "rows"})`);
  return lines.join("\n");
}

function pad(text: string, width: number, right: boolean): string {
  const fill = " ".repeat(Math.max(0, width - displayWidth(text)));
  return right ? fill + text : text + fill;
}

function displayWidth(text: string): number {
  let width = 0;
  for (const _ of text) width++;
  return width;
}

function renderCsv(result: Rows): string {
  const quote = (text: string) => /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  const lines = [(result.labels ?? result.columns).map(quote).join(",")];
  for (const row of result.rows) {
    lines.push(result.columns.map((c) => quote(cellText(row[c]))).join(","));
  }
  return lines.join("\n");
}
