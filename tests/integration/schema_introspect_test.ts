/**
 * schema_introspect.ts on real servers of every supported major version
 * (PG_TEST_MAJORS): the output holds every fact the catalog has (each
 * expectation computed from the catalog here, not written down), children
 * under their table, --table shows what belongs to the table only, and on
 * the bookshop fixture both formats are at most 0.6x the bytes of
 * `pg_dump --schema-only`.
 */
import assert from "node:assert/strict";
import { type Cluster, startCluster, testMajors } from "../support/cluster.ts";
import { makeProject, type Project, runSkillScript } from "../support/run.ts";
import { APP_SCHEMA } from "../support/fixtures.ts";
import { candidateBinDirs } from "../../lib/tools/client_tools.ts";

const BOOKSHOP = await Deno.readTextFile(
  new URL("../../dev/fixtures/bookshop.sql", import.meta.url),
);

type Row = Record<string, unknown>;
type Doc = Record<string, Row[]>;

async function run(project: Project, env: Record<string, string>, args: string[]) {
  const result = await runSkillScript("schema_introspect.ts", args, {
    env: { ...project.env, ...env },
  });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

async function json(project: Project, env: Record<string, string>, args: string[] = []) {
  return JSON.parse(await run(project, env, [...args, "--json"])) as Doc;
}

const byName = (rows: Row[] | undefined, name: string) => rows?.find((r) => r.name === name);

/** After CREATE INDEX|TRIGGER name ON table: what the output shows (the fixture's names need no quotes). */
function afterUsing(definition: string): string {
  return definition.slice(definition.indexOf(" USING ") + " USING ".length);
}

/** The Debian pg_dump, when it can dump a server of this major. */
async function pgDumpFor(major: number): Promise<string | undefined> {
  for (const dir of candidateBinDirs()) {
    const path = `${dir}/pg_dump`;
    try {
      const out = await new Deno.Command(path, { args: ["--version"] }).output();
      const version = Number(new TextDecoder().decode(out.stdout).match(/(\d+)\.\d+/)?.[1]);
      if (version >= major) return path;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

for (const major of testMajors()) {
  Deno.test(`schema_introspect on PostgreSQL ${major}`, async (t) => {
    const cluster: Cluster = await startCluster({
      embeddedMajor: major === "system" ? undefined : Number(major),
    });
    const project = await makeProject();
    try {
      await cluster.sql("create database bookshop");
      await cluster.sql(BOOKSHOP, "bookshop");
      await cluster.sql("analyze", "bookshop");
      await cluster.sql("create database shapes");
      await cluster.sql(APP_SCHEMA, "shapes");
      const shop = { DB_URL: cluster.url({ database: "bookshop" }) };
      const shapes = { DB_URL: cluster.url({ database: "shapes" }) };
      const q = (sql: string) => cluster.sql(sql, "bookshop");
      const doc = await json(project, shop);

      await t.step(
        "every relation, column, constraint, index and trigger, under its table",
        async () => {
          assert.deepEqual(Object.keys(doc), [
            "tables",
            "views",
            "materialized_views",
            "sequences",
            "enums",
            "domains",
            "composite_types",
            "functions",
            "extensions",
            "comments",
          ]);
          const relations = await q(
            `select c.oid, c.relname as name, c.relkind as kind,
                  (select p.relname from pg_inherits i join pg_class p on p.oid = i.inhparent
                    where i.inhrelid = c.oid) as parent
             from pg_class c where c.relnamespace = 'shop'::regnamespace
              and c.relkind in ('r', 'p', 'v', 'm') order by c.relname`,
          );
          const group = (kind: unknown) =>
            kind === "v" ? "views" : kind === "m" ? "materialized_views" : "tables";
          for (const kind of ["tables", "views", "materialized_views"]) {
            assert.deepEqual(
              doc[kind].map((r) => r.name),
              relations.filter((r) => group(r.kind) === kind).map((r) => r.name),
              kind,
            );
          }
          const entry = (name: unknown) =>
            [...doc.tables, ...doc.views, ...doc.materialized_views].find((r) => r.name === name)!;
          // Columns: a partition lists only what differs from its parent, so what it has is its
          // own list over its parent's.
          const columnsOf = (name: unknown): Map<unknown, Row> => {
            const rel = relations.find((r) => r.name === name)!;
            const own = new Map(((entry(name).columns ?? []) as Row[]).map((c) => [c.name, c]));
            if (rel.parent === null) return own;
            const merged = new Map(columnsOf(rel.parent));
            for (const [k, v] of own) merged.set(k, v);
            return merged;
          };
          const columns = await q(
            `select c.relname as rel, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
                  a.attnotnull as not_null,
                  case when a.attgenerated = '' then pg_get_expr(d.adbin, d.adrelid) end as def,
                  case when a.attgenerated <> '' then pg_get_expr(d.adbin, d.adrelid) end as gen
             from pg_attribute a join pg_class c on c.oid = a.attrelid
             left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
            where c.relnamespace = 'shop'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
              and a.attnum > 0 and not a.attisdropped`,
          );
          assert.ok(columns.length > 250, `${columns.length} columns`);
          for (const c of columns) {
            const shown = columnsOf(c.rel).get(c.name);
            assert.ok(shown, `column ${c.rel}.${c.name}`);
            assert.equal(shown.type, c.type, `${c.rel}.${c.name} type`);
            assert.equal(shown.not_null ?? false, c.not_null, `${c.rel}.${c.name} not null`);
            // Defaults are deparsed with the search_path the script pins: compare by their text
            // without the schema.
            const plain = (v: unknown) =>
              v === null || v === undefined ? null : String(v).replaceAll("shop.", "");
            assert.equal(plain(shown.default), plain(c.def), `${c.rel}.${c.name} default`);
            assert.equal(plain(shown.generated), plain(c.gen), `${c.rel}.${c.name} generated`);
          }
          for (const r of relations) {
            assert.equal(columnsOf(r.name).size, columns.filter((c) => c.rel === r.name).length);
          }
          // Constraints: each once, where declared; copies on partitions nowhere.
          const constraints = await q(
            `select c.relname as rel, k.conname as name, k.contype as type, k.conparentid <> 0 as copy,
                  k.conislocal as local, pg_get_constraintdef(k.oid) as def,
                  (select r.relname from pg_class r where r.oid = k.confrelid) as ref
             from pg_constraint k join pg_class c on c.oid = k.conrelid
            where c.relnamespace = 'shop'::regnamespace and k.contype in ('p', 'u', 'c', 'x', 'f')`,
          );
          const part = {
            p: "primary_key",
            u: "unique",
            c: "checks",
            x: "exclusions",
            f: "foreign_keys",
          };
          let shownCount = 0;
          for (const k of constraints) {
            const key = part[k.type as keyof typeof part];
            const held = entry(k.rel)[key];
            const list = (key === "primary_key" ? (held ? [held] : []) : held ?? []) as Row[];
            const found = byName(list, String(k.name));
            if (k.copy || (k.type === "c" && !k.local)) {
              assert.equal(found, undefined, `copy ${k.rel}.${k.name} left out`);
              continue;
            }
            shownCount++;
            assert.ok(found, `constraint ${k.rel}.${k.name} (${key})`);
            if (k.type === "c" || k.type === "x") assert.equal(found.definition, k.def);
            if (k.type === "f") assert.equal(found.referenced_table, `shop.${k.ref}`);
          }
          assert.ok(shownCount > 60);
          const fk = byName(entry("store").foreign_keys as Row[], "store_manager_fk")!;
          assert.deepEqual([fk.deferrable, fk.initially_deferred], [true, true]);
          assert.equal(
            (byName(entry("customer").checks as Row[], "customer_email_shape")!).not_valid,
            true,
          );
          // Indexes: those no key has, with pg_get_indexdef's definition (the catalog spelling of
          // plain ones must be the same text); a partition's attached index names its parent.
          const indexes = await q(
            `select c.relname as rel, ic.relname as name, pg_get_indexdef(i.indexrelid) as def,
                  (select p.relname from pg_inherits h join pg_class p on p.oid = h.inhparent
                    where h.inhrelid = i.indexrelid) as parent,
                  exists (select 1 from pg_constraint k where k.conindid = i.indexrelid
                            and k.conrelid = i.indrelid and k.contype in ('p', 'u', 'x')
                            and k.conparentid = 0) as keyed
             from pg_index i join pg_class ic on ic.oid = i.indexrelid
             join pg_class c on c.oid = i.indrelid
            where c.relnamespace = 'shop'::regnamespace`,
          );
          for (const i of indexes) {
            const found = byName(entry(i.rel).indexes as Row[] | undefined, String(i.name));
            if (i.keyed) {
              assert.equal(found, undefined, `${i.name} is its key's`);
              continue;
            }
            assert.ok(found, `index ${i.rel}.${i.name}`);
            if (i.parent) assert.equal(found.of, `shop.${i.parent}`);
            else assert.equal(found.definition, afterUsing(String(i.def)), String(i.name));
          }
          const triggers = await q(
            `select c.relname as rel, tg.tgname as name, pg_get_triggerdef(tg.oid) as def
             from pg_trigger tg join pg_class c on c.oid = tg.tgrelid
            where c.relnamespace = 'shop'::regnamespace and not tg.tgisinternal`,
          );
          assert.ok(triggers.length >= 12);
          for (const tg of triggers) {
            const found = byName(entry(tg.rel).triggers as Row[], String(tg.name));
            assert.ok(found, `trigger ${tg.rel}.${tg.name}`);
            assert.equal(
              found.definition,
              String(tg.def).replace(`CREATE TRIGGER ${tg.name} `, ""),
            );
          }
          // The partitioned table and its partitions.
          const sale = entry("sale");
          assert.deepEqual([sale.kind, sale.partition_key], [
            "partitioned table",
            "RANGE (sold_at)",
          ]);
          const bounds = await q(
            `select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound from pg_class c
            where c.relispartition and c.relkind in ('r', 'p')
              and c.relnamespace = 'shop'::regnamespace`,
          );
          assert.equal(bounds.length, 25);
          for (const b of bounds) {
            assert.deepEqual([entry(b.name).partition_of, entry(b.name).bound], [
              "shop.sale",
              b.bound,
            ]);
          }
          // Nulls and empty lists are left out everywhere.
          const text = JSON.stringify(doc);
          assert.doesNotMatch(text, /:null|:\[\]|:false/);
        },
      );

      await t.step("views, functions, types, sequences, policies and comments", async () => {
        const views = await q(
          `select c.relname as name, pg_get_viewdef(c.oid) as def from pg_class c
            where c.relnamespace = 'shop'::regnamespace and c.relkind in ('v', 'm')`,
        );
        for (const v of views) {
          const found = byName([...doc.views, ...doc.materialized_views], String(v.name))!;
          assert.equal(
            String(found.definition).replaceAll("shop.", ""),
            String(v.def).replaceAll("shop.", ""),
          );
        }
        assert.equal(byName(doc.materialized_views, "sales_by_genre")!.not_populated, true);
        assert.deepEqual(
          (byName(doc.materialized_views, "sales_by_genre")!.indexes as Row[]).map((i) => i.name),
          ["sales_by_genre_genre_idx"],
        );
        const functions = await q(
          `select p.proname as name, pg_get_functiondef(p.oid) as def from pg_proc p
            where p.pronamespace = 'shop'::regnamespace order by 1`,
        );
        assert.deepEqual(doc.functions.map((f) => f.name), functions.map((f) => f.name));
        for (const f of functions) {
          assert.equal(byName(doc.functions, String(f.name))!.definition, f.def);
        }
        assert.equal(byName(doc.functions, "restock")!.security_definer, true);
        const labels = await q(
          `select array_agg(enumlabel order by enumsortorder) as labels from pg_enum
            where enumtypid = 'shop.format'::regtype`,
        );
        assert.deepEqual(byName(doc.enums, "format")!.labels, labels[0].labels);
        assert.deepEqual(doc.domains.map((d) => d.name), ["isbn", "price", "year"]);
        assert.deepEqual(
          [byName(doc.domains, "price")!.not_null, byName(doc.domains, "price")!.default],
          [true, "0"],
        );
        assert.deepEqual(byName(doc.composite_types, "postal")!.attributes, [
          "street text",
          "city text",
          "postcode character varying(12)",
        ]);
        const receipt = byName(doc.sequences, "receipt_seq")!;
        assert.deepEqual([receipt.start, receipt.increment, receipt.cycle, receipt.comment], [
          1000,
          10,
          true,
          "Receipt numbers",
        ]);
        assert.equal(byName(doc.sequences, "book_book_id_seq")!.owned_by, "shop.book.book_id");
        const review = byName(doc.tables, "review")!;
        assert.equal(review.row_security, true);
        assert.deepEqual(
          (review.policies as Row[]).map((p) => [p.name, p.command, p.comment]),
          [["review_own", "update", "A customer edits their own reviews"], [
            "review_read",
            "select",
            undefined,
          ]],
        );
        // Every comment in the database is shown once, with its object or among the comments.
        const comments = await q(
          `select description from pg_description where objoid >= 16384
              and classoid <> 'pg_extension'::regclass and description <> 'standard public schema'`,
        );
        const text = JSON.stringify(doc);
        for (const c of comments) {
          assert.equal(
            text.split(JSON.stringify(c.description)).length - 1,
            1,
            `comment ${c.description}`,
          );
        }
        assert.deepEqual(doc.comments, [{
          schema: "shop",
          kind: "schema",
          name: "shop",
          comment: "The bookshop chain",
        }]);
      });

      await t.step(
        "the text shows the same, each table's columns aligned on their own",
        async () => {
          const text = await run(project, shop, []);
          const blocks = text.split("\n== ")[0].split(/\n(?=shop\.)/).slice(1);
          assert.equal(blocks.length, doc.tables.length);
          for (const [i, block] of blocks.entries()) {
            const table = doc.tables[i];
            const lines = block.split("\n");
            assert.ok(lines[0].startsWith(`shop.${table.name} (`), lines[0]);
            const columns = (table.columns ?? []) as Row[];
            const width = Math.max(...columns.map((c) => String(c.name).length));
            columns.forEach((c, k) => {
              assert.equal(
                lines[1 + k],
                `  ${String(c.name).padEnd(width)} ${c.type}` +
                  (c.not_null ? " not null" : "") +
                  (c.default !== undefined ? ` default ${c.default}` : "") +
                  (c.identity !== undefined ? ` generated ${c.identity} as identity` : "") +
                  (c.generated !== undefined ? ` generated always as (${c.generated})` : "") +
                  (c.comment !== undefined ? ` -- ${c.comment}` : ""),
              );
            });
            for (const part of ["foreign_keys", "indexes", "triggers", "checks", "unique"]) {
              for (const item of (table[part] ?? []) as Row[]) {
                assert.ok(block.includes(`: ${item.name} `), `${table.name}: ${item.name}`);
              }
            }
          }
          for (const f of doc.functions) assert.ok(text.includes(`shop.${f.name}(`));
        },
      );

      const pgDump = major === "system" || Number(major) <= 15
        ? await pgDumpFor(cluster.major)
        : undefined;
      if (pgDump) {
        await t.step("both formats at most 0.6x the bytes of pg_dump --schema-only", async () => {
          const dump = await new Deno.Command(pgDump, {
            args: ["--schema-only", "-d", cluster.url({ database: "bookshop" })],
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.equal(dump.code, 0, new TextDecoder().decode(dump.stderr));
          const bytes = (s: string) => new TextEncoder().encode(s).length;
          const text = await run(project, shop, []);
          const asJson = await run(project, shop, ["--json"]);
          for (const [format, size] of [["text", bytes(text)], ["json", bytes(asJson)]] as const) {
            const ratio = size / dump.stdout.length;
            assert.ok(ratio <= 0.6, `${format}: ${size} bytes, ${ratio.toFixed(2)}x pg_dump`);
          }
        });
      }

      await t.step("--table shows what belongs to the table, and names what it uses", async () => {
        const sale = await json(project, shop, ["--table", "sale"]);
        const partitions = await q(
          `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'shop.sale'::regclass order by 1`,
        );
        assert.deepEqual(sale.tables.map((r) => r.name), [
          "sale",
          ...partitions.map((p) => p.name),
        ]);
        assert.deepEqual(Object.keys(sale), ["tables", "sequences"]);
        assert.deepEqual(sale.sequences.map((s) => s.name), ["sale_sale_id_seq"]);
        const book = await json(project, shop, ["--table", "book"]);
        assert.deepEqual(book.tables.map((r) => r.name), ["book"]);
        assert.deepEqual(book.enums.map((r) => r.name), ["format"]);
        assert.deepEqual(book.domains.map((r) => r.name), ["isbn", "price", "year"]);
        assert.deepEqual(book.sequences.map((r) => r.name), ["book_book_id_seq"]);
        assert.deepEqual(book.functions.map((f) => [f.name, f.definition]), [
          ["book_search_update", undefined],
          ["touch", undefined],
        ]);
        assert.equal(book.extensions, undefined);
        const text = await run(project, shop, ["--table", "book"]);
        assert.doesNotMatch(text, /begin|BEGIN/, "no function bodies");
        // A built-in trigger function is named by the trigger alone, not listed as the table's.
        await q(`create table shop.note_fts (body text, fts tsvector);
                 create trigger note_fts_update before insert on shop.note_fts for each row
                   execute function pg_catalog.tsvector_update_trigger(fts, 'pg_catalog.english', body)`);
        try {
          const note = await json(project, shop, ["--table", "note_fts"]);
          assert.equal(note.functions, undefined, JSON.stringify(note.functions));
          assert.match(JSON.stringify(note.tables[0].triggers), /tsvector_update_trigger/);
        } finally {
          await q("drop table shop.note_fts");
        }
        const keys = await json(project, shop, ["--section", "foreign_keys"]);
        const [{ n }] = await q(
          `select count(*)::int as n from pg_constraint k join pg_class c on c.oid = k.conrelid
            where c.relnamespace = 'shop'::regnamespace and k.contype = 'f' and k.conparentid = 0`,
        );
        assert.deepEqual(Object.keys(keys), ["tables"]);
        assert.equal(keys.tables.flatMap((t) => t.foreign_keys as Row[]).length, n);
        for (const table of keys.tables) {
          assert.deepEqual(Object.keys(table), ["schema", "name", "foreign_keys"]);
        }
      });

      await t.step("shapes: partitions, exclusion, policies, comments, INHERITS", async () => {
        await cluster.sql(
          `create schema legacy;
           create table legacy.cities (name text primary key, pop int default 0);
           create table legacy.capitals (state text) inherits (legacy.cities);
           comment on column legacy.capitals.pop is 'people';`,
          "shapes",
        );
        const app = await json(project, shapes, ["--schema", "app", "--schema", "legacy"]);
        const events = byName(app.tables, "events")!;
        assert.deepEqual([events.kind, events.comment], [
          "partitioned table",
          "Everything that happened",
        ]);
        assert.equal(events.estimated_rows, undefined, "never counted: left out");
        const bookings = byName(app.tables, "bookings")!;
        assert.deepEqual(bookings.exclusions, [{
          name: "bookings_no_overlap",
          definition: "EXCLUDE USING gist (during WITH &&)",
          comment: "One booking per slot",
        }]);
        const accounts = byName(app.tables, "accounts")!;
        assert.deepEqual([accounts.row_security, accounts.row_security_forced], [true, true]);
        assert.deepEqual(
          (accounts.policies as Row[]).map((p) => [p.name, p.mode, p.command, p.with_check]),
          [["own_account", "permissive", "select", undefined], [
            "positive_ids",
            "restrictive",
            "update",
            "(id > 0)",
          ]],
        );
        assert.equal(
          ((accounts.columns as Row[]).find((c) => c.name === "email")!).comment,
          "Where we write",
        );
        // A child lists the columns it declares and those that differ from its parent.
        const capitals = byName(app.tables, "capitals")!;
        assert.deepEqual(capitals.inherits, ["legacy.cities"]);
        assert.deepEqual(
          (capitals.columns as Row[]).map((c) => c.name),
          ["pop", "state"],
        );
        const trigger = byName(app.tables, "events_2025")!.triggers as Row[];
        assert.equal(trigger[0].name, "events_audit");
        assert.deepEqual(app.comments.map((c) => c.kind), ["schema"]);
        await cluster.sql("drop schema legacy cascade", "shapes");
      });

      await t.step("names bound, unmatched names, truncation, bad section", async () => {
        const hostile = await runSkillScript("schema_introspect.ts", [
          "--table",
          "book'; drop table shop.book; --",
        ], { env: { ...project.env, ...shop } });
        assert.equal(hostile.code, 1);
        assert.match(hostile.stderr, /no table named "book'; drop table shop\.book; --"/);
        assert.equal(hostile.stdout, "");
        assert.equal((await q("select to_regclass('shop.book') is not null as ok"))[0].ok, true);
        const close = await runSkillScript("schema_introspect.ts", ["--table", "Book"], {
          env: { ...project.env, ...shop },
        });
        assert.equal(close.code, 1);
        assert.match(
          close.stderr,
          /^schema_introspect: Nothing matched in database "bookshop": no table named "Book" \(close: "book"/,
        );
        const cut = await json(project, {
          ...shop,
          DB_VIEW_DEF_TRUNC: "12",
          DB_FUNC_DEF_TRUNC: "15",
        }, [
          "--section",
          "views",
          "--section",
          "functions",
        ]);
        assert.deepEqual(Object.keys(cut), ["views", "functions"]);
        assert.ok(cut.views.every((v) => String(v.definition).length <= 12));
        assert.ok(cut.functions.every((f) => String(f.definition ?? "").length <= 15));
        const bad = await runSkillScript("schema_introspect.ts", ["--section", "nope"], {
          env: { ...project.env, ...shop },
        });
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /Unknown section "nope"; sections: tables, views/);
      });
      await t.step(
        "table format escapes control characters in every name and definition",
        async () => {
          await cluster.sql("create database hostile");
          // U&"..." spells the control characters out: ESC, CR, BEL, CSI (C1), LF.
          const t1 = String.raw`U&"esc\001B[31mRED\001B[0m\000DOVER"`;
          const c1 = String.raw`U&"c\001B]0;title\0007"`;
          await cluster.sql(
            String.raw`create table ${t1} (${c1} int
             constraint U&"chk\001B[5mblink\009B" check (${c1} > 0));
           create index U&"ix\001B[8mhidden" on ${t1} (${c1});
           comment on table ${t1} is E'note\x1b[2J\nline';`,
            "hostile",
          );
          const hostile = { DB_URL: cluster.url({ database: "hostile" }) };
          const [table] = await cluster.sql(
            "select relname from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace",
            "hostile",
          );
          assert.ok(String(table.relname).includes("\x1b[31m"), "the fixture holds a raw escape");
          const outputs = [
            await run(project, hostile, []),
            await run(project, hostile, ["--table", String(table.relname)]),
            await run(project, hostile, ["--section", "checks"]),
            await run(project, hostile, ["--section", "indexes"]),
          ];
          for (const out of outputs) {
            // deno-lint-ignore no-control-regex
            assert.doesNotMatch(out, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, JSON.stringify(out));
          }
          assert.match(outputs[0], /"esc\\x1b\[31mRED\\x1b\[0m\\x0dOVER"/);
          assert.match(outputs[0], /"c\\x1b\]0;title\\x07"/);
          assert.match(outputs[0], /"chk\\x1b\[5mblink\\x9b"/);
          assert.match(outputs[0], /"ix\\x1b\[8mhidden"/);
        },
      );
    } finally {
      await project.remove();
      await cluster.stop();
    }
  });
}
