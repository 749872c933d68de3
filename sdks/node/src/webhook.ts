/**
 * Verification of merchant callbacks signed per Standard Webhooks v1 (symmetric):
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">`,
 * keyed with the base64-decoded part of the `whsec_…` secret.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import {
  WebhookHeaderError,
  WebhookPayloadError,
  WebhookRawBodyError,
  WebhookSignatureError,
  WebhookTimestampError,
} from "./errors.js";
import type { WebhookEvent } from "./types.js";

const HMAC_SHA256_BYTES = 32;

/** Default tolerance, seconds, in both directions. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Headers as any common server hands them over: a Fetch `Headers`, Node's `IncomingHttpHeaders`
 * (values may be arrays), or a plain object with any capitalization.
 */
export type WebhookHeaders =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

/** A raw request body: exactly the bytes received. */
export type RawBody = string | Uint8Array | ArrayBuffer;

export interface VerifyOptions {
  /** Accepted clock difference in seconds, past and future (default 300). */
  tolerance?: number;
  /** "Now" for the timestamp check (a Date, or seconds since the epoch). Tests only. */
  now?: Date | number;
}

export interface WebhookOptions {
  /** Default tolerance in seconds for {@link Webhook.verify} (default 300). */
  tolerance?: number;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** Strict base64 decode (padding optional); null when it is not base64. */
function decodeBase64(s: string): Buffer | null {
  if (!BASE64_RE.test(s)) return null;
  return Buffer.from(s, "base64");
}

function parseSecret(secret: string): Buffer {
  if (typeof secret !== "string") {
    throw new TypeError("webhook secret must be a string like `whsec_<base64>`");
  }
  const b64 = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  const key = decodeBase64(b64);
  if (!key || key.length === 0) {
    throw new TypeError(
      "webhook secret must be `whsec_` followed by base64 (check for whitespace or a truncated value)",
    );
  }
  return key;
}

function toSeconds(now: Date | number | undefined): number {
  if (now === undefined) return Math.floor(Date.now() / 1000);
  if (now instanceof Date) return Math.floor(now.getTime() / 1000);
  return Math.floor(now);
}

function toBytes(payload: unknown): Buffer {
  if (typeof payload === "string") return Buffer.from(payload, "utf8");
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload instanceof ArrayBuffer) return Buffer.from(payload);
  const what =
    payload === null || payload === undefined
      ? String(payload)
      : Array.isArray(payload)
        ? "an array"
        : `a ${typeof payload}`;
  throw new WebhookRawBodyError(
    `webhook payload must be the raw request body (string or Buffer), got ${what}. ` +
      "The signature covers the exact bytes sent, so a body parsed by a JSON middleware never " +
      "verifies: in Express use `express.raw({ type: 'application/json' })` on the callback route " +
      "(or `express.json({ verify: (req, _res, buf) => { req.rawBody = buf } })`), in Fastify " +
      "add a content-type parser that keeps the Buffer, in Next.js/fetch handlers use `await request.text()`.",
  );
}

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (!headers || typeof headers !== "object") return undefined;
  let v: unknown;
  const maybeGet = (headers as { get?: unknown }).get;
  if (typeof maybeGet === "function") {
    v = (maybeGet as (n: string) => unknown).call(headers, name);
  } else {
    const rec = headers as Record<string, unknown>;
    v = rec[name];
    if (v === undefined) {
      for (const key of Object.keys(rec)) {
        if (key.toLowerCase() === name) {
          v = rec[key];
          break;
        }
      }
    }
  }
  if (Array.isArray(v)) v = v.filter((x) => typeof x === "string").join(" ");
  return typeof v === "string" ? v : undefined;
}

/**
 * Verifies and signs merchant callbacks.
 *
 * ```ts
 * const wh = new Webhook(process.env.ORCH_WEBHOOK_SECRET!);          // or [newSecret, oldSecret]
 * const event = wh.verify(rawBody, req.headers);                     // throws WebhookVerificationError
 * ```
 */
export class Webhook {
  readonly #keys: Buffer[];
  readonly #tolerance: number;

  constructor(secret: string | readonly string[], options: WebhookOptions = {}) {
    const list = typeof secret === "string" ? [secret] : Array.isArray(secret) ? [...secret] : null;
    if (!list || list.length === 0) {
      throw new TypeError("Webhook needs a secret (`whsec_…`) or a non-empty list of secrets");
    }
    this.#keys = list.map(parseSecret);
    this.#tolerance = checkTolerance(options.tolerance ?? DEFAULT_TOLERANCE_SECONDS);
  }

