/**
 * Authentication while connecting: what the server asked for, watched on the
 * protocol, and the password given for it, as libpq gives it: raw for
 * cleartext and MD5, prepared with SASLprep for SCRAM, and none at all when
 * `channel_binding=require` cannot be met (SCRAM-SHA-256-PLUS over SSL).
 * The SASLprep tables are loaded only for a password that is not ASCII.
 *
 * @module
 */
import { SkillError } from "../core/errors.ts";
import type { PgConnection } from "./session.ts";
import type { ConnectionTarget } from "./target.ts";
import { ChannelBindingRefused, PasswordRequired } from "./connect_errors.ts";

/** What the authentication exchange looked like, seen from the side. */
export interface AuthSeen {
  /** The kind of password the server asked for. */
  method?: "password" | "md5" | "sasl";
  /** The SASL mechanisms the server offered. */
  mechanisms: string[];
  /** The SASL mechanism the exchange used. */
  mechanism?: string;
  /** True once the connection runs over SSL. */
  tls: boolean;
}

/** The parts of a pg.Client (untyped in @types/pg) that authentication is watched on. */
export interface AuthenticatingClient {
  /** The protocol connection, whose messages say what the server asks for. */
  connection: PgConnection;
  /** The SCRAM exchange, once the client has chosen a mechanism. */
  saslSession?: { mechanism: string };
}

/** Records on `auth` what the server asks of `client` as it authenticates. */
export function watchAuthentication(client: AuthenticatingClient, auth: AuthSeen): void {
  const connection = client.connection;
  connection.on("sslconnect", () => auth.tls = true);
  connection.on("authenticationCleartextPassword", () => auth.method = "password");
  connection.on("authenticationMD5Password", () => auth.method = "md5");
  connection.on("authenticationSASL", (msg: { mechanisms: string[] }) => {
    auth.method = "sasl";
    auth.mechanisms = msg.mechanisms;
  });
  connection.on("authenticationSASLContinue", () => {
    auth.mechanism = client.saslSession?.mechanism;
  });
}

/**
 * The password for the exchange the server asked for: raw for cleartext and
 * MD5, SASLprep-ed for SCRAM (libpq's rule). With channel_binding=require no
 * password leaves unless SCRAM-SHA-256-PLUS over SSL is on offer.
 */
export async function passwordFor(target: ConnectionTarget, auth: AuthSeen): Promise<string> {
  if (target.channelBinding === "require") {
    if (!auth.tls) {
      throw new ChannelBindingRefused("channel binding needs SSL and this connection has none");
    }
    if (auth.method !== "sasl" || !auth.mechanisms.includes("SCRAM-SHA-256-PLUS")) {
      throw new ChannelBindingRefused(
        `the server asked for ${
          auth.method === "sasl"
            ? `SASL (${auth.mechanisms.join(", ")})`
            : `a ${auth.method} password`
        }, which has no channel binding`,
      );
    }
  }
  if (target.password === undefined) throw new PasswordRequired();
  return auth.method === "sasl" ? await scramPassword(target.password) : target.password;
}

/**
 * The password as SCRAM must see it, as libpq computes it: ASCII unchanged;
 * otherwise SASLprep (RFC 4013), or the raw text when SASLprep refuses it
 * (prohibited or unassigned characters). npm:pg applies the mapping half of
 * SASLprep itself, which leaves prepared text unchanged; raw text it would
 * change cannot be sent as libpq sends it, and is refused plainly.
 */
async function scramPassword(password: string): Promise<string> {
  if (isAscii(password)) return password;
  const { default: saslprep } = await import("@mongodb-js/saslprep");
  try {
    return saslprep(password);
  } catch {
    const pgWouldSend = password
      .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, " ")
      .replace(/[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, "")
      .normalize("NFKC");
    if (pgWouldSend === password) return password;
    throw new SkillError(
      "The password contains characters that SASLprep prohibits together with characters it " +
        "maps; libpq then uses it unprepared, which npm:pg cannot; change the password",
    );
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
