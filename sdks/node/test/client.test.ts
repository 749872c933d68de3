import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { describe, test } from "node:test";
import {
  APIConnectionError,
  APIError,
  DEFAULT_BASE_URL,
  Operator,
  Orchestrator,
  VERSION,
  errors,
  type Payment,
} from "../src/index.js";
import { PAYMENT, errorBody, scriptedFetch, startServer } from "./helpers.js";

const KEY = "sk_live_supersecret_0123456789";

function make(steps: Parameters<typeof scriptedFetch>[0]) {
  const s = scriptedFetch(steps);
  return { c: new Orchestrator({ apiKey: KEY, baseUrl: "http://orch.test", fetch: s.fetch, initialRetryDelayMs: 1 }), calls: s.calls };
}

describe("error classes", () => {
  const cases: Array<[number, unknown, new (...a: never[]) => APIError]> = [
    [400, errorBody("invalid_request", "parameter_invalid_integer", "bad amount", "amount"), errors.InvalidRequestError],
    [413, errorBody("invalid_request", "body_too_large"), errors.InvalidRequestError],
    [422, errorBody("invalid_request", "invalid_state"), errors.InvalidStateError],
    [400, errorBody("idempotency", "idempotency_key_invalid"), errors.IdempotencyKeyInvalidError],
    [409, errorBody("idempotency", "idempotency_key_in_use"), errors.IdempotencyKeyInUseError],
    [422, errorBody("idempotency", "idempotency_key_reused"), errors.IdempotencyKeyReusedError],
    [401, errorBody("authentication", "unauthenticated"), errors.AuthenticationError],
    [404, errorBody("not_found", "resource_missing"), errors.NotFoundError],
    [502, errorBody("gateway", "gateway_unavailable"), errors.GatewayError],
    [429, errorBody("rate_limited", "too_many_requests"), errors.RateLimitError],
    [503, errorBody("internal", "dependency_unavailable"), errors.ServiceUnavailableError],
    [500, errorBody("internal", "internal_error"), errors.InternalServerError],
    [404, "<html>not json</html>", errors.NotFoundError],
    [502, "", errors.GatewayError],
  ];
  for (const [status, body, cls] of cases) {
    test(`${status} ${JSON.stringify(body).slice(0, 60)} -> ${cls.name}`, async () => {
      const { c } = make([{ status, body, headers: { "x-request-id": "req_123", "retry-after": "0" } }]);
      const err = await c.payments.create({ amount: 1, currency: "BRL", method: "pix" }, { idempotencyKey: "k", maxRetries: 0 }).catch((e: unknown) => e);
      assert.ok(err instanceof cls, `got ${String(err)}`);
      assert.ok(err instanceof APIError);
      assert.ok(err instanceof errors.OrchestratorError);
      assert.equal(err.name, cls.name);
      assert.equal(err.status, status);
      assert.equal(err.requestId, "req_123");
      assert.equal(err.idempotencyKey, "k");
      assert.equal(err.headers["x-request-id"], "req_123");
      assert.equal(err.rawBody, typeof body === "string" ? body : JSON.stringify(body));
      assert.equal(err.method, "POST");
      assert.equal(err.path, "/v1/payments");
    });
  }

  test("fields of an invalid request error", async () => {
    const { c } = make([{ status: 400, body: errorBody("invalid_request", "parameter_invalid_integer", "amount must be positive", "amount") }]);
    const err = await c.payments.create({ amount: -1, currency: "BRL", method: "pix" }).catch((e: unknown) => e);
    assert.ok(err instanceof errors.InvalidRequestError);
    assert.equal(err.type, "invalid_request");
    assert.equal(err.code, "parameter_invalid_integer");
    assert.equal(err.param, "amount");
    assert.equal(err.message, "400 parameter_invalid_integer: amount must be positive");
    assert.deepEqual(err.error, { type: "invalid_request", code: "parameter_invalid_integer", message: "amount must be positive", param: "amount" });
    assert.deepEqual(err.body, errorBody("invalid_request", "parameter_invalid_integer", "amount must be positive", "amount"));
    assert.equal(err.requestId, null);
  });

  test("a 2xx that is not JSON is an APIError, not a crash", async () => {
    const { c } = make([{ status: 200, body: "oops" }]);
    const err = await c.payments.retrieve("pay_1").catch((e: unknown) => e);
    assert.ok(err instanceof errors.UnexpectedResponseError);
    assert.equal(err.type, "invalid_response");
    assert.equal(err.code, "unexpected_response");
  });
});

