/**
 * The connection layer against real servers: every libpq sslmode on plain,
 * SSL-only and optional-SSL servers, the SSL fallback, certificate checks
 * that trust only `sslrootcert`, client certificates, channel binding,
 * SASLprep, target_session_attrs, direct SSL, and every way a connection or
 * a running statement can end.
 */
import { pathExists } from "../../lib/config/files.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession } from "../../lib/connection/connect.ts";
import { connect, explainQueryError } from "../../lib/connection/script_sessions.ts";
import type { ConnectionTarget, SslMode } from "../../lib/connection/target.ts";
import { SkillError } from "../../lib/core/errors.ts";
import { PgServerError } from "../../lib/connection/session.ts";
import { findToolDir } from "../../lib/tools/client_tools.ts";
import { type Cluster, freePort, makeCa, serverBinDir, startCluster } from "../support/cluster.ts";
import { isOneLineError, runSkillScript } from "../support/run.ts";
import { activeSession } from "../support/wait.ts";

function targetFor(cluster: Cluster, overrides: Partial<ConnectionTarget> = {}): ConnectionTarget {
  return {
    host: cluster.host,
    port: cluster.port,
    user: cluster.superuser,
    password: cluster.password,
    database: "postgres",
    sslmode: "disable",
    sslFallback: false,
    connectTimeoutSeconds: 5,
    parameters: { application_name: "connect-test" },
    source: "DB_URL",
    ...overrides,
  };
}

/** Connects, checks that the reported SSL state is the server's, and closes. */
async function sessionSsl(target: ConnectionTarget): Promise<boolean> {
  const { session, ssl } = await openSession(target);
  try {
    const { rows } = await session.query(
      "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
    );
    assert.equal(rows[0].ssl, ssl, "the reported SSL state matches the server's view");
    return ssl;
  } finally {
    await session.close();
  }
}

async function failureOf(target: ConnectionTarget): Promise<string> {
  try {
    const { session } = await openSession(target);
    await session.close();
  } catch (error) {
    assert.ok(error instanceof SkillError, `a SkillError, got ${error}`);
    return error.message;
  }
  throw new Error("the connection unexpectedly succeeded");
}

