/**
 * Values from the server, kept exact: the text PostgreSQL sends for each
 * column becomes a JavaScript value chosen by the column's type, and `--json`
 * writes it back with the server's own digits.
 *
 * - bool, int2, int4, oid, float4, float8: booleans and numbers (NaN and the
 *   infinities as the strings "NaN", "Infinity", "-Infinity");
 * - int8: a number while it is a safe integer, else an {@linkcode ExactNumber};
 * - numeric: always an {@linkcode ExactNumber}, so `1.50` keeps its scale;
 * - json, jsonb: a {@linkcode JsonText}, the server's text never parsed (json
 *   keeps its input exactly: whitespace, key order, repeated keys, digits;
 *   jsonb is the server's normal form), so no depth of nesting can exhaust
 *   the stack;
 * - arrays of these and of text-like types: JSON arrays (nested for several
 *   dimensions), elements decoded by the same rules;
 * - everything else (timestamps, intervals, uuids, user types): the server's
 *   text, untouched.
 *
 * {@linkcode stringifyJson} writes these values into JSON: `JSON.stringify`
 * cannot, since `JSON.rawJSON` takes primitives only and a json value is
 * usually an object or an array.
 *
 * @module
 */
import type { parse as parseArray } from "postgres-array";

/**
 * A number written exactly as the server wrote it. It compares and computes
 * like a number (`valueOf`), prints as the server's text (`toString`), and is
 * written into JSON as a bare number with the server's digits (`toJSON`).
 */
export class ExactNumber {
  /** The server's text, e.g. `9007199254740993` or `1.50`. */
  readonly text: string;
  /** The number the server wrote as `text`, which is kept as it is. */
  constructor(text: string) {
    this.text = text;
  }
  /** The nearest double, for arithmetic and comparisons. */
  valueOf(): number {
    return Number(this.text);
  }
  /** The server's text. */
  toString(): string {
    return this.text;
  }
  /** A raw JSON number with the server's digits. */
  toJSON(): unknown {
    return rawJson(this.text);
  }
}

/** True for the values a table right-aligns: numbers, exact or not. */
export function isNumeric(value: unknown): boolean {
  return typeof value === "number" || value instanceof ExactNumber;
}

/**
 * A json or jsonb value exactly as the server wrote it. It is valid JSON (the
 * server checked it) and is never parsed: {@linkcode stringifyJson} writes it
 * into a document as it is, and a table or CSV shows its text.
 */
export class JsonText {
  /** The server's text, e.g. `{"a":1,"a":2}` (json) or `{"a": 2}` (jsonb). */
  readonly text: string;
  /** The json or jsonb value the server wrote as `text`, which is kept unparsed. */
  constructor(text: string) {
    this.text = text;
  }
  /** The server's text. */
  toString(): string {
    return this.text;
  }
  /**
   * Refuses: `JSON.stringify` would write this object's fields instead of the
   * value, and `JSON.rawJSON` takes no objects or arrays.
   */
  toJSON(): never {
    throw new TypeError("A json value is written with stringifyJson() of lib/connection/values.ts");
  }
}

/**
 * A column's value with a json or jsonb value parsed, for code that reads inside it (the
 * session keeps it as the server's text, {@linkcode JsonText}); any other value as it is.
 */
export function parsedJson(value: unknown): unknown {
  return value instanceof JsonText ? JSON.parse(value.text) : value;
}

// JSON.rawJSON is in V8 (and so in Deno) but not yet in TypeScript's library.
const json = JSON as unknown as { rawJSON(text: string): unknown };

function rawJson(text: string): unknown {
  return json.rawJSON(text);
}

/** Turns one column value (the server's text) into its JavaScript value. */
export type Decoder = (text: string) => unknown;

const identity: Decoder = (text) => text;

function decodeBool(text: string): boolean {
  return text === "t";
}

function decodeFloat(text: string): number | string | ExactNumber {
  const value = Number(text);
  if (!Number.isFinite(value)) return text;
  // JSON writes the double -0 as 0; the server's -0 keeps its sign.
  return Object.is(value, -0) ? new ExactNumber(text) : value;
}

