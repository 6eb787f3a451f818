/**
 * Migrating a profiles file written before schema 1 to schema 1, as a plan of
 * comment-keeping edits.
 *
 * @module
 */

import { SkillError } from "../core/errors.ts";
import { parseSslSwitch, SCHEMA_VERSION } from "./profiles_file.ts";
import { asTable, type TomlEdit, type TomlTable } from "./toml_edit.ts";

/** What migrating a file to schema 1 will change, in words and as edits. */
export interface MigrationPlan {
  /** The version the file is at (0 when it has no schema_version). */
  fromVersion: number;
  /** The edits that make the file schema 1, in the order they apply; empty when it is already. */
  edits: TomlEdit[];
  /** One line for people per change, such as `[database.local]: sslmode "on" -> true`. */
  changes: string[];
}

const LIBPQ_SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/** `url` with its query parameter `sslmode` set to `mode`. */
function urlWithSslMode(url: string, mode: string): string {
  const [base, query = ""] = url.split(/\?(.*)/s, 2);
  const params = query.split("&").filter((p) => p !== "" && !/^sslmode=/.test(p));
  params.push(`sslmode=${mode}`);
  return `${base}?${params.join("&")}`;
}

/**
 * Plans the upgrade of a pre-1 file to schema 1: `[configuration]
 * schema_version = 1`; every `sslmode` made a boolean (true/false, require/
 * disable, yes/no, on/off, 1/0 and their quoted forms); a libpq mode that is
 * neither (prefer, allow, verify-ca, verify-full) moved into the profile's url
 * query (a `postgresql://?sslmode=...` url when the profile has none, which
 * overrides nothing else); `pg_bin_path` set to `pgBinPath` when missing.
 * Throws when the file is newer than schema 1, when an sslmode is no libpq
 * mode at all, or when pg_bin_path is missing and no client tools were found.
 */
export function planMigration(
  path: string,
  data: TomlTable,
  pgBinPath: string | undefined,
): MigrationPlan {
  const configuration = asTable(data.configuration) ?? {};
  const version = configuration.schema_version;
  if (typeof version === "number" && version > SCHEMA_VERSION) {
    throw new SkillError(
      `"${path}" has schema_version = ${version}, newer than this skill knows (${SCHEMA_VERSION}); update the skill`,
    );
  }
  const fromVersion = typeof version === "number" ? version : 0;
  const edits: TomlEdit[] = [];
  const changes: string[] = [];
  if (fromVersion === SCHEMA_VERSION) return { fromVersion, edits, changes };

  const database = asTable(data.database) ?? {};
  const profiles = Object.keys(database).filter((k) => asTable(database[k]) !== undefined);
  const moveToUrl = (name: string, mode: string) => {
    const profile = asTable(database[name])!;
    const url = typeof profile.url === "string" ? profile.url : "postgresql://";
    if (typeof profile.url === "string" && /[?&]sslmode=/.test(profile.url)) return;
    edits.push({ section: ["database", name], key: "url", value: urlWithSslMode(url, mode) });
    changes.push(`[database.${name}]: sslmode "${mode}" moved into url`);
  };
  const normalise = (section: string[], raw: unknown): void => {
    const where = `[${section.join(".")}]`;
    if (raw === undefined || typeof raw === "boolean") return;
    const text = String(raw);
    const flag = parseSslSwitch(text);
    if (flag !== undefined) {
      edits.push({ section, key: "sslmode", value: flag });
      changes.push(`${where}: sslmode ${JSON.stringify(raw)} -> ${flag}`);
      return;
    }
    const mode = text.trim().toLowerCase();
    if (!LIBPQ_SSL_MODES.includes(mode)) {
      throw new SkillError(
        `sslmode ${JSON.stringify(raw)} in ${where} of "${path}" is not an SSL mode; ` +
          `set it to true or false by hand and run the migration again`,
      );
    }
    if (section.length === 1) {
      // A default for every profile: each profile without its own sslmode
      // keeps the mode through its url; the default becomes false.
      edits.push({ section, key: "sslmode", value: false });
      changes.push(`${where}: sslmode "${mode}" -> false (kept per profile in url)`);
      for (const name of profiles) {
        if (asTable(database[name])!.sslmode === undefined) moveToUrl(name, mode);
      }
    } else {
      edits.push({ section, key: "sslmode", remove: true });
      moveToUrl(section[1], mode);
    }
  };
  normalise(["database"], database.sslmode);
  for (const name of profiles) normalise(["database", name], asTable(database[name])!.sslmode);

  if (fromVersion !== SCHEMA_VERSION) {
    edits.unshift({ section: ["configuration"], key: "schema_version", value: SCHEMA_VERSION });
    changes.unshift(`[configuration]: schema_version = ${SCHEMA_VERSION}`);
  }
  if (typeof configuration.pg_bin_path !== "string" || configuration.pg_bin_path === "") {
    if (!pgBinPath) {
      throw new SkillError(
        `No PostgreSQL client tools (psql) found to set [configuration] pg_bin_path in "${path}"; ` +
          `install them or add pg_bin_path by hand, then run the migration again`,
      );
    }
    edits.splice(1, 0, { section: ["configuration"], key: "pg_bin_path", value: pgBinPath });
    changes.splice(1, 0, `[configuration]: pg_bin_path = "${pgBinPath}"`);
  }
  return { fromVersion, edits, changes };
}