/** A root certificate of a CA that signed nothing the servers use. */
async function otherCa(): Promise<{ file: string; remove(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "pgskill-ca-" });
  const file = join(dir, "other.crt");
  await makeCa(file, join(dir, "other.key"), "some other CA");
  return { file, remove: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("sslmodes, fallback and failures on a plain and an SSL-only server", async (t) => {
  const plain = await startCluster({ ssl: "off" });
  const sslOnly = await startCluster({ ssl: "only" });
  const sslOptional = await startCluster({
    ssl: "on",
    hba: [
      "hostssl all plain_only 127.0.0.1/32 reject",
      "hostnossl all ssl_only 127.0.0.1/32 reject",
    ],
  });
  try {
    await t.step("plain server: disable, allow and prefer connect without SSL", async () => {
      for (const sslmode of ["disable", "allow", "prefer"] as SslMode[]) {
        assert.equal(await sessionSsl(targetFor(plain, { sslmode })), false, sslmode);
      }
    });

    await t.step("plain server: require and verify-full fail with a clear message", async () => {
      for (const sslmode of ["require", "verify-full"] as SslMode[]) {
        const message = await failureOf(
          targetFor(plain, { sslmode, sslrootcert: sslOnly.certFile }),
        );
        assert.match(message, /does not accept SSL connections but sslmode is/, sslmode);
      }
    });

    await t.step("SSL-only server: every SSL mode connects with SSL", async () => {
      for (const sslmode of ["allow", "prefer", "require"] as SslMode[]) {
        assert.equal(await sessionSsl(targetFor(sslOnly, { sslmode })), true, sslmode);
      }
      for (const sslmode of ["verify-ca", "verify-full"] as SslMode[]) {
        const target = targetFor(sslOnly, { sslmode, sslrootcert: sslOnly.certFile });
        assert.equal(await sessionSsl(target), true, sslmode);
      }
    });

    await t.step("optional-SSL server: prefer uses SSL, allow and disable do not", async () => {
      assert.equal(await sessionSsl(targetFor(sslOptional, { sslmode: "prefer" })), true);
      assert.equal(await sessionSsl(targetFor(sslOptional, { sslmode: "allow" })), false);
      assert.equal(await sessionSsl(targetFor(sslOptional, { sslmode: "disable" })), false);
    });

    await t.step(
      "prefer goes plain when SSL is refused; allow goes SSL when plain is",
      async () => {
        await sslOptional.sql(`
        create role plain_only login password 'p1';
        create role ssl_only login password 's1';`);
        const plainOnly = { user: "plain_only", password: "p1" };
        const sslOnlyUser = { user: "ssl_only", password: "s1" };
        assert.equal(
          await sessionSsl(targetFor(sslOptional, { ...plainOnly, sslmode: "prefer" })),
          false,
        );
        assert.equal(
          await sessionSsl(targetFor(sslOptional, { ...sslOnlyUser, sslmode: "allow" })),
          true,
        );
        const required = await failureOf(
          targetFor(sslOptional, { ...plainOnly, sslmode: "require" }),
        );
        assert.match(required, /refused the connection: .*SQLSTATE 28000/);
        const disabled = await failureOf(
          targetFor(sslOptional, { ...sslOnlyUser, sslmode: "disable" }),
        );
        assert.match(disabled, /refused the connection: .*SQLSTATE 28000/);
      },
    );

    await t.step("SSL-only server: disable without fallback fails and names the fix", async () => {
      const message = await failureOf(targetFor(sslOnly, { sslmode: "disable" }));
      assert.match(message, /refused the connection: .*\(SQLSTATE 28000\)/);
      assert.match(message, /if it demands SSL, use sslmode=require/);
    });

    await t.step("SSL-only server: the fallback retries once with SSL", async () => {
      const { session, ssl, sslFallbackUsed } = await openSession(
        targetFor(sslOnly, { sslmode: "disable", sslFallback: true }),
      );
      await session.close();
      assert.equal(ssl, true);
      assert.equal(sslFallbackUsed, true);
    });

    await t.step("plain server: the fallback is not used when not needed", async () => {
      const opened = await openSession(targetFor(plain, { sslFallback: true }));
      await opened.session.close();
      assert.equal(opened.sslFallbackUsed, false);
      assert.equal(opened.ssl, false);
    });

    await t.step("md5 and cleartext password methods authenticate", async () => {
      await plain.sql(`
        set password_encryption = 'md5';
        create role md5_user login password 'md5-secret';
        create role plain_user login password 'plain-secret';`);
      for (const [user, password] of [["md5_user", "md5-secret"], ["plain_user", "plain-secret"]]) {
        const { session } = await openSession(targetFor(plain, { user, password }));
        const { rows } = await session.query("select current_user as u");
        await session.close();
        assert.equal(rows[0].u, user);
      }
    });

    await t.step("wrong password, missing database and missing password", async () => {
      const wrong = await failureOf(targetFor(plain, { password: "not-the-password" }));
      assert.match(wrong, /Password authentication failed for user "postgres"/);
      assert.ok(!wrong.includes("not-the-password"));
      const noDb = await failureOf(targetFor(plain, { database: "no_such_db" }));
      assert.match(noDb, /Database "no_such_db" does not exist/);
      const noPassword = await failureOf(targetFor(plain, { password: undefined }));
      assert.match(noPassword, /asks for a password .* none is configured/);
    });

    await t.step("refused port fails at once", async () => {
      // Refused, not timed out: the message says which (the timeout has its own below).
      const message = await failureOf(
        targetFor(plain, { port: freePort(), connectTimeoutSeconds: 60 }),
      );
      assert.match(message, /Connection refused by 127\.0\.0\.1:\d+/);
    });

    await t.step("a server that never answers fails after the connect timeout", async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const accepted: Deno.Conn[] = [];
      (async () => {
        for await (const conn of listener) accepted.push(conn);
      })().catch(() => {});
      try {
        const port = (listener.addr as Deno.NetAddr).port;
        const message = await failureOf(
          targetFor(plain, { port, connectTimeoutSeconds: 1, sslmode: "prefer" }),
        );
        // The server took the connection and never spoke: the timeout, not a refusal, ended it.
        assert.equal(accepted.length, 1);
        assert.match(message, /No answer from 127\.0\.0\.1:\d+ within 1 s/);
      } finally {
        listener.close();
        for (const conn of accepted) conn.close();
      }
    });

    await t.step("unknown host name fails with a lookup message", async () => {
      const message = await failureOf(targetFor(plain, { host: "no-such-host.invalid" }));
      assert.match(message, /Cannot resolve host "no-such-host\.invalid"/);
    });

    await t.step("Unix socket connections work", async () => {
      const target = targetFor(plain, { host: plain.dir, password: undefined });
      assert.equal(await sessionSsl(target), false);
    });

    await t.step("channel binding: SCRAM-SHA-256-PLUS over SSL, refused without it", async () => {
      await sslOnly.sql(`
        set password_encryption = 'md5';
        create role md5_user login password 'md5-secret';`);
      for (const channelBinding of ["require", "prefer"] as const) {
        const opened = await openSession(
          targetFor(sslOnly, { sslmode: "require", channelBinding }),
        );
        await opened.session.close();
        assert.equal(opened.channelBinding, true, channelBinding);
      }
      const disabled = await openSession(
        targetFor(sslOnly, { sslmode: "require", channelBinding: "disable" }),
      );
      await disabled.session.close();
      assert.equal(disabled.channelBinding, false);
      const noSsl = await failureOf(targetFor(plain, { channelBinding: "require" }));
      assert.match(noSsl, /channel_binding=require cannot be met .* needs SSL/);
      // A wrong password: the refusal comes before any password is sent, so
      // the server never gets to say "password authentication failed".
      const md5 = await failureOf(
        targetFor(sslOnly, {
          sslmode: "require",
          user: "md5_user",
          password: "wrong",
          channelBinding: "require",
        }),
      );
      assert.match(
        md5,
        /channel_binding=require cannot be met .* md5 password.*no password was sent/,
      );
    });
  } finally {
    await Promise.all([plain.stop(), sslOnly.stop(), sslOptional.stop()]);
  }
});