describe("requests", () => {
  test("headers: bearer key, JSON, User-Agent naming SDK, version and runtime", async () => {
    const { c, calls } = make([{ status: 201, body: PAYMENT }]);
    await c.payments.create({ amount: 1990, currency: "BRL", method: "pix", reference: "r1" });
    const h = calls[0]?.init.headers ?? {};
    assert.equal(h["authorization"], `Bearer ${KEY}`);
    assert.equal(h["content-type"], "application/json");
    assert.equal(h["accept"], "application/json");
    assert.match(h["user-agent"] ?? "", new RegExp(`^payment-orchestrator-node/${VERSION.replace(/\./g, "\\.")} node/v\\d+\\.\\d+\\.\\d+ \\w+/\\w+$`));
    assert.deepEqual(JSON.parse(calls[0]?.init.body ?? ""), { amount: 1990, currency: "BRL", method: "pix", reference: "r1" });
    assert.equal(calls[0]?.url, "http://orch.test/v1/payments");
  });

  test("paths and queries are encoded; refresh, refunds, gateways, events", async () => {
    const { c, calls } = make([{ status: 200, body: { data: [], object: "list", has_more: false, next_cursor: null } }]);
    await c.payments.retrieve("pay/../x");
    await c.payments.refresh("pay_1");
    await c.refunds.create("pay_1", { amount: 300 });
    await c.gateways.list();
    await c.events.retrieve("evt_1");
    await c.events.list({ type: "payment.succeeded", payment_id: "pay_1", limit: 5 });
    await c.payments.list({ reference: "a b&c", status: "pending" });
    await c.unmatchedWebhooks.list({ limit: 3 });
    assert.deepEqual(
      calls.map((x) => `${x.init.method} ${x.url.replace("http://orch.test", "")}`),
      [
        "GET /v1/payments/pay%2F..%2Fx",
        "GET /v1/payments/pay_1?refresh=true",
        "POST /v1/payments/pay_1/refunds",
        "GET /v1/gateways",
        "GET /v1/events/evt_1",
        "GET /v1/events?type=payment.succeeded&payment_id=pay_1&limit=5",
        "GET /v1/payments?reference=a+b%26c&status=pending",
        "GET /v1/webhooks/unmatched?limit=3",
      ],
    );
    await assert.rejects(c.payments.retrieve(""), TypeError);
  });

  test("lastResponse is non-enumerable: JSON and deepEqual see only the payment", async () => {
    const { c } = make([{ status: 201, body: PAYMENT, headers: { "request-id": "req_9", "idempotent-replayed": "true" } }]);
    const p: Payment = await c.payments.create({ amount: 1990, currency: "BRL", method: "pix" });
    assert.deepEqual(JSON.parse(JSON.stringify(p)), PAYMENT);
    assert.deepEqual({ ...p }, PAYMENT);
    assert.equal(Object.keys(p).includes("lastResponse"), false);
    const meta = (p as typeof p & { lastResponse: { requestId: string; replayed: boolean; status: number } }).lastResponse;
    assert.equal(meta.requestId, "req_9");
    assert.equal(meta.replayed, true);
    assert.equal(meta.status, 201);
    assert.equal(p.status, "pending"); // the payment's own status is untouched
  });

  test("the API key never shows in inspect, JSON, errors or debug logs", async () => {
    const { c } = make([{ status: 401, body: errorBody("authentication", "unauthenticated") }]);
    assert.ok(!inspect(c, { depth: 10, showHidden: true }).includes(KEY));
    assert.ok(!inspect(c.payments, { depth: 10, showHidden: true }).includes(KEY));
    assert.ok(!JSON.stringify(c).includes(KEY));
    assert.ok(!String(c).includes(KEY));
    const logs: string[] = [];
    const orig = console.error;
    process.env["ORCHESTRATOR_LOG"] = "debug";
    console.error = (...a: unknown[]) => void logs.push(a.map(String).join(" "));
    try {
      const err = await c.payments.list().catch((e: unknown) => e);
      assert.ok(err instanceof errors.AuthenticationError);
      assert.ok(!inspect(err, { depth: 10, showHidden: true }).includes(KEY));
      assert.ok(!JSON.stringify(err).includes(KEY));
    } finally {
      console.error = orig;
      delete process.env["ORCHESTRATOR_LOG"];
    }
    assert.ok(logs.length > 0);
    assert.ok(logs.every((l) => !l.includes(KEY)));
  });

  test("constructor validation and env defaults", () => {
    assert.throws(() => new Orchestrator({ baseUrl: "http://x" }), /apiKey/);
    assert.throws(() => new Orchestrator({ apiKey: "k", baseUrl: "ftp://x" }), /baseUrl/);
    assert.throws(() => new Orchestrator({ apiKey: "k", baseUrl: "http://x", maxRetries: -1 }), /maxRetries/);
    process.env["ORCHESTRATOR_API_KEY"] = "sk_env";
    process.env["ORCHESTRATOR_BASE_URL"] = "http://env.test/";
    try {
      const c = new Orchestrator();
      assert.equal(c.baseUrl, "http://env.test");
      assert.deepEqual(c.config, { baseUrl: "http://env.test", maxRetries: 2, timeoutMs: 30_000, deadlineMs: undefined });
    } finally {
      delete process.env["ORCHESTRATOR_API_KEY"];
      delete process.env["ORCHESTRATOR_BASE_URL"];
    }
  });

  test("base URL: the option, else env ORCHESTRATOR_BASE_URL, else the dev server (as in the Python SDK)", () => {
    delete process.env["ORCHESTRATOR_BASE_URL"];
    assert.equal(new Orchestrator({ apiKey: "k" }).baseUrl, "http://127.0.0.1:8080");
    assert.equal(new Orchestrator({ apiKey: "k" }).baseUrl, DEFAULT_BASE_URL);
    assert.equal(new Operator({ apiKey: "op_x" }).baseUrl, DEFAULT_BASE_URL);
    process.env["ORCHESTRATOR_BASE_URL"] = "https://pay.example.com";
    try {
      assert.equal(new Orchestrator({ apiKey: "k" }).baseUrl, "https://pay.example.com");
      assert.equal(new Orchestrator({ apiKey: "k", baseUrl: "http://other.test" }).baseUrl, "http://other.test");
    } finally {
      delete process.env["ORCHESTRATOR_BASE_URL"];
    }
    for (const bad of ["ftp://x", "http://", "http://x/?a=1", "http://x/#f", "127.0.0.1:8080"]) {
      assert.throws(() => new Orchestrator({ apiKey: "k", baseUrl: bad }), TypeError, bad);
    }
  });

  test("the operator key: option or env ORCHESTRATOR_OPERATOR_KEY, never the tenant's variable", () => {
    process.env["ORCHESTRATOR_API_KEY"] = "sk_env";
    try {
      assert.throws(() => new Operator(), /ORCHESTRATOR_OPERATOR_KEY/);
      process.env["ORCHESTRATOR_OPERATOR_KEY"] = "op_env";
      const op = new Operator();
      assert.ok(!inspect(op, { depth: 10, showHidden: true }).includes("op_env"));
      assert.ok(!JSON.stringify(op).includes("op_env"));
    } finally {
      delete process.env["ORCHESTRATOR_API_KEY"];
      delete process.env["ORCHESTRATOR_OPERATOR_KEY"];
    }
  });

  test("VERSION matches package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string; name: string };
    assert.equal(VERSION, pkg.version);
    assert.equal(pkg.name, "@payment-orchestrator/node");
  });
});

