/**
 * Type tests: checked by `tsc --strict` (ci.sh compiles the tests before running them). Each
 * `expectTypeOf` pins a type exactly; each `@ts-expect-error` line is a typo that must NOT
 * compile — if the SDK's types ever loosen so that it compiles, tsc reports the unused
 * directive and the build fails. The runtime test only proves the file was compiled and run.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { expectTypeOf } from "expect-type";
import {
  errors,
  type Attempt,
  type Currency,
  type Customer,
  type ErrorCode,
  type ErrorType,
  type Event,
  type EventType,
  type GatewayName,
  type GatewayStatus,
  type Orchestrator,
  type Payment,
  type PaymentCreateParams,
  type PaymentMethod,
  type PaymentStatus,
  type Refund,
  type Settings,
  type Usage,
  type UsageSeries,
  type WebhookEvent,
  type WebhookTest,
} from "../src/index.js";

// ----- closed unions -------------------------------------------------------------------------

expectTypeOf<PaymentStatus>().toEqualTypeOf<
  | "pending"
  | "requires_action"
  | "processing"
  | "succeeded"
  | "failed"
  | "canceled"
  | "expired"
  | "refunded"
  | "partially_refunded"
>();
expectTypeOf<PaymentMethod>().toEqualTypeOf<"pix" | "card" | "boleto">();
expectTypeOf<GatewayName>().toEqualTypeOf<"efi" | "stripe" | "asaas">();
expectTypeOf<Currency>().toEqualTypeOf<
  "BRL" | "USD" | "EUR" | "GBP" | "ARS" | "CLP" | "COP" | "MXN" | "PEN" | "UYU" | "JPY"
>();
expectTypeOf<Payment["status"]>().toEqualTypeOf<PaymentStatus>();
expectTypeOf<Payment["method"]>().toEqualTypeOf<PaymentMethod>();
expectTypeOf<Payment["currency"]>().toEqualTypeOf<Currency>();
expectTypeOf<Payment["gateway"]>().toEqualTypeOf<GatewayName | null>();
expectTypeOf<GatewayStatus["state"]>().toEqualTypeOf<"closed" | "open" | "half_open">();
expectTypeOf<Attempt["outcome"]>().toEqualTypeOf<
  "succeeded" | "declined" | "invalid" | "unavailable" | "ambiguous" | "misconfigured"
>();
expectTypeOf<Event["type"]>().toEqualTypeOf<EventType>();
expectTypeOf<WebhookEvent["type"]>().toEqualTypeOf<EventType | "webhook.test">();
expectTypeOf<ErrorType>().toEqualTypeOf<
  "invalid_request" | "authentication" | "idempotency" | "not_found" | "gateway" | "internal" | "rate_limited"
>();
expectTypeOf<errors.APIError["code"]>().toEqualTypeOf<ErrorCode | "unexpected_response" | null>();
expectTypeOf<"idempotency_key_in_use">().toMatchTypeOf<ErrorCode>();
expectTypeOf<Settings["callback_url"]>().toEqualTypeOf<string | null>();
expectTypeOf<WebhookTest["delivery"]["response_status"]>().toEqualTypeOf<number | null>();

// ----- params: required fields and typos ------------------------------------------------------

expectTypeOf<Customer["name"]>().toEqualTypeOf<string>();
// @ts-expect-error -- Customer.name is required (the server refuses a customer without one)
export const noName: Customer = { document: "52998224725" };
// @ts-expect-error -- not a currency the server accepts
export const badCurrency: PaymentCreateParams = { amount: 1, currency: "BRX", method: "pix" };
// @ts-expect-error -- currency is case-sensitive on the wire
export const lowerCurrency: PaymentCreateParams = { amount: 1, currency: "brl", method: "pix" };
// @ts-expect-error -- no such method
export const badMethod: PaymentCreateParams = { amount: 1, currency: "BRL", method: "ted" };
// @ts-expect-error -- gateways are closed: efi, stripe, asaas
export const badGateway: PaymentCreateParams = { amount: 1, currency: "BRL", method: "pix", gateway: "paypal" };
// @ts-expect-error -- a misspelled field is an error, not silently dropped
export const typoField: PaymentCreateParams = { amount: 1, currency: "BRL", method: "pix", refrence: "x" };
export const full: PaymentCreateParams = {
  amount: 1,
  currency: "BRL",
  method: "pix",
  customer: { name: "Maria" },
  expires_in: 600,
};

export async function params(c: Orchestrator): Promise<void> {
  // @ts-expect-error -- no such status to filter on
  await c.payments.list({ status: "paid" });
  // @ts-expect-error -- no such event type
  await c.events.list({ type: "payment.suceeded" });
  // @ts-expect-error -- the credentials body is checked per gateway: Stripe takes secret_key
  await c.gatewayCredentials.put("stripe", { api_key: "x" });
  await c.gatewayCredentials.put("asaas", { api_key: "x" });
  // @ts-expect-error -- granularity is "day" only
  await c.usage.retrieve({ granularity: "month" });
  await c.settings.update({ callback_url: null });

  // Usage narrows on `object`.
  const u = await c.usage.retrieve();
  if (u.object === "usage") expectTypeOf(u).toMatchTypeOf<Usage>();
  else expectTypeOf(u).toMatchTypeOf<UsageSeries>();
}

// ----- narrowing -----------------------------------------------------------------------------

export function narrowEvent(e: Event): string {
  if (e.type === "refund.succeeded" || e.type === "refund.failed") {
    expectTypeOf(e.data).toEqualTypeOf<Refund>();
    return e.data.payment_id;
  }
  expectTypeOf(e.data).toEqualTypeOf<Payment>();
  return e.data.status;
}

export function narrowCallback(e: WebhookEvent): string {
  if (e.type === "refund.succeeded") {
    expectTypeOf(e.data).toEqualTypeOf<Refund>();
    return e.data.object;
  } else if (e.type === "webhook.test") {
    expectTypeOf(e.data).toEqualTypeOf<Record<string, unknown>>();
    return "test";
  } else if (e.type === "payment.succeeded") {
    expectTypeOf(e.data).toEqualTypeOf<Payment>();
    return e.data.id;
  }
  // @ts-expect-error -- no such event type
  if (e.type === "payment.sucseeded") return "never";
  return e.type;
}

export function narrowError(err: unknown): string {
  if (err instanceof errors.APIError) {
    if (err.code === "idempotency_key_reused") return "reused";
    // @ts-expect-error -- a misspelled code has no overlap with ErrorCode
    if (err.code === "resource_mising") return "typo";
    // @ts-expect-error -- a misspelled type too
    if (err.type === "not_fuond") return "typo";
  }
  return "other";
}

test("the type tests compiled (they are checked by tsc, not at run time)", () => {
  assert.equal(typeof narrowEvent, "function");
});