Deno.test("certificates: only sslrootcert is trusted, names checked by verify-full only", async (t) => {
  const caSigned = await startCluster({ ssl: "only" });
  const selfSigned = await startCluster({ ssl: "only", certificate: "self-signed" });
  const other = await otherCa();
  try {
    await t.step("the right CA: verify-ca by address, verify-full by name", async () => {
      const root = { sslrootcert: caSigned.certFile };
      assert.equal(await sessionSsl(targetFor(caSigned, { sslmode: "verify-ca", ...root })), true);
      const byName = { host: "localhost", hostaddr: "127.0.0.1", ...root };
      assert.equal(
        await sessionSsl(targetFor(caSigned, { sslmode: "verify-full", ...byName })),
        true,
      );
    });

    await t.step("a certificate signed by another CA is refused", async () => {
      for (const sslmode of ["verify-ca", "verify-full", "require"] as SslMode[]) {
        const message = await failureOf(
          targetFor(caSigned, { sslmode, sslrootcert: other.file }),
        );
        assert.match(
          message,
          /SSL with .* failed: its certificate is not signed by a trusted root/,
        );
      }
    });

    await t.step(
      "a name the certificate lacks: verify-full refuses, verify-ca accepts",
      async () => {
        // db.invalid is not in the certificate (localhost and 127.0.0.1 are);
        // hostaddr keeps the connection on this machine.
        const elsewhere = {
          host: "db.invalid",
          hostaddr: "127.0.0.1",
          sslrootcert: caSigned.certFile,
        };
        const message = await failureOf(
          targetFor(caSigned, { sslmode: "verify-full", ...elsewhere }),
        );
        assert.match(message, /its certificate is not for this host name/);
        assert.equal(
          await sessionSsl(targetFor(caSigned, { sslmode: "verify-ca", ...elsewhere })),
          true,
        );
      },
    );

    await t.step("a self-signed server certificate given as sslrootcert is accepted", async () => {
      const root = { sslrootcert: selfSigned.certFile, host: "localhost", hostaddr: "127.0.0.1" };
      for (const sslmode of ["verify-ca", "verify-full", "require"] as SslMode[]) {
        assert.equal(await sessionSsl(targetFor(selfSigned, { sslmode, ...root })), true, sslmode);
      }
      const message = await failureOf(
        targetFor(selfSigned, { sslmode: "verify-ca", sslrootcert: caSigned.certFile }),
      );
      assert.match(message, /self-signed and not trusted|not signed by a trusted root/);
    });

    await t.step("sslrootcert=system trusts the system store and nothing else", async () => {
      const url = `postgresql://postgres@localhost:${caSigned.port}/postgres` +
        `?hostaddr=127.0.0.1&sslrootcert=system`;
      const env = { DB_URL: url, PGPASSWORD: caSigned.password };
      // A bundle of two roots, the server's second: every root in it counts.
      const bundle = join(caSigned.dir, "bundle.pem");
      await Deno.writeTextFile(
        bundle,
        (await Deno.readTextFile(other.file)) + (await Deno.readTextFile(caSigned.certFile!)),
      );
      const trusted = await runSkillScript("test_connection.ts", ["--json"], {
        env: { ...env, SSL_CERT_FILE: bundle },
      });
      assert.equal(trusted.code, 0, trusted.stderr);
      assert.equal(JSON.parse(trusted.stdout).ssl, true);
      const untrusted = await runSkillScript("test_connection.ts", [], {
        env: { ...env, SSL_CERT_FILE: other.file },
      });
      assert.equal(untrusted.code, 1);
      assert.match(untrusted.stderr, /not signed by a trusted root/);
      // SSL_CERT_DIR (SSL_CERT_FILE unset; this machine sets it): every certificate file of its
      // folders counts.
      const roots = await Deno.makeTempDir({ prefix: "pgskill-roots-" });
      const elsewhere = await Deno.makeTempDir({ prefix: "pgskill-roots-" });
      try {
        await Deno.copyFile(other.file, join(roots, "other.pem"));
        await Deno.writeTextFile(join(roots, "README"), "not a certificate\n");
        await Deno.copyFile(caSigned.certFile!, join(elsewhere, "ca.pem"));
        const inDir = await runSkillScript("test_connection.ts", ["--json"], {
          env: { ...env, SSL_CERT_FILE: "", SSL_CERT_DIR: `${roots}:${elsewhere}` },
        });
        assert.equal(inDir.code, 0, inDir.stderr);
        assert.equal(JSON.parse(inDir.stdout).ssl, true);
        const notInDir = await runSkillScript("test_connection.ts", [], {
          env: { ...env, SSL_CERT_FILE: "", SSL_CERT_DIR: roots },
        });
        assert.equal(notInDir.code, 1);
        assert.match(notInDir.stderr, /not signed by a trusted root/);
      } finally {
        await Deno.remove(roots, { recursive: true });
        await Deno.remove(elsewhere, { recursive: true });
      }
    });

    await t.step("roots Deno itself trusts are not added to sslrootcert", async () => {
      // Deno is told to trust the server's CA (its system store); the
      // connection names another root and must refuse the server.
      const url = `postgresql://postgres@127.0.0.1:${caSigned.port}/postgres` +
        `?sslmode=verify-ca&sslrootcert=${encodeURIComponent(other.file)}`;
      const result = await runSkillScript("test_connection.ts", [], {
        env: {
          DB_URL: url,
          PGPASSWORD: caSigned.password,
          DENO_TLS_CA_STORE: "system",
          SSL_CERT_FILE: caSigned.certFile!,
        },
      });
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, /not signed by a trusted root/);
    });

    await t.step("~/.postgresql/root.crt makes require verify, as in libpq", async () => {
      const home = await Deno.makeTempDir({ prefix: "pgskill-home-" });
      try {
        await Deno.mkdir(join(home, ".postgresql"));
        const env = {
          HOME: home,
          DB_URL: `postgresql://postgres@127.0.0.1:${caSigned.port}/postgres?sslmode=require`,
          PGPASSWORD: caSigned.password,
        };
        await Deno.copyFile(other.file, join(home, ".postgresql", "root.crt"));
        const refused = await runSkillScript("test_connection.ts", [], { env });
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /not signed by a trusted root/);
        await Deno.copyFile(caSigned.certFile!, join(home, ".postgresql", "root.crt"));
        const verified = await runSkillScript("test_connection.ts", [], { env });
        assert.equal(verified.code, 0, verified.stderr);
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    });
  } finally {
    await Promise.all([caSigned.stop(), selfSigned.stop(), other.remove()]);
  }
});

