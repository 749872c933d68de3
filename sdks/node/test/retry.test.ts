import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  Orchestrator,
  errors,
  type OrchestratorOptions,
  type RetryInfo,
} from "../src/index.js";
import {
  computeRetryDelayMs,
  isRetryableConnectionFailure,
  isRetryableStatus,
  parseRetryAfterMs,
} from "../src/core.js";
import { PAYMENT, errorBody, networkError, scriptedFetch, type Step } from "./helpers.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PIX = { amount: 1990, currency: "BRL", method: "pix" } as const;

function client(steps: Step[], extra: Partial<OrchestratorOptions> = {}) {
  const s = scriptedFetch(steps);
  const retries: RetryInfo[] = [];
  const c = new Orchestrator({
    apiKey: "sk_test_123",
    baseUrl: "http://orch.test/",
    fetch: s.fetch,
    initialRetryDelayMs: 1,
    maxRetryDelayMs: 5,
    onRetry: (i) => retries.push(i),
    ...extra,
  });
  return { c, calls: s.calls, retries };
}

describe("idempotency keys", () => {
  test("one generated UUIDv4 per logical call, identical on every retry, exposed on the result", async () => {
    const { c, calls, retries } = client([
      networkError("ECONNRESET"),
      { status: 503, body: errorBody("internal", "dependency_unavailable"), headers: { "retry-after": "0" } },
      { status: 201, body: PAYMENT },
    ]);
    const p = await c.payments.create(PIX);
    assert.equal(calls.length, 3);
    const keys = calls.map((x) => x.init.headers["idempotency-key"]);
    assert.match(keys[0] ?? "", UUID_V4);
    assert.deepEqual(new Set(keys).size, 1);
    assert.equal(p.lastResponse.idempotencyKey, keys[0]);
    assert.equal(p.lastResponse.attempts, 3);
    assert.equal(p.lastResponse.replayed, false);
    assert.equal(p.lastResponse.status, 201);
    assert.equal(p.id, "pay_01TEST");
    assert.equal(retries.length, 2);
    assert.deepEqual(retries.map((r) => r.retry), [1, 2]);
    assert.ok(retries.every((r) => r.idempotencyKey === keys[0]));
    assert.ok(retries[0]?.error instanceof APIConnectionError);
    assert.ok(retries[1]?.error instanceof errors.ServiceUnavailableError);
    assert.equal(calls[0]?.init.headers["x-retry-count"], undefined);
    assert.equal(calls[2]?.init.headers["x-retry-count"], "2");
  });

  test("two logical calls get two different keys", async () => {
    const { c, calls } = client([{ status: 201, body: PAYMENT }]);
    await c.payments.create(PIX);
    await c.payments.create(PIX);
    assert.notEqual(calls[0]?.init.headers["idempotency-key"], calls[1]?.init.headers["idempotency-key"]);
  });

  test("a caller's key wins and is sent as is", async () => {
    const { c, calls } = client([{ status: 201, body: PAYMENT, headers: { "idempotent-replayed": "true" } }]);
    const p = await c.payments.create(PIX, { idempotencyKey: "order-42" });
    assert.equal(calls[0]?.init.headers["idempotency-key"], "order-42");
    assert.equal(p.lastResponse.idempotencyKey, "order-42");
    assert.equal(p.lastResponse.replayed, true);
  });

  test("an invalid key is refused before any request", async () => {
    const { c, calls } = client([{ status: 201, body: PAYMENT }]);
    await assert.rejects(c.payments.create(PIX, { idempotencyKey: "" }), TypeError);
    await assert.rejects(c.payments.create(PIX, { idempotencyKey: "ção" }), TypeError);
    await assert.rejects(c.payments.create(PIX, { idempotencyKey: "x".repeat(256) }), TypeError);
    assert.equal(calls.length, 0);
  });

  test("GET and PUT carry no key; resend (POST) carries one", async () => {
    const { c, calls } = client([{ status: 200, body: { ...PAYMENT, object: "event" } }]);
    await c.payments.retrieve("pay_1");
    await c.routing.update({ pix: ["asaas", "efi"] });
    await c.events.resend("evt_1");
    assert.equal(calls[0]?.init.headers["idempotency-key"], undefined);
    assert.equal(calls[1]?.init.headers["idempotency-key"], undefined);
    assert.equal(calls[1]?.init.method, "PUT");
    assert.match(calls[2]?.init.headers["idempotency-key"] ?? "", UUID_V4);
    assert.equal(calls[2]?.url, "http://orch.test/v1/events/evt_1/resend");
  });

  test("the key is on every error, connection errors included", async () => {
    const { c } = client([networkError("ECONNREFUSED")], { maxRetries: 1 });
    const err = await c.payments.create(PIX, { idempotencyKey: "k-1" }).catch((e: unknown) => e);
    assert.ok(err instanceof APIConnectionError);
    assert.equal(err.idempotencyKey, "k-1");
    assert.equal(err.attempts, 2);
    assert.equal(err.causeCode, "ECONNREFUSED");
    const { c: c2 } = client([{ status: 422, body: errorBody("idempotency", "idempotency_key_reused") }]);
    const e2 = await c2.payments.create(PIX, { idempotencyKey: "k-2" }).catch((e: unknown) => e);
    assert.ok(e2 instanceof errors.IdempotencyKeyReusedError);
    assert.equal(e2.idempotencyKey, "k-2");
  });
});

