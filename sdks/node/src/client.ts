import {
  attachMeta,
  HttpCore,
  type CoreOptions,
  type FetchLike,
  type QueryValue,
  type RequestOptions,
  type RetryInfo,
  type WithResponse,
} from "./core.js";
import { Page, PagePromise } from "./pagination.js";
import type {
  Event,
  EventListParams,
  GatewayList,
  ListEnvelope,
  Payment,
  PaymentCreateParams,
  PaymentListParams,
  Refund,
  RefundCreateParams,
  Routing,
  RoutingUpdateParams,
  UnmatchedWebhook,
  UnmatchedWebhookListParams,
} from "./types.js";

export interface OrchestratorOptions {
  /** API key (`sk_…`). Default: env `ORCHESTRATOR_API_KEY`. Never logged or shown by inspect. */
  apiKey?: string;
  /** e.g. `https://payments.example.com` or `http://127.0.0.1:8080`. Default: env `ORCHESTRATOR_BASE_URL`. */
  baseUrl?: string;
  /** Retries after the first attempt (default 2). */
  maxRetries?: number;
  /**
   * Per-attempt timeout in ms (default 30 000), covering connecting, waiting and reading the
   * body. Connect timeout: fetch has no separate setting; Node's fetch gives up connecting after
   * 10 s. For 5 s, pass a `fetch` bound to an undici `Agent({ connect: { timeout: 5000 } })`.
   */
  timeoutMs?: number;
  /** Overall budget of one call in ms (attempts and waits), default none. */
  deadlineMs?: number;
  /** A fetch implementation (default: the global `fetch`). */
  fetch?: FetchLike;
  /** Called before each retry (attempt number, delay, error, idempotency key). */
  onRetry?: (info: RetryInfo) => void;
  /** First backoff delay in ms (default 500); doubles per retry up to `maxRetryDelayMs`. */
  initialRetryDelayMs?: number;
  /** Backoff cap in ms (default 8 000). */
  maxRetryDelayMs?: number;
  /** Longest `Retry-After` honoured, in ms (default 60 000); a longer one ends the retries. */
  maxRetryAfterMs?: number;
  /** Headers added to every request. */
  defaultHeaders?: Record<string, string>;
}

function encodeId(kind: string, id: string): string {
  if (typeof id !== "string" || id.length === 0) {
    throw new TypeError(`${kind} id must be a non-empty string`);
  }
  return encodeURIComponent(id);
}

function asQuery(params: object | undefined): Record<string, QueryValue> | undefined {
  return params as Record<string, QueryValue> | undefined;
}

async function one<T extends object>(
  core: HttpCore,
  spec: Parameters<HttpCore["request"]>[0],
): Promise<WithResponse<T>> {
  const { data, meta } = await core.request<T>(spec);
  return attachMeta(data, meta);
}

function listOf<T>(
  core: HttpCore,
  path: string,
  params: Record<string, QueryValue> | undefined,
  options: RequestOptions | undefined,
): PagePromise<T> {
  const fetchPage = async (cursor: string | undefined): Promise<Page<T>> => {
    const query = { ...(params ?? {}) };
    if (cursor !== undefined) query["starting_after"] = cursor;
    const { data, meta } = await core.request<ListEnvelope<T>>({ method: "GET", path, query, options });
    return new Page<T>(data, meta, (next) => fetchPage(next));
  };
  return new PagePromise<T>(() => fetchPage(undefined));
}

/** `client.payments` */
export class Payments {
  readonly #core: HttpCore;
  constructor(core: HttpCore) {
    this.#core = core;
  }

  /**
   * Creates a payment (`POST /v1/payments`). Answers 201 with the payment whenever a payment
   * record exists, including a declined card (`status: "failed"`). Without
   * `options.idempotencyKey` a UUIDv4 is generated and reused on every retry.
   */
  async create(params: PaymentCreateParams, options?: RequestOptions): Promise<WithResponse<Payment>> {
    return one<Payment>(this.#core, { method: "POST", path: "/v1/payments", body: params, options });
  }

  /** `GET /v1/payments/{id}` */
  async retrieve(id: string, options?: RequestOptions): Promise<WithResponse<Payment>> {
    return one<Payment>(this.#core, {
      method: "GET",
      path: `/v1/payments/${encodeId("payment", id)}`,
      options,
    });
  }

  /** Re-syncs a payment from its gateway (`GET /v1/payments/{id}?refresh=true`); reads only. */
  async refresh(id: string, options?: RequestOptions): Promise<WithResponse<Payment>> {
    return one<Payment>(this.#core, {
      method: "GET",
      path: `/v1/payments/${encodeId("payment", id)}`,
      query: { refresh: "true" },
      options,
    });
  }

  /**
   * Lists payments newest first. `await` for the first page, or `for await` to walk every
   * payment across pages (`limit` is the page size).
   */
  list(params?: PaymentListParams, options?: RequestOptions): PagePromise<Payment> {
    return listOf<Payment>(this.#core, "/v1/payments", asQuery(params), options);
  }
}

/** `client.refunds` */
export class Refunds {
  readonly #core: HttpCore;
  constructor(core: HttpCore) {
    this.#core = core;
  }

  /** Refunds `amount` (default: everything left) of a payment. Answers the refund with the payment embedded. */
  async create(
    paymentId: string,
    params: RefundCreateParams = {},
    options?: RequestOptions,
  ): Promise<WithResponse<Refund>> {
    return one<Refund>(this.#core, {
      method: "POST",
      path: `/v1/payments/${encodeId("payment", paymentId)}/refunds`,
      body: params,
      options,
    });
  }
}

