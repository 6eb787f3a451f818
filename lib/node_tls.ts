/**
 * SSL without certificate verification (libpq's `require`, `prefer`, `allow`),
 * which Deno's own TLS cannot do: a Node socket upgraded with `node:tls`,
 * adapted to the {@linkcode ByteStream} the protocol client reads. Loaded only
 * by the connections that need it.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import type { Buffer } from "node:buffer";
import type { ByteStream } from "./pg_protocol.ts";

/** A Node socket read with backpressure: paused while a megabyte waits unread. */
class NodeSocketStream implements ByteStream {
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error?: Error;
  #wake?: () => void;

  constructor(private socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.#chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#queued += chunk.byteLength;
      if (this.#queued > 1 << 20) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#error = error;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const chunk = this.#chunks[0];
    const n = Math.min(chunk.length, buffer.length);
    buffer.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#queued -= n;
    if (this.#queued < 1 << 18 && this.socket.isPaused()) this.socket.resume();
    return n;
  }

  write(data: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      this.socket.write(
        data,
        (error?: Error | null) => error ? reject(error) : resolve(data.length),
      );
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Options for {@linkcode connectUnverifiedTls}. */
export interface UnverifiedTlsOptions {
  host: string;
  port: number;
  /** The SSLRequest packet to send first. */
  sslRequest: Uint8Array;
  /** When the server answers "no SSL": go on without SSL (prefer) instead of giving up. */
  plainIfRefused: boolean;
  /** Registers each stream so that the caller's timeout can close it. */
  track: (stream: ByteStream) => ByteStream;
}

/**
 * Connects, sends the SSLRequest and, when the server agrees, starts TLS
 * without verifying its certificate. Returns undefined when the server
 * refuses SSL and `plainIfRefused` is false.
 */
export async function connectUnverifiedTls(
  options: UnverifiedTlsOptions,
): Promise<{ stream: ByteStream; ssl: boolean } | undefined> {
  const socket = net.connect({ host: options.host, port: options.port });
  socket.setNoDelay(true);
  const closer: ByteStream = {
    read: () => Promise.resolve(null),
    write: () => Promise.resolve(0),
    close: () => socket.destroy(),
  };
  options.track(closer);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  const answer = await new Promise<string>((resolve, reject) => {
    socket.once("data", (chunk: Buffer) => {
      socket.pause();
      if (chunk.byteLength !== 1) reject(new Error("unexpected answer to the SSL request"));
      else resolve(String.fromCharCode(chunk[0]));
    });
    socket.once("error", reject);
    socket.once("close", () => reject(new Error("the server closed the connection")));
    socket.write(options.sslRequest);
  });
  socket.removeAllListeners();
  if (answer !== "S") {
    if (answer !== "N" || !options.plainIfRefused) {
      socket.destroy();
      return undefined;
    }
    const stream = new NodeSocketStream(socket);
    socket.resume();
    return { stream: options.track(stream), ssl: false };
  }
  const secure = tls.connect({
    socket,
    rejectUnauthorized: false,
    servername: net.isIP(options.host) ? undefined : options.host,
  });
  options.track({ ...closer, close: () => secure.destroy() });
  await new Promise<void>((resolve, reject) => {
    secure.once("secureConnect", () => resolve());
    secure.once("error", reject);
  });
  secure.removeAllListeners("error");
  return { stream: options.track(new NodeSocketStream(secure)), ssl: true };
}