function decodeInt8(text: string): number | ExactNumber {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : new ExactNumber(text);
}

function decodeNumeric(text: string): ExactNumber | string {
  return /^-?\d/.test(text) ? new ExactNumber(text) : text; // NaN, Infinity, -Infinity
}

function decodeJson(text: string): JsonText {
  return new JsonText(text);
}

function decodeVector(text: string): number[] {
  return text === "" ? [] : text.split(" ").map(Number);
}

let parseArrayText: typeof parseArray | undefined;

/**
 * Loads what decoding needs (npm:postgres-array, the array parser): call it
 * before the first row is decoded. Kept out of module loading so that
 * scripts that never connect pay nothing for it.
 */
export async function loadDecoders(): Promise<void> {
  parseArrayText ??= (await import("postgres-array")).parse;
}

function arrayOf(element: Decoder): Decoder {
  return (text) => {
    if (!parseArrayText) throw new Error("loadDecoders() was not called before decoding");
    try {
      return parseArrayText(text, element);
    } catch {
      return text; // Not an array literal after all: keep the server's text.
    }
  };
}

/** Decoders of the scalar types that are not plain text, by type OID. */
const SCALARS: Record<number, Decoder> = {
  16: decodeBool, // bool
  20: decodeInt8, // int8
  21: Number, // int2
  23: Number, // int4
  26: Number, // oid
  28: Number, // xid
  700: decodeFloat, // float4
  701: decodeFloat, // float8
  1700: decodeNumeric, // numeric
  114: decodeJson, // json
  3802: decodeJson, // jsonb
  22: decodeVector, // int2vector
  30: decodeVector, // oidvector
};

/** Built-in array types, by OID, with the OID of their element type. */
const ARRAYS: Record<number, number> = {
  1000: 16, // bool[]
  1016: 20, // int8[]
  1005: 21, // int2[]
  1007: 23, // int4[]
  1028: 26, // oid[]
  1011: 28, // xid[]
  1021: 700, // float4[]
  1022: 701, // float8[]
  1231: 1700, // numeric[]
  199: 114, // json[]
  3807: 3802, // jsonb[]
  1009: 25, // text[]
  1015: 1043, // varchar[]
  1014: 1042, // bpchar[]
  1002: 18, // "char"[]
  1003: 19, // name[]
  1001: 17, // bytea[]
  1182: 1082, // date[]
  1183: 1083, // time[]
  1270: 1266, // timetz[]
  1115: 1114, // timestamp[]
  1185: 1184, // timestamptz[]
  1187: 1186, // interval[]
  2951: 2950, // uuid[]
  1041: 869, // inet[]
  651: 650, // cidr[]
  1040: 829, // macaddr[]
  1008: 24, // regproc[]
  2210: 2205, // regclass[]
  2211: 2206, // regtype[]
  1034: 1033, // aclitem[]
};

const arrayDecoders = new Map<number, Decoder>();

/** The decoder for a column of type `typeOid`; unknown types stay text. */
export function decoderFor(typeOid: number): Decoder {
  const scalar = SCALARS[typeOid];
  if (scalar) return scalar;
  const element = ARRAYS[typeOid];
  if (element === undefined) return identity;
  let decoder = arrayDecoders.get(typeOid);
  if (!decoder) {
    decoder = arrayOf(SCALARS[element] ?? identity);
    arrayDecoders.set(typeOid, decoder);
  }
  return decoder;
}

/** How {@linkcode stringifyJson} lays a document out. */
export interface JsonLayout {
  /** Spaces per level, as `JSON.stringify`'s third argument; 0 (default): compact. */
  indent?: number;
  /**
   * Writes json values on one line (NDJSON): the insignificant whitespace in
   * their text is removed ({@linkcode compactJson}); else they are written as
   * the server wrote them.
   */
  oneLine?: boolean;
}

