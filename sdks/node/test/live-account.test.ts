/**
 * Against a running dev server (`ORCH_API_URL`), skipped otherwise: every account operation of
 * the SDK on a tenant made for this run with the operator client (so rotating its secret or
 * revoking its keys touches no other test's tenant). The settings and test-event operations
 * need a server with `/v1/settings` and `/v1/webhook_endpoint/test` (issue 24).
 */
import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { after, before, describe, test } from "node:test";
import {
  ERROR_CODES,
  Operator,
  Orchestrator,
  Webhook,
  errors,
  type NewTenant,
  type PaymentCreateParams,
  type WebhookEvent,
} from "../src/index.js";
import { startServer, waitFor, type LocalServer } from "./helpers.js";

const API = process.env["ORCH_API_URL"]?.replace(/\/+$/, "");
const OPERATOR_KEY = process.env["ORCH_OPERATOR_KEY"] ?? "op_dev_0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

describe("account operations against the dev server", { skip: API ? false : "ORCH_API_URL is not set" }, () => {
  let operator: Operator;
  let tenant: NewTenant;
  let c: Orchestrator;
  let receiver: LocalServer;
  const received: Received[] = [];

  before(async () => {
    receiver = await startServer((req, res, body) => {
      received.push({ headers: req.headers, body });
      res.writeHead(204);
      res.end();
    });
    operator = new Operator({ apiKey: OPERATOR_KEY, baseUrl: API ?? "" });
    tenant = await operator.tenants.create({ name: `node-sdk ${RUN}`, callback_url: `${receiver.url}/hooks` });
    c = new Orchestrator({ apiKey: tenant.test_api_key.key, baseUrl: API ?? "", initialRetryDelayMs: 50 });
  });

  after(async () => {
    await receiver?.close();
  });

  test("operator: the new tenant's keys and secret, listed, renamed", async () => {
    assert.equal(tenant.object, "tenant");
    assert.match(tenant.test_api_key.key, /^sk_test_/);
    assert.match(tenant.api_key.key, /^sk_live_/);
    assert.match(tenant.callback_secret, /^whsec_/);
    const list = await operator.tenants.list();
    assert.ok(list.data.some((t) => t.id === tenant.id));
    const renamed = await operator.tenants.update(tenant.id, { name: `node-sdk renamed ${RUN}`, rate_limit_per_minute: 1000 });
    assert.equal(renamed.name, `node-sdk renamed ${RUN}`);
    assert.equal(renamed.rate_limit_per_minute, 1000);
    const asTenant = await c.payments.list().catch((e: unknown) => e);
    assert.ok(!(asTenant instanceof Error), String(asTenant));
    const tenantKeyOnAdmin = await new Operator({ apiKey: tenant.test_api_key.key, baseUrl: API ?? "" }).tenants
      .list()
      .catch((e: unknown) => e);
    assert.ok(tenantKeyOnAdmin instanceof errors.AuthenticationError, String(tenantKeyOnAdmin));
  });

  test("payments: expires_in on a Pix, cancel, cancel again answers it as it is", async () => {
    const p = await c.payments.create({
      amount: 2500,
      currency: "BRL",
      method: "pix",
      expires_in: 600,
      customer: { name: "Maria Souza", document: "52998224725" },
      reference: `cancel-${RUN}`,
    });
    assert.equal(p.status, "pending");
    assert.ok(p.pix?.expires_at, JSON.stringify(p.pix));
    const canceled = await c.payments.cancel(p.id);
    assert.equal(canceled.status, "canceled");
    assert.ok(canceled.lastResponse.idempotencyKey);
    const again = await c.payments.cancel(p.id);
    assert.equal(again.status, "canceled");
    const events = await c.events.list({ payment_id: p.id, type: "payment.canceled" });
    assert.equal(events.data.length, 1);
    const notLate = await c.payments.list({ reference: `cancel-${RUN}`, late_payment: false });
    assert.deepEqual(notLate.data.map((x) => x.id), [p.id]);
    const bad = await c.payments
      .create({ amount: 1, currency: "BRL", method: "card", expires_in: 600, card: { tokens: { stripe: "pm_card_visa" } } })
      .catch((e: unknown) => e);
    assert.ok(bad instanceof errors.InvalidRequestError, String(bad));
    assert.equal(bad.param, "expires_in");
  });

  test("usage: a month, and a daily series", async () => {
    const month = await c.usage.retrieve();
    assert.equal(month.object, "usage");
    assert.equal(month.livemode, false);
    if (month.object === "usage") assert.ok(month.payments.total >= 1);
    const today = new Date().toISOString().slice(0, 10);
    const series = await c.usage.retrieve({ from: today, to: today, granularity: "day" });
    assert.equal(series.object, "usage_series");
    if (series.object === "usage_series") assert.equal(series.data.length, 1);
  });

  test("API keys: create, list, use, revoke (then refused)", async () => {
    const key = await c.apiKeys.create({ mode: "test", expires_in_days: 1 });
    assert.match(key.key, /^sk_test_/);
    assert.equal(key.mode, "test");
    const listed = await c.apiKeys.list();
    const mine = listed.data.find((k) => k.id === key.id);
    assert.ok(mine, JSON.stringify(listed.data));
    assert.equal(mine.current, false);
    assert.ok(listed.data.some((k) => k.current));
    const other = new Orchestrator({ apiKey: key.key, baseUrl: API ?? "" });
    await other.payments.list({ limit: 1 });
    const revoked = await c.apiKeys.revoke(key.id);
    assert.deepEqual({ ...revoked }, { id: key.id, object: "api_key", deleted: true });
    const refused = await other.payments.list({ limit: 1 }).catch((e: unknown) => e);
    assert.ok(refused instanceof errors.AuthenticationError, String(refused));
    const liveFromTest = await c.apiKeys.create({ mode: "live" }).catch((e: unknown) => e);
    assert.ok(liveFromTest instanceof errors.InvalidRequestError);
    assert.equal(liveFromTest.code, "livemode_required");
  });

  test("callback secrets: list, rotate with a live key (shown once), both in use", async () => {
    const before = await c.webhookSecrets.list();
    assert.equal(before.object, "webhook_secrets");
    assert.equal(before.data.filter((s) => s.current).length, 1);
    // The secret signs live callbacks too: a test key may read it, not rotate it.
    const refused = await c.webhookSecrets.rotate({ grace_hours: 1 }).catch((e: unknown) => e);
    assert.ok(refused instanceof errors.InvalidRequestError, String(refused));
    assert.equal(refused.code, "livemode_required");
    const live = new Orchestrator({ apiKey: tenant.api_key.key, baseUrl: API ?? "" });
    const rotated = await live.webhookSecrets.rotate({ grace_hours: 1 });
    assert.match(rotated.secret, /^whsec_/);
    assert.equal(rotated.data.length, before.data.length + 1);
    assert.ok(rotated.data.some((s) => !s.current && s.expires_at !== null));
    tenant.callback_secret = rotated.secret;
  });

  test("audit: the changes above are listed, newest first", async () => {
    const audit = await c.audit.list({ limit: 50 });
    assert.equal(audit.object, "list");
    assert.ok(audit.data.length >= 2, JSON.stringify(audit.data.map((e) => e.action)));
    assert.ok(audit.data.every((e) => e.object === "audit_entry" && e.livemode === false));
  });

  test("gateway credentials: a test key is refused; a live key finds none registered", async () => {
    for (const call of [
      () => c.gatewayCredentials.retrieve("stripe"),
      () => c.gatewayCredentials.put("stripe", { secret_key: "sk_test_nope" }),
      () => c.gatewayCredentials.delete("stripe"),
      () => c.gatewayCredentials.verify("stripe"),
    ]) {
      const err = await call().catch((e: unknown) => e);
      assert.ok(err instanceof errors.InvalidRequestError, String(err));
      assert.equal(err.code, "livemode_required");
    }
    const live = new Orchestrator({ apiKey: tenant.api_key.key, baseUrl: API ?? "" });
    const none = await live.gatewayCredentials.retrieve("asaas").catch((e: unknown) => e);
    assert.ok(none instanceof errors.NotFoundError, String(none));
  });

  test("reconciliation: a run (a simulator cannot list: failed, with its error), listed, read by id", async () => {
    const batch = await c.reconciliation.runs.create({ gateway: "stripe" });
    assert.equal(batch.object, "list");
    const run = batch.data[0];
    assert.ok(run, JSON.stringify(batch));
    assert.equal(run.object, "reconciliation_run");
    assert.equal(run.trigger, "api");
    assert.ok(["completed", "partial", "failed"].includes(run.status));
    const runs = await c.reconciliation.runs.list({ limit: 5 });
    assert.ok(runs.data.some((r) => r.id === run.id));
    const one = await c.reconciliation.runs.retrieve(run.id);
    assert.equal(one.id, run.id);
    const missing = await c.reconciliation.runs.retrieve("recon_nope").catch((e: unknown) => e);
    assert.ok(missing instanceof errors.NotFoundError, String(missing));
  });

  test("webhook endpoint: retrieve, enable", async () => {
    const ep = await c.webhookEndpoint.retrieve();
    assert.equal(ep.object, "webhook_endpoint");
    assert.equal(ep.url, `${receiver.url}/hooks`);
    const enabled = await c.webhookEndpoint.enable();
    assert.equal(enabled.state, "healthy");
    assert.equal(typeof enabled.resent, "number");
    assert.equal(enabled.more_backlog, false);
    const own = await c.webhookEndpoint.retrieve({ url: `${receiver.url}/own` });
    assert.equal(own.url, `${receiver.url}/own`);
  });

  test("unmatched gateway webhooks: a list", async () => {
    const page = await c.unmatchedWebhooks.list({ limit: 5 });
    assert.ok(Array.isArray(page.data));
  });

  // Issue 24: the server's codes are the spec's enum, and each field error names its field.
  test("validation errors: a code of the SDK's union and the field named, for each kind of problem", async () => {
    const cases: Array<[string, () => Promise<unknown>]> = [
      ["amount", () => c.payments.create({ amount: 0, currency: "BRL", method: "pix" })],
      ["limit", () => c.payments.list({ limit: 500 })],
      ["refrence", () => c.payments.create({ amount: 1, currency: "BRL", method: "pix", ...({ refrence: "x" } as object) })],
      ["currency", () => c.payments.create({ amount: 1, method: "pix" } as unknown as PaymentCreateParams)],
      ["amount", () => c.payments.create({ amount: "12" as unknown as number, currency: "BRL", method: "pix" })],
    ];
    for (const [param, call] of cases) {
      const err = await call().catch((e: unknown) => e);
      assert.ok(err instanceof errors.InvalidRequestError, `${param}: ${String(err)}`);
      assert.equal(err.param, param, `${param}: ${err.message}`);
      assert.ok((ERROR_CODES as readonly string[]).includes(err.code ?? ""), `${param}: ${String(err.code)} is not in ErrorCode`);
    }
  });

  // Issue 24: needs GET/PATCH /v1/settings and POST /v1/webhook_endpoint/test on the server.
  test("settings: read (either mode), change the callback URL (live key), refuse a bad one, clear it", async () => {
    const s = await c.settings.retrieve();
    assert.equal(s.object, "settings");
    assert.equal(s.tenant_id, tenant.id);
    assert.equal(s.livemode, false);
    assert.equal(s.callback_url, `${receiver.url}/hooks`);
    // One callback URL serves both modes: a test key may read it, not change it.
    const fromTest = await c.settings.update({ callback_url: `${receiver.url}/hooks2` }).catch((e: unknown) => e);
    assert.ok(fromTest instanceof errors.InvalidRequestError, String(fromTest));
    assert.equal(fromTest.code, "livemode_required");
    const live = new Orchestrator({ apiKey: tenant.api_key.key, baseUrl: API ?? "" });
    assert.equal((await live.settings.retrieve()).livemode, true);
    const changed = await live.settings.update({ callback_url: `${receiver.url}/hooks2` });
    assert.equal(changed.callback_url, `${receiver.url}/hooks2`);
    const bad = await live.settings.update({ callback_url: "ftp://nope" }).catch((e: unknown) => e);
    assert.ok(bad instanceof errors.InvalidRequestError, String(bad));
    assert.equal(bad.code, "invalid_callback_url");
    assert.equal(bad.param, "callback_url");
    assert.equal((await c.settings.retrieve()).callback_url, `${receiver.url}/hooks2`);
    const cleared = await live.settings.update({ callback_url: null });
    assert.equal(cleared.callback_url, null);
    const none = await c.webhookEndpoint.test().catch((e: unknown) => e);
    assert.ok(none instanceof errors.InvalidRequestError, String(none));
    assert.equal(none.code, "no_callback_url");
    await live.settings.update({ callback_url: `${receiver.url}/hooks` });
    const audit = await live.audit.list({ limit: 20 });
    assert.ok(audit.data.some((e) => e.action === "settings.callback_url"), JSON.stringify(audit.data.map((e) => e.action)));
  });

  test("test event: sent once, signed with the tenant's secret, verified by the SDK", async () => {
    const from = received.length;
    const res = await c.webhookEndpoint.test();
    assert.equal(res.object, "webhook_test");
    assert.equal(res.event.type, "webhook.test");
    assert.equal(res.delivery.delivered, true, JSON.stringify(res.delivery));
    assert.equal(res.delivery.response_status, 204);
    const got = await waitFor("the test callback", () => received.slice(from).find((r) => r.headers["webhook-id"] === res.event.id));
    const event: WebhookEvent = new Webhook(tenant.callback_secret).verify(got.body, got.headers);
    assert.equal(event.type, "webhook.test");
    assert.equal(event.id, res.event.id);
    const stored = await c.events.retrieve(res.event.id).catch((e: unknown) => e);
    assert.ok(stored instanceof errors.NotFoundError, "a test event is not stored");
  });
});