describe("what is retried", () => {
  for (const status of [408, 429, 500, 503, 504]) {
    test(`${status} is retried up to maxRetries`, async () => {
      const { c, calls } = client([{ status, body: errorBody("internal", "x") }]);
      await assert.rejects(c.payments.create(PIX), errors.APIError);
      assert.equal(calls.length, 3);
    });
  }

  for (const [status, type, code] of [
    [400, "invalid_request", "parameter_invalid_integer"],
    [400, "idempotency", "idempotency_key_invalid"],
    [401, "authentication", "unauthenticated"],
    [404, "not_found", "resource_missing"],
    [405, "invalid_request", "method_not_allowed"],
    [409, "conflict", "version_conflict"],
    [413, "invalid_request", "body_too_large"],
    [422, "idempotency", "idempotency_key_reused"],
    [422, "invalid_request", "invalid_state"],
    [502, "gateway", "gateway_unavailable"],
  ] as const) {
    test(`${status} ${code} is not retried`, async () => {
      const { c, calls, retries } = client([{ status, body: errorBody(type, code) }]);
      await assert.rejects(c.payments.create(PIX), errors.APIError);
      assert.equal(calls.length, 1);
      assert.equal(retries.length, 0);
    });
  }

  test("409 idempotency_key_in_use is retried (same key) and can then succeed", async () => {
    const { c, calls } = client([
      { status: 409, body: errorBody("idempotency", "idempotency_key_in_use"), headers: { "retry-after": "0" } },
      { status: 201, body: PAYMENT, headers: { "idempotent-replayed": "true" } },
    ]);
    const p = await c.payments.create(PIX);
    assert.equal(calls.length, 2);
    assert.equal(p.lastResponse.replayed, true);
    assert.equal(calls[0]?.init.headers["idempotency-key"], calls[1]?.init.headers["idempotency-key"]);
  });

  test("maxRetries: 0 makes one attempt; per-call override wins", async () => {
    const { c, calls } = client([{ status: 503, body: errorBody("internal", "dependency_unavailable") }], {
      maxRetries: 0,
    });
    await assert.rejects(c.payments.create(PIX), errors.ServiceUnavailableError);
    assert.equal(calls.length, 1);
    await assert.rejects(c.payments.create(PIX, { maxRetries: 1 }), errors.ServiceUnavailableError);
    assert.equal(calls.length, 3);
  });

  test("connection failures: reset/refused/socket closed retried, TLS and bad requests not", () => {
    for (const code of ["ECONNRESET", "ECONNREFUSED", "UND_ERR_SOCKET", "EPIPE", "ENOTFOUND", "ETIMEDOUT"]) {
      assert.equal(isRetryableConnectionFailure(networkError(code)), true, code);
    }
    for (const code of ["CERT_HAS_EXPIRED", "DEPTH_ZERO_SELF_SIGNED_CERT", "ERR_TLS_CERT_ALTNAME_INVALID", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"]) {
      assert.equal(isRetryableConnectionFailure(networkError(code)), false, code);
    }
    assert.equal(isRetryableConnectionFailure(new TypeError("fetch failed")), true);
    assert.equal(isRetryableConnectionFailure(new TypeError("invalid header value")), false);
  });

  test("a TLS failure is thrown at once as APIConnectionError (retryable false)", async () => {
    const { c, calls } = client([networkError("CERT_HAS_EXPIRED")]);
    const err = await c.payments.retrieve("pay_1").catch((e: unknown) => e);
    assert.ok(err instanceof APIConnectionError);
    assert.equal(err.retryable, false);
    assert.equal(calls.length, 1);
  });

  test("status rules", () => {
    assert.equal(isRetryableStatus(409, "idempotency_key_in_use"), true);
    assert.equal(isRetryableStatus(409, null), false);
    assert.equal(isRetryableStatus(502, "gateway_unavailable"), false);
    assert.equal(isRetryableStatus(504, null), true);
  });
});

describe("backoff and Retry-After", () => {
  const settings = { initialRetryDelayMs: 500, maxRetryDelayMs: 8000, maxRetryAfterMs: 60_000 };

  test("exponential from 0.5 s, capped at 8 s, with 75-100 % jitter", () => {
    const top = (n: number) => computeRetryDelayMs(n, {}, settings, () => 0);
    const bottom = (n: number) => computeRetryDelayMs(n, {}, settings, () => 1);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 10].map(top), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
    assert.deepEqual([1, 2, 5].map(bottom), [375, 750, 6000]);
    for (let i = 0; i < 100; i++) {
      const d = computeRetryDelayMs(2, {}, settings) ?? -1;
      assert.ok(d >= 750 && d <= 1000, String(d));
    }
  });

  test("Retry-After (seconds, HTTP date, -ms) is honoured; above the cap means do not retry", () => {
    assert.equal(computeRetryDelayMs(1, { "retry-after": "1" }, settings), 1000);
    assert.equal(computeRetryDelayMs(1, { "retry-after-ms": "250" }, settings), 250);
    assert.equal(computeRetryDelayMs(1, { "retry-after": "61" }, settings), null);
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(parseRetryAfterMs({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }, now), 5000);
    assert.equal(parseRetryAfterMs({ "retry-after": "soon" }), undefined);
  });

  test("a 429 with a long Retry-After is thrown at once as RateLimitError", async () => {
    const { c, calls } = client(
      [{ status: 429, body: errorBody("rate_limited", "too_many_requests"), headers: { "retry-after": "3600" } }],
    );
    const err = await c.payments.list().catch((e: unknown) => e);
    assert.ok(err instanceof errors.RateLimitError);
    assert.equal(calls.length, 1);
  });

  test("the server's Retry-After is waited for", async () => {
    const { c, retries } = client([
      { status: 503, body: errorBody("internal", "dependency_unavailable"), headers: { "retry-after-ms": "120" } },
      { status: 200, body: PAYMENT },
    ]);
    const t0 = Date.now();
    await c.payments.retrieve("pay_1");
    assert.ok(Date.now() - t0 >= 110);
    assert.equal(retries[0]?.delayMs, 120);
  });

  test("an overall deadline stops retrying", async () => {
    const { c, calls } = client([{ status: 503, body: errorBody("internal", "dependency_unavailable") }], {
      initialRetryDelayMs: 200,
      maxRetryDelayMs: 200,
      maxRetries: 10,
    });
    const t0 = Date.now();
    await assert.rejects(c.payments.create(PIX, { deadlineMs: 500 }), errors.ServiceUnavailableError);
    assert.ok(Date.now() - t0 < 1000);
    assert.ok(calls.length >= 2 && calls.length <= 4, String(calls.length));
  });

  test("a throwing onRetry hook does not change the outcome", async () => {
    const { c } = client(
      [{ status: 500, body: errorBody("internal", "internal_error") }, { status: 200, body: PAYMENT }],
      { onRetry: () => { throw new Error("hook bug"); } },
    );
    const p = await c.payments.retrieve("pay_1");
    assert.equal(p.lastResponse.attempts, 2);
  });
});