/**
 * `JSON.stringify(value, null, indent)` for values that may hold the
 * decoders' exact values: an {@linkcode ExactNumber} is written as its digits
 * and a {@linkcode JsonText} as the server's text, both unparsed. Everything
 * else is written as `JSON.stringify` writes it (`toJSON`, undefined left out
 * of objects and null in arrays); a bigint as its digits. Only the structure
 * around the values is walked, never the inside of a json value, so its depth
 * does not matter.
 */
export function stringifyJson(value: unknown, layout: JsonLayout = {}): string {
  return serialize(value, "", "", styleOf(layout)) ?? "null";
}

/**
 * A writer of compact JSON objects with these keys in this order, for the
 * rows of a result (values as in {@linkcode stringifyJson}; undefined is
 * written as null). The keys are quoted once, not once per row.
 */
export function jsonRowWriter(
  keys: string[],
  layout: Pick<JsonLayout, "oneLine"> = {},
): (row: Record<string, unknown>) => string {
  const style = styleOf(layout);
  const heads = keys.map((key, i) => `${i ? "," : "{"}${JSON.stringify(key)}:`);
  return (row) => {
    if (keys.length === 0) return "{}";
    let out = "";
    for (let i = 0; i < keys.length; i++) {
      out += heads[i] + (serialize(row[keys[i]], keys[i], "", style) ?? "null");
    }
    return out + "}";
  };
}

type ToJson = { toJSON(key: string): unknown };

interface Style {
  step: string;
  oneLine: boolean;
}

function styleOf(layout: JsonLayout): Style {
  return { step: " ".repeat(layout.indent ?? 0), oneLine: layout.oneLine === true };
}

/** One value as JSON, `margin` the indentation of its line; undefined where JSON has none. */
function serialize(value: unknown, key: string, margin: string, style: Style): string | undefined {
  // As JSON.stringify does: an object's toJSON once, then what it gave.
  if (
    typeof value === "object" && value !== null && !(value instanceof JsonText) &&
    !(value instanceof ExactNumber) && typeof (value as ToJson).toJSON === "function"
  ) {
    value = (value as ToJson).toJSON(key);
  }
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return String(value);
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return "null";
  if (value instanceof JsonText) return style.oneLine ? compactJson(value.text) : value.text;
  if (value instanceof ExactNumber) return value.text;
  const inner = margin + style.step;
  const [open, separator, close] = style.step
    ? [`\n${inner}`, `,\n${inner}`, `\n${margin}`]
    : ["", ",", ""];
  const parts: string[] = [];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      parts.push(serialize(value[i], String(i), inner, style) ?? "null");
    }
    return parts.length ? `[${open}${parts.join(separator)}${close}]` : "[]";
  }
  const colon = style.step ? ": " : ":";
  const object = value as Record<string, unknown>;
  for (const name of Object.keys(object)) {
    const text = serialize(object[name], name, inner, style);
    if (text !== undefined) parts.push(JSON.stringify(name) + colon + text);
  }
  return parts.length ? `{${open}${parts.join(separator)}${close}}` : "{}";
}

/**
 * Valid JSON text without its insignificant whitespace (spaces, tabs and line
 * breaks between tokens), so that it fits on one line; strings and every other
 * character are kept as they are. One pass, no recursion: any depth is fine.
 */
export function compactJson(text: string): string {
  const kept: string[] = [];
  let from = 0; // start of the text not yet kept
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      i = closingQuote(text, i);
    } else if (isJsonSpace(code)) {
      kept.push(text.slice(from, i));
      while (i + 1 < text.length && isJsonSpace(text.charCodeAt(i + 1))) i++;
      from = i + 1;
    }
  }
  if (from === 0) return text;
  kept.push(text.slice(from));
  return kept.join("");
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isJsonSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/** The index of the quote that closes the string opening at `open` (or the text's end). */
function closingQuote(text: string, open: number): number {
  let i = open + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) return i;
    i += code === BACKSLASH ? 2 : 1;
  }
  return text.length;
}
