/**
 * Values from the server, kept exact: the text PostgreSQL sends for each
 * column becomes a JavaScript value chosen by the column's type, and `--json`
 * writes it back with the server's own digits.
 *
 * - bool, int2, int4, oid, float4, float8: booleans and numbers (NaN and the
 *   infinities as the strings "NaN", "Infinity", "-Infinity");
 * - int8: a number while it is a safe integer, else an {@linkcode ExactNumber};
 * - numeric: always an {@linkcode ExactNumber}, so `1.50` keeps its scale;
 * - json, jsonb: parsed, with every number that a double cannot hold exactly
 *   kept as an {@linkcode ExactNumber};
 * - arrays of these and of text-like types: JSON arrays (nested for several
 *   dimensions), elements decoded by the same rules;
 * - everything else (timestamps, intervals, uuids, user types): the server's
 *   text, untouched.
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

// JSON.rawJSON and JSON.parse's source text are in V8 (and so in Deno) but
// not yet in TypeScript's library.
const json = JSON as unknown as {
  rawJSON(text: string): unknown;
  parse(
    text: string,
    reviver: (key: string, value: unknown, context: { source?: string }) => unknown,
  ): unknown;
};

function rawJson(text: string): unknown {
  return json.rawJSON(text);
}

/** Turns one column value (the server's text) into its JavaScript value. */
export type Decoder = (text: string) => unknown;

const identity: Decoder = (text) => text;

function decodeBool(text: string): boolean {
  return text === "t";
}

function decodeFloat(text: string): number | string {
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
}

function decodeInt8(text: string): number | ExactNumber {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : new ExactNumber(text);
}

function decodeNumeric(text: string): ExactNumber | string {
  return /^-?\d/.test(text) ? new ExactNumber(text) : text; // NaN, Infinity, -Infinity
}

/** Parses JSON text, keeping numbers a double would round as exact numbers. */
export function decodeJson(text: string): unknown {
  return json.parse(text, (_key, value, context) => {
    if (typeof value !== "number" || context.source === undefined) return value;
    return String(value) === context.source ? value : new ExactNumber(context.source);
  });
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
