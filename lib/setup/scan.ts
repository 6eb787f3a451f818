/**
 * Scanning a project for the connection settings it already has: connection
 * URLs and the usual variables (DATABASE_URL, PGHOST ..., DB_HOST ...,
 * POSTGRES_USER ...) in `.env*` files, compose files, code and config files.
 * Dependency, build and VCS folders, binary and very large files are skipped,
 * and so are values that only refer to something else (`${VAR}`,
 * `process.env.X`, `{{ .Values.x }}`).
 *
 * @module
 */
import { basename, join, relative, sep } from "node:path";
import { parseConnectionUrl } from "../connection/url.ts";

/** Folders never entered: dependencies, builds, caches, version control. */
export const SKIPPED_DIRS = new Set([
  "node_modules",
  "bower_components",
  "vendor",
  ".git",
  ".hg",
  ".svn",
  "dist",
  "build",
  "out",
  "target",
  "coverage",
  ".next",
  ".nuxt",
  ".cache",
  ".venv",
  "venv",
  "env",
  "__pycache__",
  ".tox",
  ".terraform",
  ".gradle",
  ".idea",
  ".skills",
]);

/** Files larger than this are not read. */
export const MAX_FILE_BYTES = 512 * 1024;

/** Folders that hold one project each in a monorepo. */
export const MONOREPO_DIRS = ["apps", "packages", "services", "modules", "projects"];

const TEXT_EXTENSIONS = new Set([
  "yml",
  "yaml",
  "json",
  "toml",
  "ini",
  "cfg",
  "conf",
  "properties",
  "xml",
  "js",
  "cjs",
  "mjs",
  "ts",
  "jsx",
  "tsx",
  "py",
  "rb",
  "go",
  "java",
  "kt",
  "php",
  "rs",
  "cs",
  "ex",
  "exs",
  "sh",
  "tf",
]);

/** The connection fields a candidate may carry. */
export interface CandidateFields {
  /** The server's host, from a URL or a variable such as `PGHOST`. */
  host?: string;
  /** The server's port, from a URL or a variable such as `PGPORT`. */
  port?: number;
  /** The database, from a URL or a variable such as `PGDATABASE`. */
  database?: string;
  /** The user, from a URL or a variable such as `PGUSER`. */
  user?: string;
  /** The password, from a URL or a variable such as `PGPASSWORD`. */
  password?: string;
  /** The SSL mode as the file writes it (a URL's `sslmode`, or `PGSSLMODE`). */
  sslmode?: string;
}

/** Settings found in one file (one URL, or the variables of one file). */
export interface Candidate {
  /** Path of the file, relative to the scan root. */
  source: string;
  /** The project it belongs to: the monorepo folder's name, else the scan root's. */
  project: string;
  /** The connection settings found there; each absent when the file does not give it. */
  fields: CandidateFields;
}

const VARIABLES: Record<string, keyof CandidateFields | "url"> = {
  DATABASE_URL: "url",
  POSTGRES_URL: "url",
  POSTGRESQL_URL: "url",
  PGHOST: "host",
  PGPORT: "port",
  PGDATABASE: "database",
  PGUSER: "user",
  PGPASSWORD: "password",
  PGSSLMODE: "sslmode",
  DB_HOST: "host",
  DB_PORT: "port",
  DB_NAME: "database",
  DB_DATABASE: "database",
  DB_USER: "user",
  DB_USERNAME: "user",
  DB_PASSWORD: "password",
  POSTGRES_HOST: "host",
  POSTGRES_PORT: "port",
  POSTGRES_DB: "database",
  POSTGRES_USER: "user",
  POSTGRES_PASSWORD: "password",
};