describe("timeouts and cancellation", () => {
  const hang: Step = ({ init }) =>
    new Promise<Response>((_resolve, reject) => {
      init.signal.addEventListener("abort", () => reject(init.signal.reason), { once: true });
    });

  test("each attempt times out after timeoutMs and is retried; the last is APITimeoutError", async () => {
    const { c, calls, retries } = client([hang], { timeoutMs: 50, maxRetries: 1 });
    const err = await c.payments.create(PIX).catch((e: unknown) => e);
    assert.ok(err instanceof APITimeoutError);
    assert.ok(err instanceof APIConnectionError);
    assert.equal(err.attempts, 2);
    assert.equal(calls.length, 2);
    assert.ok(retries[0]?.error instanceof APITimeoutError);
    assert.equal(calls[0]?.init.headers["idempotency-key"], err.idempotencyKey);
  });

  test("a timeout then a success", async () => {
    const { c } = client([hang, { status: 201, body: PAYMENT }], { timeoutMs: 50 });
    const p = await c.payments.create(PIX);
    assert.equal(p.lastResponse.attempts, 2);
  });

  test("the caller's AbortSignal stops the call without retrying", async () => {
    const { c, calls } = client([hang], { timeoutMs: 5000 });
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 30);
    const err = await c.payments.create(PIX, { signal: ctrl.signal, idempotencyKey: "abort-1" }).catch((e: unknown) => e);
    assert.ok(err instanceof APIUserAbortError);
    assert.equal(err.idempotencyKey, "abort-1");
    assert.equal(calls.length, 1);
  });

  test("an abort during the backoff wait stops the call", async () => {
    const { c, calls } = client([{ status: 503, body: errorBody("internal", "x") }], {
      initialRetryDelayMs: 2000,
      maxRetryDelayMs: 2000,
    });
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 50);
    const t0 = Date.now();
    await assert.rejects(c.payments.retrieve("pay_1", { signal: ctrl.signal }), APIUserAbortError);
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(calls.length, 1);
  });
});