  /**
   * Checks the `webhook-id`, `webhook-timestamp` and `webhook-signature` headers against the raw
   * body and returns the parsed event. Throws a subclass of `WebhookVerificationError`:
   * `WebhookRawBodyError` (a parsed object was passed), `WebhookHeaderError` (missing or
   * malformed header), `WebhookTimestampError` (outside the tolerance, `reason` too_old/too_new),
   * `WebhookSignatureError` (no signature matched: wrong secret or altered body),
   * `WebhookPayloadError` (signed, but not a JSON event).
   */
  verify(payload: RawBody, headers: WebhookHeaders, options: VerifyOptions = {}): WebhookEvent {
    const body = toBytes(payload);
    const msgId = headerValue(headers, "webhook-id");
    const timestamp = headerValue(headers, "webhook-timestamp");
    const signature = headerValue(headers, "webhook-signature");
    const missing = [
      msgId === undefined || msgId === "" ? "webhook-id" : null,
      timestamp === undefined || timestamp === "" ? "webhook-timestamp" : null,
      signature === undefined || signature.trim() === "" ? "webhook-signature" : null,
    ].filter((x): x is string => x !== null);
    if (missing.length > 0 || msgId === undefined || timestamp === undefined || signature === undefined) {
      throw new WebhookHeaderError(`missing required header(s): ${missing.join(", ")}`);
    }
    const ts = timestamp.trim();
    if (!/^\d{1,20}$/.test(ts)) {
      throw new WebhookHeaderError("webhook-timestamp must be an integer number of seconds since the epoch");
    }
    const tsSeconds = Number(ts);
    const tolerance = checkTolerance(options.tolerance ?? this.#tolerance);
    const now = toSeconds(options.now);
    const age = now - tsSeconds;
    if (age > tolerance) {
      throw new WebhookTimestampError(
        `webhook-timestamp is too old: ${age} s ago, tolerance ${tolerance} s (a replay, or a clock problem)`,
        "too_old",
        age,
      );
    }
    if (-age > tolerance) {
      throw new WebhookTimestampError(
        `webhook-timestamp is too far in the future: ${-age} s ahead, tolerance ${tolerance} s (check the clock)`,
        "too_new",
        age,
      );
    }

    const candidates: Buffer[] = [];
    let malformed = 0;
    for (const raw of signature.trim().split(/\s+/)) {
      // Node joins repeated headers with ", ": tolerate a trailing comma.
      const entry = raw.replace(/,+$/, "");
      const comma = entry.indexOf(",");
      if (comma <= 0) {
        malformed++;
        continue;
      }
      if (entry.slice(0, comma) !== "v1") continue; // other schemes (e.g. v1a) are not ours
      const decoded = decodeBase64(entry.slice(comma + 1));
      // An HMAC-SHA256 is 32 bytes: anything else cannot be one of ours, so it is malformed
      // (a header problem), as the Python SDK says too, not a signature that failed to match.
      if (!decoded || decoded.length !== HMAC_SHA256_BYTES) {
        malformed++;
        continue;
      }
      candidates.push(decoded);
    }
    if (candidates.length === 0) {
      throw new WebhookHeaderError(
        malformed > 0
          ? "webhook-signature has no well-formed `v1,<base64>` entry"
          : "webhook-signature has no `v1` signature",
      );
    }

    let matched = false;
    for (const key of this.#keys) {
      const expected = hmac(key, msgId, ts, body);
      for (const c of candidates) {
        // Constant time on the decoded bytes; the length of an HMAC-SHA256 is public.
        if (c.length === expected.length && timingSafeEqual(c, expected)) matched = true;
      }
    }
    if (!matched) {
      throw new WebhookSignatureError(
        "no signature matched: the secret is wrong, or the body was changed after signing " +
          "(verify the raw bytes received, before any JSON parsing)",
      );
    }

    let event: unknown;
    try {
      event = JSON.parse(body.toString("utf8"));
    } catch (err) {
      throw new WebhookPayloadError("signature is valid but the body is not JSON", { cause: err });
    }
    if (
      !event ||
      typeof event !== "object" ||
      typeof (event as { id?: unknown }).id !== "string" ||
      typeof (event as { type?: unknown }).type !== "string" ||
      !("data" in event)
    ) {
      throw new WebhookPayloadError("signature is valid but the body is not an event (id, type, data)");
    }
    return event as WebhookEvent;
  }

  /**
   * The `webhook-signature` value for a message: one `v1,<base64>` per secret, space-separated
   * (as the orchestrator sends during a secret rotation). For merchants' tests.
   */
  sign(msgId: string, timestamp: Date | number, payload: string | Uint8Array): string {
    const ts = String(toSeconds(timestamp));
    const body = toBytes(payload);
    return this.#keys.map((k) => `v1,${hmac(k, msgId, ts, body).toString("base64")}`).join(" ");
  }

  /** Complete headers for a test request carrying `payload`. */
  generateTestHeaders(
    payload: string | Uint8Array,
    opts: { msgId?: string; timestamp?: Date | number } = {},
  ): { "webhook-id": string; "webhook-timestamp": string; "webhook-signature": string } {
    const msgId = opts.msgId ?? `evt_test_${Date.now().toString(36)}`;
    const ts = toSeconds(opts.timestamp);
    return {
      "webhook-id": msgId,
      "webhook-timestamp": String(ts),
      "webhook-signature": this.sign(msgId, ts, payload),
    };
  }

  toJSON(): { secrets: string } {
    return { secrets: "[redacted]" };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Webhook { secrets: [${this.#keys.length} redacted], tolerance: ${this.#tolerance} }`;
  }
}

function hmac(key: Buffer, msgId: string, ts: string, body: Buffer): Buffer {
  return createHmac("sha256", key).update(`${msgId}.${ts}.`, "utf8").update(body).digest();
}

function checkTolerance(t: number): number {
  if (typeof t !== "number" || !Number.isFinite(t) || t < 0) {
    throw new TypeError("tolerance must be a non-negative number of seconds");
  }
  return t;
}