/** `client.routing` */
export class RoutingResource {
  readonly #core: HttpCore;
  constructor(core: HttpCore) {
    this.#core = core;
  }

  /** Replaces the gateway order of the methods given (`PUT /v1/routing`); answers the whole routing. */
  async update(routing: RoutingUpdateParams, options?: RequestOptions): Promise<WithResponse<Routing>> {
    return one<Routing>(this.#core, { method: "PUT", path: "/v1/routing", body: routing, options });
  }
}

/** `client.gateways` */
export class Gateways {
  readonly #core: HttpCore;
  constructor(core: HttpCore) {
    this.#core = core;
  }

  /** Breaker state, failure rate and routing priority of each gateway (`GET /v1/gateways`). */
  async list(options?: RequestOptions): Promise<WithResponse<GatewayList>> {
    return one<GatewayList>(this.#core, { method: "GET", path: "/v1/gateways", options });
  }
}

/** `client.events` */
export class Events {
  readonly #core: HttpCore;
  constructor(core: HttpCore) {
    this.#core = core;
  }

  /** Lists events newest first (filters `type`, `payment_id`); iterable across pages. */
  list(params?: EventListParams, options?: RequestOptions): PagePromise<Event> {
    return listOf<Event>(this.#core, "/v1/events", asQuery(params), options);
  }

  /** One event with its delivery log. */
  async retrieve(id: string, options?: RequestOptions): Promise<WithResponse<Event>> {
    return one<Event>(this.#core, { method: "GET", path: `/v1/events/${encodeId("event", id)}`, options });
  }

  /** Queues the event for delivery again (same `webhook-id` and body); answers the event (202). */
  async resend(id: string, options?: RequestOptions): Promise<WithResponse<Event>> {
    return one<Event>(this.#core, {
      method: "POST",
      path: `/v1/events/${encodeId("event", id)}/resend`,
      options,
    });
  }
}

/** `client.unmatchedWebhooks` */
export class UnmatchedWebhooks {
  readonly #core: HttpCore;
  constructor(core: HttpCore) {
    this.#core = core;
  }

  /** Gateway webhooks that matched no payment, newest first (`GET /v1/webhooks/unmatched`). */
  list(params?: UnmatchedWebhookListParams, options?: RequestOptions): PagePromise<UnmatchedWebhook> {
    return listOf<UnmatchedWebhook>(this.#core, "/v1/webhooks/unmatched", asQuery(params), options);
  }
}

function env(name: string): string | undefined {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const v = proc?.env?.[name];
  return v ? v : undefined;
}

/**
 * The payment orchestrator client.
 *
 * ```ts
 * const client = new Orchestrator({ apiKey: process.env.ORCHESTRATOR_API_KEY, baseUrl: "https://…" });
 * const payment = await client.payments.create({ amount: 1990, currency: "BRL", method: "pix" });
 * payment.lastResponse.idempotencyKey; // the key sent (generated when not given)
 * ```
 */
export class Orchestrator {
  readonly payments: Payments;
  readonly refunds: Refunds;
  readonly routing: RoutingResource;
  readonly gateways: Gateways;
  readonly events: Events;
  readonly unmatchedWebhooks: UnmatchedWebhooks;
  readonly baseUrl: string;
  readonly #core: HttpCore;

  constructor(options: OrchestratorOptions = {}) {
    const apiKey = options.apiKey ?? env("ORCHESTRATOR_API_KEY");
    const baseUrl = options.baseUrl ?? env("ORCHESTRATOR_BASE_URL");
    if (typeof apiKey !== "string" || apiKey.trim() === "") {
      throw new TypeError("apiKey is required (option `apiKey` or env ORCHESTRATOR_API_KEY)");
    }
    if (/[\r\n]/.test(apiKey)) throw new TypeError("apiKey must not contain line breaks");
    if (typeof baseUrl !== "string" || !/^https?:\/\//i.test(baseUrl)) {
      throw new TypeError(
        "baseUrl is required and must start with http:// or https:// (option `baseUrl` or env ORCHESTRATOR_BASE_URL)",
      );
    }
    const coreOptions: CoreOptions = { ...options, apiKey, baseUrl };
    this.#core = new HttpCore(coreOptions);
    this.baseUrl = this.#core.baseUrl;
    this.payments = new Payments(this.#core);
    this.refunds = new Refunds(this.#core);
    this.routing = new RoutingResource(this.#core);
    this.gateways = new Gateways(this.#core);
    this.events = new Events(this.#core);
    this.unmatchedWebhooks = new UnmatchedWebhooks(this.#core);
  }

  /** Settings in force (the API key is never included). */
  get settings(): {
    baseUrl: string;
    maxRetries: number;
    timeoutMs: number;
    deadlineMs: number | undefined;
  } {
    return {
      baseUrl: this.#core.baseUrl,
      maxRetries: this.#core.maxRetries,
      timeoutMs: this.#core.timeoutMs,
      deadlineMs: this.#core.deadlineMs,
    };
  }

  toJSON(): Record<string, unknown> {
    return { ...this.settings, apiKey: "[redacted]" };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const s = this.settings;
    return `Orchestrator { baseUrl: '${s.baseUrl}', apiKey: '[redacted]', maxRetries: ${s.maxRetries}, timeoutMs: ${s.timeoutMs} }`;
  }
}
