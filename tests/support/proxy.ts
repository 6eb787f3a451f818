/**
 * A TCP proxy in front of a test server that reads the PostgreSQL protocol
 * going by and can fail on cue, as a real network or a wedged server would:
 * lose the connection as COMMIT is sent or as its answer comes back, or go
 * silent after authentication. Plain TCP only (connect with sslmode=disable).
 */
import type { Cluster } from "./cluster.ts";

/** What the proxy does to the next connections. */
export type ProxyFault =
  /** Pass everything on. */
  | "none"
  /** Close both sides as the client sends COMMIT, before the server sees it. */
  | "lose-commit"
  /** Pass COMMIT on, then close both sides as the server's answer arrives, unsent. */
  | "lose-commit-answer"
  /** After the server's first ReadyForQuery, pass nothing more either way; keep both open. */
  | "silent-after-auth"
  /** The same after the second: the client's first statement is answered, then silence. */
  | "silent-after-first-statement"
  /**
   * Pass a CREATE INDEX CONCURRENTLY on (extended protocol), then close both
   * sides as its CommandComplete arrives: the build finished, the answer lost.
   */
  | "lose-index-build-answer";

/** A running proxy. */
export interface Proxy {
  /** The port it listens on, at 127.0.0.1. */
  port: number;
  /** A connection URL through the proxy (sslmode=disable). */
  url(options?: { user?: string; password?: string; database?: string }): string;
  /** Sets the fault for connections made from now on. */
  fault(fault: ProxyFault): void;
  /** Refuses (closes at once) every connection made from now on. */
  refuseNew(refuse: boolean): void;
  /**
   * Refuses every connection made after the fault next strikes, from that
   * very moment: a client that reconnects at once cannot slip in first.
   */
  refuseAfterStrike(refuse: boolean): void;
  /** How many times the fault struck. */
  struck(): number;
  /** How many connections were refused. */
  refused(): number;
  /** Stops listening and closes every connection. */
  stop(): Promise<void>;
}

/** Starts a proxy to `cluster`'s TCP port. */
export function startProxy(cluster: Cluster): Proxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let fault: ProxyFault = "none";
  let refuse = false;
  let struck = 0;
  let refused = 0;
  let refuseAfter = false;
  const strike = () => {
    struck++;
    if (refuseAfter) refuse = true;
  };
  const open = new Set<Deno.Conn>();
  const closeAll = (...conns: Deno.Conn[]) => {
    for (const conn of conns) {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };

  const serve = async (client: Deno.Conn) => {
    if (refuse) {
      refused++;
      return closeAll(client);
    }
    const server = await Deno.connect({ hostname: cluster.host, port: cluster.port });
    open.add(client);
    open.add(server);
    const mode = fault;
    let silent = false;
    let commitSent = false;
    let ready = 0;
    const toServer = messages(client, true);
    const toClient = messages(server, false);
    const clientSide = (async () => {
      for await (const message of toServer) {
        if (silent) continue;
        if (mode === "lose-index-build-answer" && isConcurrentBuild(message)) commitSent = true;
        if (isCommit(message)) {
          if (mode === "lose-commit") {
            strike();
            return closeAll(client, server);
          }
          if (mode === "lose-commit-answer") commitSent = true;
        }
        await writeAll(server, message.bytes);
      }
    })();
    const serverSide = (async () => {
      for await (const message of toClient) {
        if (silent) continue;
        if (commitSent && (mode !== "lose-index-build-answer" || message.type === 0x43)) {
          strike();
          return closeAll(client, server);
        }
        await writeAll(client, message.bytes);
        if (message.type === 0x5a) ready++;
        const after = mode === "silent-after-auth"
          ? 1
          : mode === "silent-after-first-statement"
          ? 2
          : 0;
        if (after > 0 && ready === after) {
          strike();
          silent = true;
        }
      }
    })();
    // Either side closing closes the other, as a TCP connection end would reach the peer.
    await Promise.race([clientSide, serverSide]).catch(() => {});
    if (!silent) closeAll(client, server);
    await Promise.allSettled([clientSide, serverSide]);
  };

  (async () => {
    for await (const conn of listener) serve(conn).catch(() => closeAll(conn));
  })().catch(() => {});

  return {
    port,
    url: (options = {}) => {
      const user = encodeURIComponent(options.user ?? cluster.superuser);
      const password = encodeURIComponent(options.password ?? cluster.password);
      const database = encodeURIComponent(options.database ?? "postgres");
      return `postgresql://${user}:${password}@127.0.0.1:${port}/${database}?sslmode=disable`;
    },
    fault: (next) => fault = next,
    refuseNew: (next) => refuse = next,
    refuseAfterStrike: (next) => refuseAfter = next,
    struck: () => struck,
    refused: () => refused,
    stop: () => {
      listener.close();
      closeAll(...open);
      return Promise.resolve();
    },
  };
}

/** One protocol message: its type byte (0 for the untyped startup message) and its bytes. */
interface Message {
  type: number;
  bytes: Uint8Array;
}

/**
 * The messages on one side of a connection, whole. The client's first
 * message (startup, or an SSL/GSS request answered by one byte) has no type.
 */
async function* messages(conn: Deno.Conn, fromClient: boolean): AsyncGenerator<Message> {
  let buffer = new Uint8Array(0);
  let untyped = fromClient;
  const append = (chunk: Uint8Array) => {
    const next = new Uint8Array(buffer.length + chunk.length);
    next.set(buffer);
    next.set(chunk, buffer.length);
    buffer = next;
  };
  try {
    for await (const chunk of conn.readable) {
      append(chunk);
      while (true) {
        const header = untyped ? 4 : 5;
        if (buffer.length < header) break;
        const view = new DataView(buffer.buffer, buffer.byteOffset);
        const length = view.getInt32(untyped ? 0 : 1) + (untyped ? 0 : 1);
        if (buffer.length < length) break;
        yield { type: untyped ? 0 : buffer[0], bytes: buffer.slice(0, length) };
        buffer = buffer.slice(length);
        untyped = false;
      }
    }
  } catch {
    // closed
  }
}

const decoder = new TextDecoder();

/** A simple-protocol Query whose text is COMMIT. */
function isCommit(message: Message): boolean {
  if (message.type !== 0x51) return false; // 'Q'
  return /^\s*commit\s*;?\s*(\/\*[^*]*\*\/\s*)?$/i.test(
    decoder.decode(message.bytes.subarray(5, -1)),
  );
}

/** A Parse message ('P') carrying CREATE INDEX CONCURRENTLY. */
function isConcurrentBuild(message: Message): boolean {
  if (message.type !== 0x50) return false;
  return /create\s+(unique\s+)?index\s+concurrently/i.test(decoder.decode(message.bytes));
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}