/** True for values that only point elsewhere: `${VAR}`, `$VAR`, `process.env.X` ... */
export function isReference(value: string): boolean {
  return /\$\{|\$[A-Za-z_]|process\.env|import\.meta\.env|os\.environ|os\.getenv|getenv\(|ENV\[|System\.getenv|\{\{|%\(|<%|env\(/
    .test(value);
}

function cleanValue(raw: string): string {
  const value = raw.trim();
  const quote = value[0];
  if (quote === '"' || quote === "'" || quote === "`") {
    const end = value.indexOf(quote, 1);
    return end === -1 ? value.slice(1) : value.slice(1, end);
  }
  return value.replace(/\s+#.*$/, "").replace(/[,;]\s*$/, "").trim();
}

function projectFor(source: string, rootName: string): string {
  const parts = source.split(sep);
  for (let i = 0; i < parts.length - 1; i++) {
    if (MONOREPO_DIRS.includes(parts[i]) && i + 1 < parts.length - 1) return parts[i + 1];
  }
  return rootName;
}

function fieldsFromUrl(url: string): CandidateFields | undefined {
  try {
    const parsed = parseConnectionUrl(url.replace(/[)\].,;]+$/, ""), "the URL");
    const fields: CandidateFields = {};
    if (parsed.host) fields.host = parsed.host;
    if (parsed.port) fields.port = parsed.port;
    if (parsed.database) fields.database = parsed.database;
    if (parsed.user) fields.user = parsed.user;
    if (parsed.password) fields.password = parsed.password;
    if (parsed.params.sslmode) fields.sslmode = parsed.params.sslmode;
    return Object.keys(fields).length ? fields : undefined;
  } catch {
    return undefined;
  }
}

/** The candidates in one file's text. */
export function candidatesInText(text: string, source: string, project: string): Candidate[] {
  const found: Candidate[] = [];
  const variables: CandidateFields = {};
  const urls = new Set<string>();
  const assignment = /(?:^|[\s{,(-])["']?([A-Z][A-Z0-9_]*)["']?\s*(?:=|:(?!\/\/))\s*([^\n\r]*)/gm;
  for (const m of text.matchAll(assignment)) {
    const role = VARIABLES[m[1]];
    if (!role) continue;
    const value = cleanValue(m[2]);
    if (value === "" || isReference(value)) continue;
    if (role === "url") {
      if (/^postgres(ql)?:\/\//.test(value)) urls.add(value);
    } else if (role === "port") {
      if (/^\d{1,5}$/.test(value)) variables.port = Number(value);
    } else if (variables[role] === undefined) {
      variables[role] = value;
    }
  }
  for (const m of text.matchAll(/postgres(?:ql)?:\/\/[^\s'"`<>]+/g)) {
    if (!isReference(m[0])) urls.add(m[0].replace(/[)\].,;]+$/, ""));
  }
  for (const url of urls) {
    const fields = fieldsFromUrl(url);
    if (fields) found.push({ source, project, fields });
  }
  if (Object.keys(variables).length) found.push({ source, project, fields: variables });
  return found;
}

function wanted(name: string): boolean {
  if (name.startsWith(".env") || name.endsWith(".env")) return true;
  if (/^(docker-)?compose([.-].*)?\.ya?ml$/.test(name)) return true;
  const ext = name.includes(".") ? name.split(".").pop()!.toLowerCase() : "";
  return TEXT_EXTENSIONS.has(ext);
}

/**
 * Walks `root` (depth-first, sorted, at most `maxDepth` folders deep) and
 * returns the distinct candidates, in the order found.
 */
export async function scanProject(root: string, maxDepth = 8): Promise<Candidate[]> {
  const rootName = basename(root);
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  async function walk(dir: string, depth: number): Promise<void> {
    let entries: Deno.DirEntry[];
    try {
      entries = [];
      for await (const entry of Deno.readDir(dir)) entries.push(entry);
    } catch {
      return; // Unreadable folder: skip it.
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) {
        if (!SKIPPED_DIRS.has(entry.name) && depth < maxDepth) await walk(path, depth + 1);
        continue;
      }
      if (!entry.isFile || !wanted(entry.name)) continue;
      let bytes: Uint8Array;
      try {
        const info = await Deno.stat(path);
        if (info.size > MAX_FILE_BYTES) continue;
        bytes = await Deno.readFile(path);
      } catch {
        continue;
      }
      if (bytes.subarray(0, 8192).includes(0)) continue; // binary
      const source = relative(root, path);
      const text = new TextDecoder().decode(bytes);
      for (const candidate of candidatesInText(text, source, projectFor(source, rootName))) {
        const key = JSON.stringify(candidate.fields);
        if (seen.has(key)) continue;
        seen.add(key);
        candidates.push(candidate);
      }
    }
  }
  await walk(root, 0);
  return candidates;
}
