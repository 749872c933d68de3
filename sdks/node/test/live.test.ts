/**
 * Against a running dev server (`ORCH_API_URL=http://127.0.0.1:8080`); skipped otherwise.
 * Payments are pinned to a gateway so the routing switch cannot change where they go.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IncomingHttpHeaders } from "node:http";
import * as official from "standardwebhooks";
import {
  Orchestrator,
  Webhook,
  errors,
  type Payment,
  type PaymentCreateParams,
  type GatewayName,
  type PaymentMethod,
  type WebhookEvent,
} from "../src/index.js";
import { forward, startServer, waitFor, type LocalServer } from "./helpers.js";

const API = process.env["ORCH_API_URL"]?.replace(/\/+$/, "");
const KEY_A = "sk_demo_tenant_a_4f9c2b7e1d8a6350";
const TEST_KEY_A = "sk_test_demo_tenant_a_4f9c2b7e1d8a6350";
const LIVE_KEY_A = "sk_live_demo_tenant_a_4f9c2b7e1d8a6350";
const SECRET_A = "whsec_deNBX1rNhVB82yDA0ttry1Yakpbc3sfy";
const SECRET_B = "whsec_mY3tOaNzUIn5gTrJWBhDFoQJ+5Llb4or";
const ASAAS_TOKEN_A = "demo-asaas-token-tenant-a-3b8f1d6e9c2a";
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Callback {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function client(baseUrl = API ?? "", extra: Partial<ConstructorParameters<typeof Orchestrator>[0]> = {}): Orchestrator {
  return new Orchestrator({ apiKey: KEY_A, baseUrl, initialRetryDelayMs: 50, ...extra });
}

function pix(reference: string, callbackUrl?: string): PaymentCreateParams {
  return {
    amount: 1990,
    currency: "BRL",
    method: "pix",
    gateway: "asaas",
    reference,
    customer: { name: "Maria Souza", document: "52998224725" },
    ...(callbackUrl ? { callback_url: callbackUrl } : {}),
  };
}

function card(reference: string): PaymentCreateParams {
  return {
    amount: 1000,
    currency: "BRL",
    method: "card",
    gateway: "stripe",
    reference,
    card: { tokens: { stripe: "pm_card_visa", asaas: "tok_1" } },
  };
}

async function countByReference(reference: string): Promise<Payment[]> {
  return client().payments.list({ reference, limit: 100 }).toArray({ maxItems: 1000 });
}

describe("against the dev server", { skip: API ? false : "ORCH_API_URL is not set" }, () => {
  let hooks: LocalServer;
  const callbacks: Callback[] = [];
  let pixPayment: Payment;
  let cardPayment: Payment;
  const reference = `sdk-node-${RUN}`;

  before(async () => {
    hooks = await startServer((req, res, body) => {
      callbacks.push({ headers: req.headers, body });
      res.writeHead(200).end("ok");
    });
  });
  after(async () => {
    await hooks?.close();
  });

  const callbackFor = (paymentId: string, type: string): Callback | undefined =>
    callbacks.find((c) => {
      const ev = JSON.parse(c.body.toString("utf8")) as WebhookEvent;
      return ev.type === type && ev.data.id === paymentId;
    });

  test("create, replay with the same key, reuse with another body, retrieve, refresh", async () => {
    const c = client();
    const params = pix(reference, `${hooks.url}/hooks`);
    pixPayment = await c.payments.create(params);
    assert.equal(pixPayment.status, "pending");
    assert.equal(pixPayment.livemode, false, "tenant A has no credentials: its own mode is test");
    assert.equal(pixPayment.method, "pix");
    assert.equal(pixPayment.gateway, "asaas");
    assert.ok(pixPayment.pix?.copy_paste);
    const meta = (pixPayment as typeof pixPayment & { lastResponse: { idempotencyKey: string; replayed: boolean; status: number; attempts: number } }).lastResponse;
    assert.match(meta.idempotencyKey, UUID_V4);
    assert.equal(meta.replayed, false);
    assert.equal(meta.status, 201);
    assert.equal(meta.attempts, 1);

    const again = await c.payments.create(params, { idempotencyKey: meta.idempotencyKey });
    assert.equal(again.id, pixPayment.id);
    assert.equal(again.lastResponse.replayed, true);
    assert.equal(again.lastResponse.idempotencyKey, meta.idempotencyKey);

    const reused = await c.payments.create({ ...params, amount: 2990 }, { idempotencyKey: meta.idempotencyKey }).catch((e: unknown) => e);
    assert.ok(reused instanceof errors.IdempotencyKeyReusedError, String(reused));
    assert.equal(reused.status, 422);
    assert.equal(reused.idempotencyKey, meta.idempotencyKey);

    const got = await c.payments.retrieve(pixPayment.id);
    assert.equal(got.id, pixPayment.id);
    assert.equal(got.lastResponse.idempotencyKey, null);
    const refreshed = await c.payments.refresh(pixPayment.id);
    assert.equal(refreshed.id, pixPayment.id);
  });

  test("test and live keys: livemode, separate data, live mode never reaches a simulator", async () => {
    const test = client(API, { apiKey: TEST_KEY_A });
    const live = client(API, { apiKey: LIVE_KEY_A });
    const p = await test.payments.create(pix(`${reference}-test`));
    assert.equal(p.livemode, false);
    const nf = await live.payments.retrieve(p.id).catch((e: unknown) => e);
    assert.ok(nf instanceof errors.NotFoundError, String(nf));
    // The demo tenant has no live credentials: 422 gateway_not_configured, nothing created.
    const none = await live.payments.create(pix(`${reference}-live`)).catch((e: unknown) => e);
    assert.ok(none instanceof errors.APIError && none.status === 422, String(none));
    assert.equal((none as errors.APIError).code, "gateway_not_configured");
  });

  test("list walks more than one page", async () => {
    const c = client();
    cardPayment = await c.payments.create(card(reference));
    assert.equal(cardPayment.status, "succeeded");
    await c.payments.create(card(reference));
    const first = await c.payments.list({ reference, limit: 2 });
    assert.equal(first.data.length, 2);
    assert.equal(first.has_more, true);
    assert.ok(first.next_cursor);
    let pages = 0;
    for await (const _ of first.iterPages()) pages++;
    assert.equal(pages, 2);
    const ids: string[] = [];
    for await (const p of c.payments.list({ reference, limit: 2 })) ids.push(p.id);
    assert.equal(ids.length, 3);
    assert.equal(new Set(ids).size, 3);
    assert.ok(ids.includes(pixPayment.id) && ids.includes(cardPayment.id));
  });

  test("refund: partial, replayed, over the rest, wrong state", async () => {
    const c = client();
    const refund = await c.refunds.create(cardPayment.id, { amount: 300, reason: "requested_by_customer" });
    assert.equal(refund.object, "refund");
    assert.equal(refund.status, "succeeded");
    assert.equal(refund.amount, 300);
    assert.equal(refund.payment.status, "partially_refunded");
    assert.equal(refund.payment.refunded_amount, 300);
    const key = refund.lastResponse.idempotencyKey;
    assert.ok(key);
    const replay = await c.refunds.create(cardPayment.id, { amount: 300, reason: "requested_by_customer" }, { idempotencyKey: key });
    assert.equal(replay.id, refund.id);
    assert.equal(replay.lastResponse.replayed, true);
    const tooMuch = await c.refunds.create(cardPayment.id, { amount: 100_000 }).catch((e: unknown) => e);
    assert.ok(tooMuch instanceof errors.InvalidRequestError, String(tooMuch));
    assert.equal(tooMuch.param, "amount");
    const pending = await c.refunds.create(pixPayment.id).catch((e: unknown) => e);
    assert.ok(pending instanceof errors.InvalidStateError, String(pending));
    assert.equal(pending.code, "invalid_state");
  });

  test("errors from the real server", async () => {
    const nf = await client().payments.retrieve("pay_01AAAAAAAAAAAAAAAAAAAAAAAA").catch((e: unknown) => e);
    assert.ok(nf instanceof errors.NotFoundError, String(nf));
    assert.equal(nf.code, "resource_missing");
    const auth = await client(API, { apiKey: "sk_wrong" }).gateways.list().catch((e: unknown) => e);
    assert.ok(auth instanceof errors.AuthenticationError, String(auth));
    const bad = await client().payments.create({ amount: 0, currency: "BRL", method: "pix" }).catch((e: unknown) => e);
    assert.ok(bad instanceof errors.InvalidRequestError, String(bad));
    assert.equal(bad.param, "amount");
    assert.ok(bad.idempotencyKey);
    const limit = await client().payments.list({ limit: 500 }).catch((e: unknown) => e);
    assert.ok(limit instanceof errors.InvalidRequestError);
    assert.equal(limit.param, "limit");
  });

  test("routing switch, then switch back", async () => {
    const c = client();
    const pixOrder = async (): Promise<GatewayName[]> => {
      const { data } = await c.gateways.list();
      return data
        .filter((g) => g.priority.pix !== undefined)
        .sort((a, b) => (a.priority.pix ?? 0) - (b.priority.pix ?? 0))
        .map((g) => g.gateway);
    };
    const original = await pixOrder();
    assert.ok(original.length >= 2, JSON.stringify(original));
    const switched = [...original.slice(1), original[0] as GatewayName];
    try {
      const res = await c.routing.update({ pix: switched });
      assert.deepEqual(res.routing.pix, switched);
      assert.deepEqual(await pixOrder(), switched);
      // @ts-expect-error -- a gateway the SDK does not know fails the type check; the server refuses it too
      const bad = await c.routing.update({ pix: ["nope"] }).catch((e: unknown) => e);
      assert.ok(bad instanceof errors.InvalidRequestError);
    } finally {
      const back = await c.routing.update({ pix: original });
      assert.deepEqual(back.routing.pix, original);
    }
    assert.deepEqual(await pixOrder(), original);
    const { data } = await c.gateways.list();
    for (const g of data) {
      assert.ok(["closed", "open", "half_open"].includes(g.state));
      assert.ok(Array.isArray(g.methods));
      assert.ok(g.methods.every((m: PaymentMethod) => ["pix", "card", "boleto"].includes(m)));
    }
  });

  test("callbacks: received, verified by the SDK and by standardwebhooks; tampering rejected", async () => {
    const ours = new Webhook(SECRET_A);
    const theirs = new official.Webhook(SECRET_A);

    const pendingCb = await waitFor("payment.pending callback", () => callbackFor(pixPayment.id, "payment.pending"));
    const ev1 = ours.verify(pendingCb.body, pendingCb.headers);
    assert.equal(ev1.type, "payment.pending");
    assert.equal(ev1.data.id, pixPayment.id);
    assert.equal(ev1.id, pendingCb.headers["webhook-id"]);

    // The gateway reports the Pix as received: the orchestrator sends payment.succeeded.
    const gw = await fetch(`${API}/webhooks/asaas/ten_demo_a`, {
      method: "POST",
      headers: { "content-type": "application/json", "asaas-access-token": ASAAS_TOKEN_A },
      body: JSON.stringify({
        id: `evt_sdk_node_${RUN}`,
        event: "PAYMENT_RECEIVED",
        payment: { id: pixPayment.gateway_payment_id, status: "RECEIVED", externalReference: pixPayment.id },
      }),
    });
    assert.equal(gw.status, 200, await gw.text());
    const cb = await waitFor("payment.succeeded callback", () => callbackFor(pixPayment.id, "payment.succeeded"));
    const headers = {
      "webhook-id": String(cb.headers["webhook-id"]),
      "webhook-timestamp": String(cb.headers["webhook-timestamp"]),
      "webhook-signature": String(cb.headers["webhook-signature"]),
    };
    const event = ours.verify(cb.body, cb.headers);
    assert.equal(event.type, "payment.succeeded");
    if (event.type === "payment.succeeded") {
      assert.equal(event.data.status, "succeeded");
      assert.ok(event.data.version > pixPayment.version);
    }
    assert.deepEqual(theirs.verify(cb.body.toString("utf8"), headers), JSON.parse(cb.body.toString("utf8")));

    const tampered = cb.body.toString("utf8").replace('"succeeded"', '"failed"');
    assert.notEqual(tampered, cb.body.toString("utf8"));
    assert.throws(() => ours.verify(tampered, cb.headers), errors.WebhookSignatureError);
    assert.throws(() => theirs.verify(tampered, headers), official.WebhookVerificationError);
    const ts = Number(headers["webhook-timestamp"]);
    assert.throws(
      () => ours.verify(cb.body, cb.headers, { now: ts + 301 }),
      (e: unknown) => e instanceof errors.WebhookTimestampError && e.reason === "too_old",
    );
    assert.throws(
      () => ours.verify(cb.body, cb.headers, { now: ts - 301 }),
      (e: unknown) => e instanceof errors.WebhookTimestampError && e.reason === "too_new",
    );
    assert.throws(() => new Webhook(SECRET_B).verify(cb.body, cb.headers), errors.WebhookSignatureError);
    assert.throws(() => new official.Webhook(SECRET_B).verify(cb.body.toString("utf8"), headers), official.WebhookVerificationError);
    assert.throws(() => ours.verify(JSON.parse(cb.body.toString("utf8")) as string, cb.headers), errors.WebhookRawBodyError);
    // A merchant rotating secrets accepts with either.
    assert.equal(new Webhook([SECRET_B, SECRET_A]).verify(cb.body, cb.headers).id, event.id);
  });

  test("events: list, retrieve, resend (same webhook-id delivered again)", async () => {
    const c = client();
    const types: string[] = [];
    for await (const e of c.events.list({ payment_id: pixPayment.id, limit: 1 })) types.push(e.type);
    assert.deepEqual(types.sort(), ["payment.pending", "payment.succeeded"]);
    const page = await c.events.list({ payment_id: pixPayment.id, type: "payment.succeeded" });
    assert.equal(page.data.length, 1);
    const evt = page.data[0];
    assert.ok(evt);
    const got = await c.events.retrieve(evt.id);
    assert.equal(got.id, evt.id);
    assert.equal(got.object, "event");
    assert.equal(got.data.id, pixPayment.id);
    const before = callbacks.filter((cb) => cb.headers["webhook-id"] === evt.id).length;
    const resent = await c.events.resend(evt.id);
    assert.equal(resent.lastResponse.status, 202);
    assert.equal(resent.id, evt.id);
    await waitFor("resent callback", () =>
      callbacks.filter((cb) => cb.headers["webhook-id"] === evt.id).length > before ? true : undefined,
    );
    const nf = await c.events.retrieve("evt_01AAAAAAAAAAAAAAAAAAAAAAAA").catch((e: unknown) => e);
    assert.ok(nf instanceof errors.NotFoundError);
  });

  describe("faults: one logical call = one key = one payment", () => {
    async function proxy(
      decide: (n: number) => "reset" | "forward-then-reset" | "503" | "forward",
    ): Promise<{ server: LocalServer; keys: string[] }> {
      const keys: string[] = [];
      let n = 0;
      const server = await startServer(async (req, res, body) => {
        keys.push(String(req.headers["idempotency-key"] ?? ""));
        const action = decide(n++);
        if (action === "reset") {
          req.socket.destroy();
        } else if (action === "forward-then-reset") {
          // The server processes the request, but its answer is lost on the way back.
          const upstream = await fetch(API + (req.url ?? "/"), {
            method: req.method ?? "POST",
            headers: {
              authorization: String(req.headers["authorization"]),
              "idempotency-key": String(req.headers["idempotency-key"]),
              "content-type": "application/json",
            },
            body,
          });
          await upstream.text();
          req.socket.destroy();
        } else if (action === "503") {
          res.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
          res.end(JSON.stringify({ error: { type: "internal", code: "dependency_unavailable", message: "store unavailable" } }));
        } else {
          await forward(API ?? "", req, res, body);
        }
      });
      return { server, keys };
    }

    for (const [name, first, replayed] of [
      ["reset before the server sees the request", "reset", false],
      ["reset after the server created the payment (answer lost)", "forward-then-reset", true],
      ["503 first", "503", false],
    ] as const) {
      test(name, async () => {
        const { server, keys } = await proxy((n) => (n === 0 ? first : "forward"));
        try {
          const ref = `sdk-node-fault-${first}-${RUN}`;
          const retries: number[] = [];
          const c = client(server.url, { onRetry: (i) => retries.push(i.retry) });
          const p = await c.payments.create(pix(ref));
          assert.equal(p.lastResponse.attempts, 2);
          assert.deepEqual(retries, [1]);
          assert.equal(p.lastResponse.replayed, replayed);
          assert.equal(keys.length, 2);
          assert.equal(keys[0], keys[1]);
          assert.equal(keys[0], p.lastResponse.idempotencyKey);
          const found = await countByReference(ref);
          assert.deepEqual(found.map((x) => x.id), [p.id]);
        } finally {
          await server.close();
        }
      });
    }

    test("a reset GET is retried too", async () => {
      const { server } = await proxy((n) => (n === 0 ? "reset" : "forward"));
      try {
        const got = await client(server.url).payments.retrieve(pixPayment.id);
        assert.equal(got.id, pixPayment.id);
        assert.equal(got.lastResponse.attempts, 2);
      } finally {
        await server.close();
      }
    });

    test("with retries off, the reset surfaces as a connection error carrying the key", async () => {
      const { server } = await proxy((n) => (n === 0 ? "reset" : "forward"));
      try {
        const ref = `sdk-node-fault-noretry-${RUN}`;
        const err = await client(server.url, { maxRetries: 0 }).payments.create(pix(ref)).catch((e: unknown) => e);
        assert.ok(err instanceof errors.APIConnectionError, String(err));
        assert.ok(err.idempotencyKey);
        // Retrying later with the key from the error finishes the same logical call.
        const p = await client(server.url).payments.create(pix(ref), { idempotencyKey: err.idempotencyKey });
        assert.equal((await countByReference(ref)).length, 1);
        assert.equal(p.reference, ref);
      } finally {
        await server.close();
      }
    });
  });
});