describe("real sockets (local server)", () => {
  test("a connection reset before any response is retried with the same key", async () => {
    const keys: string[] = [];
    let n = 0;
    const srv = await startServer((req, res) => {
      keys.push(String(req.headers["idempotency-key"]));
      if (n++ === 0) {
        req.socket.destroy(); // no answer at all
        return;
      }
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify(PAYMENT));
    });
    try {
      const c = new Orchestrator({ apiKey: KEY, baseUrl: srv.url, initialRetryDelayMs: 1 });
      const p = await c.payments.create({ amount: 1990, currency: "BRL", method: "pix" });
      assert.equal(p.lastResponse.attempts, 2);
      assert.equal(keys.length, 2);
      assert.equal(keys[0], keys[1]);
      assert.equal(p.lastResponse.idempotencyKey, keys[0]);
    } finally {
      await srv.close();
    }
  });

  test("a body cut short is a retryable connection error", async () => {
    let n = 0;
    const srv = await startServer((_req, res) => {
      if (n++ < 3) {
        res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
        res.write('{"id":"pay_');
        setTimeout(() => res.socket?.destroy(), 10);
        return;
      }
      res.end("{}");
    });
    try {
      const c = new Orchestrator({ apiKey: KEY, baseUrl: srv.url, initialRetryDelayMs: 1 });
      const err = await c.payments.retrieve("pay_1").catch((e: unknown) => e);
      assert.ok(err instanceof APIConnectionError, String(err));
      assert.equal(err.attempts, 3);
      assert.equal(err.retryable, true);
    } finally {
      await srv.close();
    }
  });

  test("connection refused is retried, then thrown with its code", async () => {
    const srv = await startServer((_q, r) => void r.end());
    const url = srv.url;
    await srv.close();
    const c = new Orchestrator({ apiKey: KEY, baseUrl: url, initialRetryDelayMs: 1 });
    const err = await c.payments.create({ amount: 1, currency: "BRL", method: "pix" }).catch((e: unknown) => e);
    assert.ok(err instanceof APIConnectionError);
    assert.equal(err.causeCode, "ECONNREFUSED");
    assert.equal(err.attempts, 3);
    assert.ok(err.idempotencyKey);
  });

  test("a slow server hits the per-attempt timeout", async () => {
    const srv = await startServer((_req, res) => {
      setTimeout(() => res.end("{}"), 1000);
    });
    try {
      const c = new Orchestrator({ apiKey: KEY, baseUrl: srv.url, timeoutMs: 100, maxRetries: 0 });
      await assert.rejects(c.payments.retrieve("pay_1"), errors.APITimeoutError);
    } finally {
      await srv.close();
    }
  });
});