Deno.test("client certificates authenticate; a key readable by others is refused", async (t) => {
  const cluster = await startCluster({
    ssl: "only",
    clientCertificates: true,
    hba: ["hostssl all cert_user 127.0.0.1/32 cert"],
  });
  try {
    await cluster.sql("create role cert_user login");
    const { certFile, keyFile } = await cluster.clientCertificate("cert_user");
    const base = { user: "cert_user", password: undefined, sslmode: "require" as SslMode };

    await t.step("sslcert and sslkey log in as the certificate's user", async () => {
      const { session } = await openSession(
        targetFor(cluster, { ...base, sslcert: certFile, sslkey: keyFile }),
      );
      const { rows } = await session.query("select current_user as u");
      await session.close();
      assert.equal(rows[0].u, "cert_user");
    });

    await t.step("without a certificate the server refuses", async () => {
      const message = await failureOf(targetFor(cluster, base));
      assert.match(message, /refused the connection: .*certificate.*SQLSTATE 28000/);
    });

    await t.step("libpq's default files under ~/.postgresql are used", async () => {
      const home = await Deno.makeTempDir({ prefix: "pgskill-home-" });
      try {
        await Deno.mkdir(join(home, ".postgresql"));
        await Deno.copyFile(certFile, join(home, ".postgresql", "postgresql.crt"));
        await Deno.copyFile(keyFile, join(home, ".postgresql", "postgresql.key"));
        await Deno.chmod(join(home, ".postgresql", "postgresql.key"), 0o600);
        const result = await runSkillScript("test_connection.ts", ["--json"], {
          env: {
            HOME: home,
            DB_URL: `postgresql://cert_user@127.0.0.1:${cluster.port}/postgres?sslmode=require`,
          },
        });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(JSON.parse(result.stdout).user, "cert_user");
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    });

    await t.step("channel_binding=require refuses a server that asks for no password", async () => {
      const message = await failureOf(
        targetFor(cluster, {
          ...base,
          sslcert: certFile,
          sslkey: keyFile,
          channelBinding: "require",
        }),
      );
      assert.match(message, /authenticated this client without channel binding/);
    });

    await t.step("a private key readable by others is refused before connecting", async () => {
      await Deno.chmod(keyFile, 0o644);
      const message = await failureOf(
        targetFor(cluster, { ...base, sslcert: certFile, sslkey: keyFile }),
      );
      assert.match(message, /private key .* is readable by others \(mode 644\); run chmod 600/);
    });
  } finally {
    await cluster.stop();
  }
});

Deno.test("passwords as libpq prepares them (SASLprep) for SCRAM, raw for md5", async (t) => {
  const cluster = await startCluster({ ssl: "off" });
  try {
    // psql (libpq) is the reference; without client tools only our side is checked.
    const psqlDir = findToolDir("psql");
    const psqlAccepts = async (user: string, password: string): Promise<boolean> => {
      if (!psqlDir) return true;
      const psql = join(psqlDir, "psql");
      const out = await new Deno.Command(psql, {
        args: [
          "-X",
          "-tAc",
          "select 1",
          `host=127.0.0.1 port=${cluster.port} user=${user} dbname=postgres`,
        ],
        env: { PGPASSWORD: password },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return out.success;
    };
    const login = async (user: string, password: string): Promise<string> => {
      const { session } = await openSession(targetFor(cluster, { user, password }));
      const { rows } = await session.query("select current_user as u");
      await session.close();
      return rows[0].u as string;
    };

    await t.step("a soft hyphen (mapped to nothing) works as psql says", async () => {
      await cluster.sql(`create role soft_user login password E'pass\\u00ADword'`);
      assert.ok(await psqlAccepts("soft_user", "pass\u00ADword"));
      assert.equal(await login("soft_user", "pass\u00ADword"), "soft_user");
      assert.equal(await login("soft_user", "password"), "soft_user", "the same after SASLprep");
    });

    await t.step("a character SASLprep leaves unassigned is sent raw, as libpq does", async () => {
      await cluster.sql(`create role emoji_user login password E'caf\\u00E9\\U0001F600'`);
      assert.ok(await psqlAccepts("emoji_user", "caf\u00E9\u{1F600}"));
      assert.equal(await login("emoji_user", "caf\u00E9\u{1F600}"), "emoji_user");
    });

    await t.step("a prohibited character next to a mapped one is refused plainly", async () => {
      await cluster.sql(`create role odd_user login password E'pass\\u00AD\\u0007word'`);
      assert.ok(await psqlAccepts("odd_user", "pass\u00AD\u0007word"));
      const message = await failureOf(
        targetFor(cluster, { user: "odd_user", password: "pass\u00AD\u0007word" }),
      );
      assert.match(message, /SASLprep prohibits .* change the password/);
      assert.ok(!message.includes("\u0007"));
    });

    await t.step("md5 passwords are sent as typed", async () => {
      await cluster.sql(`
        set password_encryption = 'md5';
        create role md5_user login password E'p\\u00E4ss\\u00ADw\\u00F6rd';`);
      assert.equal(await login("md5_user", "p\u00E4ss\u00ADw\u00F6rd"), "md5_user");
    });
  } finally {
    await cluster.stop();
  }
});

Deno.test("values are exact: bigint, numeric, arrays, NaN, timestamps, repeated names", async () => {
  const cluster = await startCluster({ ssl: "off" });
  try {
    const { session } = await openSession(targetFor(cluster, { host: cluster.dir }));
    try {
      const { rows, columns } = await session.query(
        `select $1::int + 1 as n, $2::text as t, 9007199254740993::bigint as huge,
                12345678901234::bigint as big, 1.50::numeric as num,
                array[1.50, null, 2.500]::numeric[] as nums, 'NaN'::numeric as nan,
                'Infinity'::float8 as inf, '-Infinity'::numeric as ninf, 0.1::float8 as f,
                '{"a": 12345678901234567890, "b": 1.0}'::jsonb as j,
                array[array[1, 2], array[3, 4]] as grid, array['x', 'y z', null] as words,
                timestamptz '2026-11-25 08:00:01.5+00' as ts,
                (timestamptz '2026-11-25 08:00:01.5+00')::text as ts_text,
                1 as a, 2 as a, true as b`,
        [41, "it's; drop table x"],
      );
      assert.deepEqual(columns.map((c) => c.key).slice(-3), ["a", "a_2", "b"]);
      assert.deepEqual(columns.map((c) => c.name).slice(-3), ["a", "a", "b"]);
      const row = rows[0];
      assert.equal(row.n, 42);
      assert.equal(row.t, "it's; drop table x");
      assert.equal(row.ts, row.ts_text, "timestamps are the server's text");
      const { renderRows, resultRows } = await import("../../lib/output/render.ts");
      const json = renderRows(resultRows({ columns, rows, command: "" }), "json");
      for (
        const expected of [
          `"huge": 9007199254740993`,
          `"big": 12345678901234`,
          `"num": 1.50`,
          `"nan": "NaN"`,
          `"inf": "Infinity"`,
          `"ninf": "-Infinity"`,
          `"f": 0.1`,
          `"b": true`,
        ]
      ) assert.ok(json.includes(expected), `${expected} in ${json}`);
      const parsedBack = JSON.parse(json)[0];
      assert.equal(parsedBack.a, 1);
      assert.equal(parsedBack.a_2, 2);
      assert.ok(/"b": 1\.0\b/.test(json), "jsonb keeps 1.0");
      assert.deepEqual(parsedBack.nums, [1.5, null, 2.5]);
      assert.ok(
        /"nums": \[\s*1\.50,\s*null,\s*2\.500\s*\]/.test(json),
        "array elements keep scale",
      );
      assert.ok(/"a": 12345678901234567890/.test(json), "jsonb numbers keep their digits");
      assert.deepEqual(parsedBack.grid, [[1, 2], [3, 4]]);
      assert.deepEqual(parsedBack.words, ["x", "y z", null]);
      const table = renderRows(resultRows({ columns, rows, command: "" }), "table");
      const header = table.split("\n")[0];
      assert.match(header, /\| a +\| a +\| b/, "both columns named a are shown");
      assert.match(table, /1\.50, NULL, 2\.500/);
      assert.ok((row.huge as number) > 9e15, "exact numbers still compare as numbers");
      const hostile = await session.query(`select 1 as "__proto__", 2 as "constructor"`);
      assert.equal(Object.getPrototypeOf(hostile.rows[0]), Object.prototype);
      assert.equal(
        renderRows(resultRows(hostile), "json").replace(/\s+/g, ""),
        `[{"__proto__":1,"constructor":2}]`,
      );
      assert.equal(String(row.huge), "9007199254740993");
    } finally {
      await session.close();
    }
  } finally {
    await cluster.stop();
  }
});

Deno.test("bound parameters, multi-statement refusal, errors, streaming", async () => {
  const cluster = await startCluster({ ssl: "off" });
  try {
    const { session } = await openSession(targetFor(cluster));
    try {
      await assert.rejects(session.query("select 1; select 2"), /multiple commands/);
      await assert.rejects(session.query("select 1/0"), (error) => {
        assert.ok(error instanceof PgServerError);
        assert.equal(error.code, "22012");
        return true;
      });
      const after = await session.query("select 'still usable' as s");
      assert.equal(after.rows[0].s, "still usable");
      assert.equal(after.command, "SELECT 1");
      const results = await session.simpleQuery(
        "create temp table t (x int); insert into t values (1), (2); select x from t order by x",
      );
      assert.deepEqual(results.map((r) => r.command), ["CREATE TABLE", "INSERT 0 2", "SELECT 2"]);
      assert.deepEqual(results[2].rows, [{ x: 1 }, { x: 2 }]);
      let streamed = 0;
      const sizes: number[] = [];
      const batches = session.batches("select g from generate_series(1, 5000) g", [], {
        batchRows: 700,
      });
      for await (const batch of batches) {
        sizes.push(batch.rows.length);
        for (const row of batch.rows) streamed += row.g as number;
      }
      assert.equal(streamed, 5000 * 5001 / 2);
      assert.deepEqual(sizes, [700, 700, 700, 700, 700, 700, 700, 100], "700 rows at a time");
      assert.equal((await session.query("select 1 as one")).rows[0].one, 1);
    } finally {
      await session.close();
    }
  } finally {
    await cluster.stop();
  }
});

Deno.test("a statement that ends badly: terminated, server gone, Ctrl-C", async (t) => {
  const cluster = await startCluster({ ssl: "off" });
  const env = { DB_URL: cluster.url() };
  try {
    await t.step("a terminated session reports the server's message and 57P01", async () => {
      const target = targetFor(cluster, { parameters: { application_name: "doomed" } });
      const { session } = await connect(target);
      const running = session.query("select pg_sleep(30)").catch((error) => error);
      await cluster.sql(
        `select pg_terminate_backend(${await activeSession(cluster, "doomed", "pg_sleep")})`,
      );
      const error = await running;
      await session.close();
      assert.ok(error instanceof PgServerError, String(error));
      assert.equal(error.code, "57P01");
      const explained = explainQueryError(error, target) as SkillError;
      assert.match(
        explained.message,
        /The server ended this session: terminating connection due to administrator command \(SQLSTATE 57P01\)/,
      );
    });

    await t.step("the same through a script: one line, exit 1", async () => {
      const app = "doomed_script";
      const run = runSkillScript("explain_analyze.ts", ["select pg_sleep(30)"], {
        env: { ...env, DB_APPLICATION_NAME: app },
      });
      await cluster.sql(
        `select pg_terminate_backend(${await activeSession(cluster, app, "pg_sleep")})`,
      );
      const result = await run;
      assert.equal(result.code, 1);
      assert.ok(isOneLineError(result.stderr), result.stderr);
      assert.match(result.stderr, /administrator command \(SQLSTATE 57P01\)/);
    });

    await t.step("Ctrl-C cancels the statement on the server, then exits 130", async () => {
      const app = "interrupted_script";
      const { spawnSkillScript } = await import("../support/run.ts");
      const running = await spawnSkillScript("explain_analyze.ts", ["select pg_sleep(60)"], {
        env: { ...env, DB_APPLICATION_NAME: app },
      });
      const pid = await activeSession(cluster, app, "pg_sleep");
      running.child.kill("SIGINT");
      const result = await running.result;
      assert.equal(result.code, 130, result.stderr);
      assert.ok(isOneLineError(result.stderr), result.stderr);
      assert.match(result.stderr, /Interrupted; the statement was cancelled on the server/);
      const log = await cluster.log();
      assert.match(
        log,
        new RegExp(`\\[${pid}\\] ${app} ERROR:  canceling statement due to user request`),
      );
      const still = await cluster.sql(
        `select count(*)::int as n from pg_stat_activity where pid = ${pid} and state = 'active'`,
      );
      assert.equal(still[0].n, 0, "nothing keeps running on the server");
    });

    await t.step("a server that dies mid-statement: one clear line, exit 1", async () => {
      const app = "orphaned_script";
      const run = runSkillScript("explain_analyze.ts", ["select pg_sleep(30)"], {
        env: { ...env, DB_APPLICATION_NAME: app },
      });
      Deno.kill(await activeSession(cluster, app, "pg_sleep"), "SIGKILL");
      const result = await run;
      assert.equal(result.code, 1);
      assert.ok(isOneLineError(result.stderr), result.stderr);
      assert.match(
        result.stderr,
        /connection to 127\.0\.0\.1:\d+ was lost while the statement ran/,
      );
    });
  } finally {
    await cluster.stop();
  }
});

Deno.test("target_session_attrs is checked against the server", async () => {
  const cluster = await startCluster({
    ssl: "off",
    settings: { default_transaction_read_only: "on" },
  });
  try {
    for (const attrs of ["read-only", "primary", "any", "prefer-standby"] as const) {
      const { session } = await openSession(targetFor(cluster, { targetSessionAttrs: attrs }));
      await session.close();
    }
    const readWrite = await failureOf(targetFor(cluster, { targetSessionAttrs: "read-write" }));
    assert.match(readWrite, /is read-only, but target_session_attrs is "read-write"/);
    const standby = await failureOf(targetFor(cluster, { targetSessionAttrs: "standby" }));
    assert.match(
      standby,
      /is a primary \(not in recovery\), but target_session_attrs is "standby"/,
    );
  } finally {
    await cluster.stop();
  }
});

Deno.test("sslnegotiation=direct: TLS from the first byte, PostgreSQL 17 and later", async () => {
  const modern = await startCluster({ ssl: "only", embeddedMajor: 18 });
  const older = await startCluster({ ssl: "only", embeddedMajor: 13 });
  try {
    const direct = { sslmode: "require" as SslMode, sslNegotiation: "direct" as const };
    assert.equal(await sessionSsl(targetFor(modern, direct)), true);
    // A server before 17 reads the TLS hello as a startup packet and gives up:
    // proof that the handshake really started at once.
    const message = await failureOf(targetFor(older, direct));
    assert.match(message, /Cannot connect|failed/);
    assert.equal(await sessionSsl(targetFor(older, { sslmode: "require" })), true);
  } finally {
    await Promise.all([modern.stop(), older.stop()]);
  }
});

Deno.test("a server that demands SSL but cannot do SSL gets one clear message", async () => {
  const cluster = await startCluster({ sslDemandedButOff: true });
  try {
    const message = await failureOf(targetFor(cluster, { sslFallback: true }));
    assert.match(
      message,
      /refused the connection without SSL \(.*SQLSTATE 28000\) and does not accept SSL connections/,
    );
  } finally {
    await cluster.stop();
  }
});

/**
 * The fallback decides by SQLSTATE, not by message text: on a server whose
 * messages are German it still works. Needs the Debian server (it ships the
 * message catalogs) and glibc's localedef with the German locale source.
 */
async function canSpeakGerman(): Promise<boolean> {
  const bin = await serverBinDir();
  const major = bin.match(/^\/usr\/lib\/postgresql\/(\d+)\/bin$/)?.[1];
  return major !== undefined &&
    await pathExists(`/usr/share/locale/de/LC_MESSAGES/postgres-${major}.mo`) &&
    await pathExists("/usr/share/i18n/locales/de_DE") &&
    findToolDir("localedef") !== undefined;
}
const germanCatalog = await canSpeakGerman();
Deno.test({
  name: "the SSL fallback works on a server that speaks German",
  ignore: !germanCatalog,
  async fn() {
    const locales = await Deno.makeTempDir({ prefix: "pgskill-locale-" });
    await Deno.chmod(locales, 0o755);
    const made = await new Deno.Command("localedef", {
      args: ["-i", "de_DE", "-f", "UTF-8", join(locales, "de_DE.UTF-8")],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.ok(made.success || made.code === 1, "localedef made the German locale");
    const cluster = await startCluster({
      ssl: "only",
      settings: { lc_messages: "'de_DE.UTF-8'" },
      serverEnv: { LOCPATH: locales },
    });
    try {
      const refusal = await failureOf(targetFor(cluster, { sslmode: "disable" }));
      assert.match(refusal, /kein pg_hba\.conf-Eintrag/, "the server really speaks German");
      const { session, sslFallbackUsed } = await openSession(
        targetFor(cluster, { sslmode: "disable", sslFallback: true }),
      );
      await session.close();
      assert.equal(sslFallbackUsed, true);
    } finally {
      await cluster.stop();
      await Deno.remove(locales, { recursive: true });
    }
  },
});
