/**
 * The request machinery: headers, idempotency keys, per-attempt timeouts, the retry loop and the
 * mapping of responses to results or errors. Resources call {@link HttpCore.request}.
 */
import { randomUUID } from "node:crypto";
import {
  APIConnectionError,
  APIError,
  APITimeoutError,
  APIUserAbortError,
  causeCodeOf,
} from "./errors.js";
import type { HttpMethod } from "./operations.js";
import { VERSION } from "./version.js";

/** The part of a fetch `Response` the SDK uses; any WHATWG-style fetch satisfies it. */
export interface FetchResponseLike {
  status: number;
  headers: { forEach(callback: (value: string, key: string) => void): void };
  text(): Promise<string>;
}

export interface FetchInitLike {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

/** A `fetch` implementation: the global one, or e.g. undici's `fetch` bound to an `Agent`. */
export type FetchLike = (url: string, init: FetchInitLike) => Promise<FetchResponseLike>;

/** Response metadata attached (non-enumerable) to every result as `lastResponse`. */
export interface ResponseMeta {
  /** HTTP status of the final attempt. */
  readonly status: number;
  /** Response headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** `request-id` / `x-request-id` header, or null when the server sent none. */
  readonly requestId: string | null;
  /** The `Idempotency-Key` sent (POST), the same on every attempt; null for GET/PUT/PATCH/DELETE. */
  readonly idempotencyKey: string | null;
  /** True when the server answered a stored response (`Idempotent-Replayed: true`). */
  readonly replayed: boolean;
  /** HTTP attempts made (1 + retries). */
  readonly attempts: number;
}

/** A result object with its response metadata. `lastResponse` is non-enumerable: it stays out of JSON. */
export type WithResponse<T> = T & { readonly lastResponse: ResponseMeta };

/** What `onRetry` receives before the SDK sleeps and tries again. */
export interface RetryInfo {
  /** The error that caused the retry. */
  error: APIError | APIConnectionError;
  /** 1 for the first retry. */
  retry: number;
  maxRetries: number;
  /** How long the SDK waits before the next attempt. */
  delayMs: number;
  method: string;
  path: string;
  idempotencyKey: string | null;
}

/** Settings shared by the client and (where it makes sense) by each call. */
export interface RetrySettings {
  /** Retries after the first attempt (default 2). 0 disables retries. */
  maxRetries?: number;
  /** Per-attempt timeout, covering connect, headers and body (default 30 000 ms). */
  timeoutMs?: number;
  /** Optional overall budget for one call, all attempts and waits included. */
  deadlineMs?: number;
}

export interface CoreOptions extends RetrySettings {
  apiKey: string;
  baseUrl: string;
  fetch?: FetchLike;
  onRetry?: (info: RetryInfo) => void;
  /** First backoff delay (default 500 ms); doubles each retry. */
  initialRetryDelayMs?: number;
  /** Cap of the exponential backoff (default 8 000 ms). */
  maxRetryDelayMs?: number;
  /**
   * Largest `Retry-After` the SDK will wait for (default 60 000 ms). A longer one is not waited
   * for: the error is thrown at once so the caller can decide.
   */
  maxRetryAfterMs?: number;
  /** Extra headers on every request. */
  defaultHeaders?: Record<string, string>;
}

/** Per-call options. */
export interface RequestOptions extends RetrySettings {
  /**
   * The `Idempotency-Key` of a POST. When omitted, one UUIDv4 is generated for the call and
   * reused on every retry; it is exposed as `result.lastResponse.idempotencyKey` and
   * `error.idempotencyKey`.
   */
  idempotencyKey?: string;
  /** Cancels the call (no retry after it); throws `APIUserAbortError`. */
  signal?: AbortSignal;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
}

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestSpec {
  method: HttpMethod;
  path: string;
  query?: Record<string, QueryValue> | undefined;
  body?: unknown;
  options?: RequestOptions | undefined;
}

export interface RawResult<T> {
  data: T;
  meta: ResponseMeta;
}

export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_INITIAL_RETRY_DELAY_MS = 500;
export const DEFAULT_MAX_RETRY_DELAY_MS = 8_000;
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

const IDEMPOTENCY_KEY_RE = /^[\x20-\x7e]{1,255}$/;

/**
 * Low-level error codes that mean "nothing useful can come of trying again": TLS and certificate
 * problems, and a URL fetch refused to use. Every other failure before a complete response
 * (reset, refused, DNS, socket closed by the peer) is retried: every POST carries an idempotency
 * key, so a retry never creates a second payment.
 */
const NON_RETRYABLE_CODE_PREFIXES = [
  "CERT_",
  "ERR_TLS_",
  "ERR_SSL_",
  "UNABLE_TO_",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT",
  "ERR_INVALID_URL",
  "ERR_INVALID_ARG",
  "ERR_INVALID_HTTP_TOKEN",
  "ERR_INVALID_CHAR",
  "UND_ERR_INVALID_ARG",
];

/** Whether a failure before any (complete) response should be retried. */
export function isRetryableConnectionFailure(err: unknown): boolean {
  const code = causeCodeOf(err);
  if (code && NON_RETRYABLE_CODE_PREFIXES.some((p) => code.startsWith(p))) return false;
  // undici: `TypeError: fetch failed` with the socket error as `cause` (ECONNRESET,
  // ECONNREFUSED, UND_ERR_SOCKET "other side closed", EPIPE, ENOTFOUND, ...). A TypeError with
  // no cause is a request fetch refused to build (bad header value, bad URL): not retried.
  if (err instanceof TypeError && !code && !(err as { cause?: unknown }).cause) {
    return err.message === "fetch failed" || err.message === "terminated";
  }
  return true;
}

/** Whether an HTTP error status is retried: 408, 429, 500, 503, 504, and 409 only for a key in use. */
export function isRetryableStatus(status: number, code: string | null): boolean {
  if (status === 409) return code === "idempotency_key_in_use";
  return status === 408 || status === 429 || status === 500 || status === 503 || status === 504;
}

/**
 * The server's requested wait in ms (`retry-after-ms`, then `retry-after` as seconds or an HTTP
 * date), or undefined when there is none or it is unreadable.
 */
export function parseRetryAfterMs(
  headers: Record<string, string>,
  now: number = Date.now(),
): number | undefined {
  const ms = headers["retry-after-ms"];
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Number(ms);
  const ra = headers["retry-after"];
  if (ra === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Number(ra) * 1000;
  const date = Date.parse(ra);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Delay before retry number `retry` (1-based): the server's `Retry-After` when present and not
 * above `maxRetryAfterMs` (above it: null, do not retry), else exponential backoff
 * `initial * 2^(retry-1)` capped at `max`, with jitter (75–100 % of that).
 */
export function computeRetryDelayMs(
  retry: number,
  headers: Record<string, string>,
  settings: { initialRetryDelayMs: number; maxRetryDelayMs: number; maxRetryAfterMs: number },
  random: () => number = Math.random,
): number | null {
  const retryAfter = parseRetryAfterMs(headers);
  if (retryAfter !== undefined) {
    return retryAfter > settings.maxRetryAfterMs ? null : retryAfter;
  }
  const base = Math.min(
    settings.initialRetryDelayMs * 2 ** Math.max(0, retry - 1),
    settings.maxRetryDelayMs,
  );
  return base * (1 - 0.25 * random());
}

/** `name/version runtime/version os/arch`. */
export function userAgent(): string {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const runtime = proc?.versions?.node ? `node/${proc.version}` : "unknown-runtime";
  const platform = proc ? `${proc.platform}/${proc.arch}` : "unknown";
  return `payment-orchestrator-node/${VERSION} ${runtime} ${platform}`;
}

function headersToRecord(h: FetchResponseLike["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((value, key) => {
    out[key.toLowerCase()] = value;
  });
  return out;
}

function buildQuery(query: Record<string, QueryValue> | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

function anySignal(signals: AbortSignal[]): AbortSignal {
  if (signals.length === 1) return signals[0] as AbortSignal;
  if (typeof AbortSignal.any === "function") return AbortSignal.any(signals);
  const ctrl = new AbortController();
  for (const s of signals) {
    if (s.aborted) {
      ctrl.abort(s.reason);
      break;
    }
    s.addEventListener("abort", () => ctrl.abort(s.reason), { once: true });
  }
  return ctrl.signal;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function debugEnabled(): boolean {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const v = proc?.env?.["ORCHESTRATOR_LOG"];
  return v === "debug" || v === "info";
}

/** Attaches `lastResponse` as a non-enumerable, read-only property. */
export function attachMeta<T extends object>(obj: T, meta: ResponseMeta): WithResponse<T> {
  Object.defineProperty(obj, "lastResponse", {
    value: meta,
    enumerable: false,
    writable: false,
    configurable: true,
  });
  return obj as WithResponse<T>;
}

export class HttpCore {
  readonly baseUrl: string;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly deadlineMs: number | undefined;
  readonly initialRetryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly maxRetryAfterMs: number;
  // Private fields: never shown by util.inspect, never serialized.
  readonly #apiKey: string;
  readonly #fetch: FetchLike;
  readonly #onRetry: ((info: RetryInfo) => void) | undefined;
  readonly #defaultHeaders: Record<string, string>;
  readonly #userAgent: string;

  constructor(opts: CoreOptions) {
    this.#apiKey = opts.apiKey;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    this.maxRetries = nonNegative("maxRetries", opts.maxRetries, DEFAULT_MAX_RETRIES);
    this.timeoutMs = positive("timeoutMs", opts.timeoutMs, DEFAULT_TIMEOUT_MS);
    this.deadlineMs =
      opts.deadlineMs === undefined ? undefined : positive("deadlineMs", opts.deadlineMs, 0);
    this.initialRetryDelayMs = nonNegative(
      "initialRetryDelayMs",
      opts.initialRetryDelayMs,
      DEFAULT_INITIAL_RETRY_DELAY_MS,
    );
    this.maxRetryDelayMs = nonNegative(
      "maxRetryDelayMs",
      opts.maxRetryDelayMs,
      DEFAULT_MAX_RETRY_DELAY_MS,
    );
    this.maxRetryAfterMs = nonNegative(
      "maxRetryAfterMs",
      opts.maxRetryAfterMs,
      DEFAULT_MAX_RETRY_AFTER_MS,
    );
    const f = opts.fetch ?? (globalThis.fetch as unknown as FetchLike | undefined);
    if (typeof f !== "function") {
      throw new TypeError("no global fetch: pass the `fetch` option (Node 20+ has one built in)");
    }
    this.#fetch = f;
    this.#onRetry = opts.onRetry;
    this.#defaultHeaders = { ...(opts.defaultHeaders ?? {}) };
    this.#userAgent = userAgent();
  }

  /** Runs one logical call: one idempotency key, up to `maxRetries` retries. */
  async request<T>(spec: RequestSpec): Promise<RawResult<T>> {
    const options = spec.options ?? {};
    const method = spec.method;
    const pathWithQuery = spec.path + buildQuery(spec.query);
    const url = this.baseUrl + pathWithQuery;

    let idempotencyKey: string | null = null;
    if (method === "POST") {
      idempotencyKey = options.idempotencyKey ?? randomUUID();
      if (!IDEMPOTENCY_KEY_RE.test(idempotencyKey)) {
        throw new TypeError("idempotencyKey must be 1-255 printable ASCII characters");
      }
    } else if (options.idempotencyKey !== undefined) {
      throw new TypeError(`idempotencyKey applies to POST requests only (this is ${method})`);
    }
    const maxRetries = nonNegative("maxRetries", options.maxRetries, this.maxRetries);
    const timeoutMs = positive("timeoutMs", options.timeoutMs, this.timeoutMs);
    const deadlineMs =
      options.deadlineMs === undefined
        ? this.deadlineMs
        : positive("deadlineMs", options.deadlineMs, 0);
    const deadline = deadlineMs === undefined ? Infinity : Date.now() + deadlineMs;
    const userSignal = options.signal;

    const headers: Record<string, string> = {
      ...this.#defaultHeaders,
      ...(options.headers ?? {}),
      authorization: `Bearer ${this.#apiKey}`,
      accept: "application/json",
      "user-agent": this.#userAgent,
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers["content-type"] = "application/json";
    }
    if (idempotencyKey !== null) headers["idempotency-key"] = idempotencyKey;

    const debug = debugEnabled();
    for (let attempt = 1; ; attempt++) {
      if (userSignal?.aborted) {
        throw new APIUserAbortError({ idempotencyKey, attempts: attempt - 1, cause: userSignal.reason });
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new APITimeoutError({
          message: `deadline of ${deadlineMs} ms exceeded before attempt ${attempt}`,
          idempotencyKey,
          attempts: attempt - 1,
          method,
          path: pathWithQuery,
          retryable: true,
        });
      }
      const attemptTimeout = Math.min(timeoutMs, remaining);
      // A referenced timer (unlike AbortSignal.timeout's), cleared when the attempt ends, so a
      // pending attempt keeps the process alive until it times out.
      const timeoutCtrl = new AbortController();
      const timeoutSignal = timeoutCtrl.signal;
      const timer = setTimeout(
        () => timeoutCtrl.abort(new DOMException(`attempt timed out after ${attemptTimeout} ms`, "TimeoutError")),
        attemptTimeout,
      );
      const signal = anySignal(userSignal ? [userSignal, timeoutSignal] : [timeoutSignal]);
      if (attempt > 1) headers["x-retry-count"] = String(attempt - 1);

      const started = Date.now();
      let failure: APIError | APIConnectionError;
      let retryable: boolean;
      let responseHeaders: Record<string, string> = {};
      try {
        const res = await this.#fetch(url, {
          method,
          headers: { ...headers },
          ...(body !== undefined ? { body } : {}),
          signal,
        });
        responseHeaders = headersToRecord(res.headers);
        const text = await res.text();
        if (debug) {
          logDebug(`${method} ${pathWithQuery} attempt ${attempt} -> ${res.status} (${Date.now() - started} ms)`);
        }
        let parsed: unknown = undefined;
        if (text) {
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
        }
        const meta: ResponseMeta = {
          status: res.status,
          headers: responseHeaders,
          requestId: responseHeaders["request-id"] ?? responseHeaders["x-request-id"] ?? null,
          idempotencyKey,
          replayed: (responseHeaders["idempotent-replayed"] ?? "").toLowerCase() === "true",
          attempts: attempt,
        };
        if (res.status >= 200 && res.status < 300) {
          if (parsed === undefined || parsed === null || typeof parsed !== "object") {
            // A 2xx that is not a JSON object: report it as an API error, not a crash.
            throw APIError.from({
              status: res.status,
              headers: responseHeaders,
              rawBody: text,
              body: { error: { type: "invalid_response", code: "unexpected_response", message: "expected a JSON object in the response" } },
              idempotencyKey,
              attempts: attempt,
              method,
              path: pathWithQuery,
            });
          }
          return { data: parsed as T, meta };
        }
        const apiError = APIError.from({
          status: res.status,
          headers: responseHeaders,
          rawBody: text,
          body: parsed,
          idempotencyKey,
          attempts: attempt,
          method,
          path: pathWithQuery,
        });
        failure = apiError;
        retryable = isRetryableStatus(res.status, apiError.code);
      } catch (err) {
        if (err instanceof APIError) throw err;
        if (userSignal?.aborted) {
          throw new APIUserAbortError({ idempotencyKey, attempts: attempt, cause: err });
        }
        if (timeoutSignal.aborted) {
          const byDeadline = attemptTimeout < timeoutMs;
          failure = new APITimeoutError({
            message: byDeadline
              ? `request timed out: the call's deadline of ${deadlineMs} ms was reached during attempt ${attempt}`
              : `request timed out after ${timeoutMs} ms (attempt ${attempt})`,
            cause: err,
            idempotencyKey,
            attempts: attempt,
            method,
            path: pathWithQuery,
            retryable: true,
          });
          retryable = true;
        } else {
          retryable = isRetryableConnectionFailure(err);
          const code = causeCodeOf(err);
          failure = new APIConnectionError({
            message: `connection error on ${method} ${spec.path}${code ? ` (${code})` : ""}: ${describe(err)}`,
            cause: err,
            idempotencyKey,
            attempts: attempt,
            method,
            path: pathWithQuery,
            retryable,
          });
        }
        if (debug) logDebug(`${method} ${pathWithQuery} attempt ${attempt} failed: ${failure.message}`);
      } finally {
        clearTimeout(timer);
      }

      if (!retryable || attempt > maxRetries) throw failure;
      const delayMs = computeRetryDelayMs(attempt, responseHeaders, this);
      if (delayMs === null) throw failure;
      if (Date.now() + delayMs >= deadline) throw failure;
      if (this.#onRetry) {
        try {
          this.#onRetry({
            error: failure,
            retry: attempt,
            maxRetries,
            delayMs,
            method,
            path: pathWithQuery,
            idempotencyKey,
          });
        } catch {
          // A failing hook must not change the outcome of the call.
        }
      }
      if (debug) logDebug(`${method} ${pathWithQuery} retry ${attempt}/${maxRetries} in ${Math.round(delayMs)} ms`);
      try {
        await sleep(delayMs, userSignal);
      } catch (err) {
        throw new APIUserAbortError({ idempotencyKey, attempts: attempt, cause: err });
      }
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message && cause.message !== err.message) {
      return `${err.message}: ${cause.message}`;
    }
    return err.message;
  }
  return String(err);
}

function logDebug(line: string): void {
  // Method, path, status and timing only: never headers, bodies or the API key.
  console.error(`[payment-orchestrator] ${line}`);
}

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new TypeError(`${name} must be a non-negative number`);
  }
  return v;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new TypeError(`${name} must be a positive number`);
  }
  return v;
}
