/**
 * The connection core against real servers: every libpq sslmode on a plain
 * and an SSL-only server, the SSL fallback, password methods, and every way a
 * connection can fail.
 */
import assert from "node:assert/strict";
import { connect, openSession } from "../lib/connect.ts";
import type { ConnectionTarget, SslMode } from "../lib/resolve.ts";
import { SkillError } from "../lib/cli.ts";
import { type Cluster, freePort, startCluster } from "./support/cluster.ts";

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

Deno.test("sslmodes, fallback and failures on a plain and an SSL-only server", async (t) => {
  const plain = await startCluster({ ssl: "off" });
  const sslOnly = await startCluster({ ssl: "only" });
  const sslOptional = await startCluster({ ssl: "on" });
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
        assert.match(message, /does not accept SSL/, sslmode);
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

    await t.step("verify-ca and verify-full need the right root certificate", async () => {
      const message = await failureOf(
        targetFor(sslOnly, {
          host: "127.0.0.1",
          sslmode: "verify-ca",
          sslrootcert: "/nonexistent",
        }),
      );
      assert.match(message, /Root certificate file "\/nonexistent" does not exist/);
      const wrongCa = await startCluster({ ssl: "on" });
      try {
        const mismatch = await failureOf(
          targetFor(sslOnly, { sslmode: "verify-full", sslrootcert: wrongCa.certFile }),
        );
        assert.match(mismatch, /SSL with 127\.0\.0\.1:\d+ failed/);
      } finally {
        await wrongCa.stop();
      }
    });

    await t.step("SSL-only server: disable without fallback fails and names the fix", async () => {
      const message = await failureOf(targetFor(sslOnly, { sslmode: "disable" }));
      assert.match(message, /demands SSL .* sslmode=disable; use sslmode=require/);
    });

    await t.step("SSL-only server: the fallback retries once with SSL", async () => {
      const { session, ssl, sslFallbackUsed } = await connect(
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
      const started = performance.now();
      const message = await failureOf(targetFor(plain, { port: freePort() }));
      assert.match(message, /Connection refused by 127\.0\.0\.1:\d+/);
      assert.ok(performance.now() - started < 3000);
    });

    await t.step("a server that never answers fails after the connect timeout", async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const accepted: Deno.Conn[] = [];
      (async () => {
        for await (const conn of listener) accepted.push(conn);
      })().catch(() => {});
      try {
        const port = (listener.addr as Deno.NetAddr).port;
        const started = performance.now();
        const message = await failureOf(
          targetFor(plain, { port, connectTimeoutSeconds: 1, sslmode: "prefer" }),
        );
        const elapsed = performance.now() - started;
        assert.match(message, /No answer from 127\.0\.0\.1:\d+ within 1 s/);
        assert.ok(elapsed >= 900 && elapsed < 4000, `took ${elapsed} ms`);
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

    await t.step("bound parameters, types, multi-statement refusal and errors", async () => {
      const { session } = await openSession(targetFor(plain));
      try {
        const { rows } = await session.query(
          `select $1::int + 1 as n, $2::text as t, $3::bool as b, null::int as z,
                  12345678901234::bigint as big, 9007199254740993::bigint as huge,
                  1.50::numeric as num, '{"a":1}'::jsonb as j, array['x','y z']::text[] as arr`,
          [41, "it's; drop table x", true],
        );
        assert.deepEqual(rows[0], {
          n: 42,
          t: "it's; drop table x",
          b: true,
          z: null,
          big: 12345678901234,
          huge: "9007199254740993",
          num: 1.5,
          j: { a: 1 },
          arr: ["x", "y z"],
        });
        await assert.rejects(session.query("select 1; select 2"), /multiple commands/);
        await assert.rejects(session.query("select 1/0"), /division by zero/);
        const after = await session.query("select 'still usable' as s");
        assert.equal(after.rows[0].s, "still usable");
        let streamed = 0;
        for await (const row of session.stream("select g from generate_series(1, 5000) g")) {
          streamed += row.g as number;
        }
        assert.equal(streamed, 5000 * 5001 / 2);
      } finally {
        await session.close();
      }
    });
  } finally {
    await Promise.all([plain.stop(), sslOnly.stop(), sslOptional.stop()]);
  }
});

Deno.test("a server that demands SSL but cannot do SSL gets one clear message", async () => {
  const cluster = await startCluster({ sslDemandedButOff: true });
  try {
    const message = await failureOf(targetFor(cluster, { sslFallback: true }));
    assert.match(message, /demands SSL .* does not accept SSL connections \(ssl = off\)/);
  } finally {
    await cluster.stop();
  }
});
