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
import { OPERATIONS, pathOf, type OperationId } from "./operations.js";
import type {
  ApiKeyCreateParams,
  ApiKeyListed,
  ApiKeyRevoked,
  AuditEntry,
  AuditListParams,
  CredentialsVerification,
  Event,
  EventListParams,
  GatewayCredentials,
  GatewayCredentialsDeleted,
  GatewayCredentialsInputs,
  GatewayList,
  GatewayName,
  ListEnvelope,
  NewApiKey,
  NewTenant,
  Payment,
  PaymentCreateParams,
  PaymentListParams,
  ReconciliationRun,
  ReconciliationRunBatch,
  ReconciliationRunCreateParams,
  ReconciliationRunListParams,
  Refund,
  RefundCreateParams,
  Routing,
  RoutingUpdateParams,
  Settings,
  SettingsUpdateParams,
  SimpleList,
  Tenant,
  TenantCreateParams,
  TenantUpdateParams,
  UnmatchedWebhook,
  UnmatchedWebhookListParams,
  Usage,
  UsageParams,
  UsageSeries,
  WebhookEndpoint,
  WebhookEndpointEnableParams,
  WebhookEndpointEnabled,
  WebhookEndpointParams,
  WebhookSecretRotateParams,
  WebhookSecretRotated,
  WebhookSecrets,
  WebhookTest,
} from "./types.js";

export interface OrchestratorOptions {
  /** API key (`sk_…`). Default: env `ORCHESTRATOR_API_KEY`. Never logged or shown by inspect. */
  apiKey?: string;
  /**
   * e.g. `https://payments.example.com`. Default: env `ORCHESTRATOR_BASE_URL`, else
   * `http://127.0.0.1:8080` (the dev server), as in the Python SDK.
   */
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

/** The dev server's address: the base URL when neither the option nor the env var gives one. */
export const DEFAULT_BASE_URL = "http://127.0.0.1:8080";

type Spec = Parameters<HttpCore["request"]>[0];

/** One request of the operation `id`, with method and path from the {@link OPERATIONS} table. */
function call(
  id: OperationId,
  pathParams: Record<string, string>,
  rest: Omit<Spec, "method" | "path">,
): Spec {
  return { method: OPERATIONS[id].method, path: pathOf(id, pathParams), ...rest };
}

function asQuery(params: object | undefined): Record<string, QueryValue> | undefined {
  return params as Record<string, QueryValue> | undefined;
}

async function one<T extends object>(core: HttpCore, spec: Spec): Promise<WithResponse<T>> {
  const { data, meta } = await core.request<T>(spec);
  return attachMeta(data, meta);
}

function listOf<T>(
  core: HttpCore,
  id: OperationId,
  params: Record<string, QueryValue> | undefined,
  options: RequestOptions | undefined,
): PagePromise<T> {
  const fetchPage = async (cursor: string | undefined): Promise<Page<T>> => {
    const query = { ...(params ?? {}) };
    if (cursor !== undefined) query["starting_after"] = cursor;
    const { data, meta } = await core.request<ListEnvelope<T>>(call(id, {}, { query, options }));
    return new Page<T>(data, meta, (next) => fetchPage(next));
  };
  return new PagePromise<T>(() => fetchPage(undefined));
}

/** Shared by every resource: the request machinery, kept private. */
abstract class Resource {
  protected readonly core: HttpCore;
  constructor(core: HttpCore) {
    this.core = core;
  }
  /** Resources print as their name only: the core (and its key) never shows. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.constructor.name;
  }
  toJSON(): string {
    return this.constructor.name;
  }
}

/** `client.payments` */
export class Payments extends Resource {
  /**
   * Creates a payment (`POST /v1/payments`). Answers 201 with the payment whenever a payment
   * record exists, including a declined card (`status: "failed"`). Without
   * `options.idempotencyKey` a UUIDv4 is generated and reused on every retry.
   */
  async create(params: PaymentCreateParams, options?: RequestOptions): Promise<WithResponse<Payment>> {
    return one<Payment>(this.core, call("createPayment", {}, { body: params, options }));
  }

  /** `GET /v1/payments/{id}` */
  async retrieve(id: string, options?: RequestOptions): Promise<WithResponse<Payment>> {
    return one<Payment>(this.core, call("getPayment", { id }, { options }));
  }

  /**
   * Retrieves a payment with its customer (`?expand=customer`: name, email, the document masked
   * to its ends); the plain `retrieve` carries no personal data.
   */
  async retrieveWithCustomer(id: string, options?: RequestOptions): Promise<WithResponse<Payment>> {
    return one<Payment>(this.core, call("getPayment", { id }, { query: { expand: "customer" }, options }));
  }

  /** Re-syncs a payment from its gateway (`GET /v1/payments/{id}?refresh=true`); reads only. */
  async refresh(id: string, options?: RequestOptions): Promise<WithResponse<Payment>> {
    return one<Payment>(this.core, call("getPayment", { id }, { query: { refresh: "true" }, options }));
  }

  /**
   * Lists payments newest first. `await` for the first page, or `for await` to walk every
   * payment across pages (`limit` is the page size).
   */
  list(params?: PaymentListParams, options?: RequestOptions): PagePromise<Payment> {
    return listOf<Payment>(this.core, "listPayments", asQuery(params), options);
  }

  /**
   * Cancels a `pending` Pix or boleto, or a `requires_action` card, at its gateway
   * (`POST /v1/payments/{id}/cancel`). A payment canceled already is answered as it is; any
   * other status is an `InvalidStateError`. Idempotent like every POST.
   */
  async cancel(id: string, options?: RequestOptions): Promise<WithResponse<Payment>> {
    return one<Payment>(this.core, call("cancelPayment", { id }, { body: {}, options }));
  }
}

/** `client.refunds` */
export class Refunds extends Resource {
  /** Refunds `amount` (default: everything left) of a payment. Answers the refund with the payment embedded. */
  async create(
    paymentId: string,
    params: RefundCreateParams = {},
    options?: RequestOptions,
  ): Promise<WithResponse<Refund>> {
    return one<Refund>(this.core, call("createRefund", { id: paymentId }, { body: params, options }));
  }
}

/** `client.routing` */
export class RoutingResource extends Resource {
  /** Replaces the gateway order of the methods given (`PUT /v1/routing`); answers the whole routing. */
  async update(routing: RoutingUpdateParams, options?: RequestOptions): Promise<WithResponse<Routing>> {
    return one<Routing>(this.core, call("updateRouting", {}, { body: routing, options }));
  }
}

/** `client.gateways` */
export class Gateways extends Resource {
  /** Breaker state, failure rate and routing priority of each gateway (`GET /v1/gateways`). */
  async list(options?: RequestOptions): Promise<WithResponse<GatewayList>> {
    return one<GatewayList>(this.core, call("listGateways", {}, { options }));
  }
}

/**
 * `client.gatewayCredentials`: the live-mode credentials of each gateway (a test key gets 400
 * `livemode_required`). Answers show masked values only.
 */
export class GatewayCredentialsResource extends Resource {
  /** Registers or rotates the credentials of `gateway`; the body is checked per gateway. */
  async put<G extends GatewayName>(
    gateway: G,
    credentials: GatewayCredentialsInputs[G],
    options?: RequestOptions,
  ): Promise<WithResponse<GatewayCredentials>> {
    return one<GatewayCredentials>(
      this.core,
      call("putGatewayCredentials", { gateway }, { body: credentials, options }),
    );
  }

  /** The registered credentials, masked (`NotFoundError` when none). */
  async retrieve(gateway: GatewayName, options?: RequestOptions): Promise<WithResponse<GatewayCredentials>> {
    return one<GatewayCredentials>(this.core, call("getGatewayCredentials", { gateway }, { options }));
  }

  /** Removes the credentials: the gateway leaves the tenant's live gateways. */
  async delete(gateway: GatewayName, options?: RequestOptions): Promise<WithResponse<GatewayCredentialsDeleted>> {
    return one<GatewayCredentialsDeleted>(this.core, call("deleteGatewayCredentials", { gateway }, { options }));
  }

  /** One harmless authenticated call to the gateway; `ok: false` carries the classified error. */
  async verify(gateway: GatewayName, options?: RequestOptions): Promise<WithResponse<CredentialsVerification>> {
    return one<CredentialsVerification>(this.core, call("verifyGatewayCredentials", { gateway }, { options }));
  }
}

/** `client.events` */
export class Events extends Resource {
  /** Lists events newest first (filters `type`, `payment_id`); iterable across pages. */
  list(params?: EventListParams, options?: RequestOptions): PagePromise<Event> {
    return listOf<Event>(this.core, "listEvents", asQuery(params), options);
  }

  /** One event with its delivery log. */
  async retrieve(id: string, options?: RequestOptions): Promise<WithResponse<Event>> {
    return one<Event>(this.core, call("getEvent", { id }, { options }));
  }

  /** Queues the event for delivery again (same `webhook-id` and body); answers the event (202). */
  async resend(id: string, options?: RequestOptions): Promise<WithResponse<Event>> {
    return one<Event>(this.core, call("resendEvent", { id }, { options }));
  }
}

/** `client.unmatchedWebhooks` */
export class UnmatchedWebhooks extends Resource {
  /** Gateway webhooks that matched no payment, newest first (`GET /v1/webhooks/unmatched`). */
  list(params?: UnmatchedWebhookListParams, options?: RequestOptions): PagePromise<UnmatchedWebhook> {
    return listOf<UnmatchedWebhook>(this.core, "listUnmatchedWebhooks", asQuery(params), options);
  }
}

/** `client.usage` */
export class UsageResource extends Resource {
  /**
   * The usage of a UTC month (`{ month: "2026-01" }`, default the current one), or a daily
   * series (`{ from, to, granularity: "day" }`, at most 92 days). Narrow on `object`.
   */
  async retrieve(params?: UsageParams, options?: RequestOptions): Promise<WithResponse<Usage | UsageSeries>> {
    return one<Usage | UsageSeries>(this.core, call("getUsage", {}, { query: asQuery(params), options }));
  }
}

/** `client.apiKeys` */
export class ApiKeys extends Resource {
  /** A new key, shown once in `key` (rotate by overlapping keys, then revoke the old one). */
  async create(params: ApiKeyCreateParams = {}, options?: RequestOptions): Promise<WithResponse<NewApiKey>> {
    return one<NewApiKey>(this.core, call("createApiKey", {}, { body: params, options }));
  }

  /** The active keys: prefix, last 4, dates, last use; never the key. */
  async list(options?: RequestOptions): Promise<WithResponse<SimpleList<ApiKeyListed>>> {
    return one<SimpleList<ApiKeyListed>>(this.core, call("listApiKeys", {}, { options }));
  }

  /** Revokes a key (at once on the serving instance, elsewhere within 60 s). */
  async revoke(id: string, options?: RequestOptions): Promise<WithResponse<ApiKeyRevoked>> {
    return one<ApiKeyRevoked>(this.core, call("revokeApiKey", { id }, { options }));
  }
}

/** `client.webhookSecrets`: the secrets that sign your callbacks. */
export class WebhookSecretsResource extends Resource {
  /** The secrets in use, masked, current first. */
  async list(options?: RequestOptions): Promise<WithResponse<WebhookSecrets>> {
    return one<WebhookSecrets>(this.core, call("listWebhookSecrets", {}, { options }));
  }

  /**
   * A new secret, shown once in `secret`; the old ones keep signing for `grace_hours`
   * (default 24). Verify with `new Webhook([newSecret, oldSecret])` meanwhile.
   */
  async rotate(params: WebhookSecretRotateParams = {}, options?: RequestOptions): Promise<WithResponse<WebhookSecretRotated>> {
    return one<WebhookSecretRotated>(this.core, call("rotateWebhookSecret", {}, { body: params, options }));
  }
}

/** `client.webhookEndpoint`: your callback endpoint as the delivery worker sees it. */
export class WebhookEndpointResource extends Resource {
  /** Healthy, failing since when, or disabled (`url`: a payment's own callback URL). */
  async retrieve(params?: WebhookEndpointParams, options?: RequestOptions): Promise<WithResponse<WebhookEndpoint>> {
    return one<WebhookEndpoint>(this.core, call("getWebhookEndpoint", {}, { query: asQuery(params), options }));
  }

  /**
   * Marks the endpoint healthy and resends its backlog; when `more_backlog`, call again with
   * `starting_after: next_cursor`.
   */
  async enable(params?: WebhookEndpointEnableParams, options?: RequestOptions): Promise<WithResponse<WebhookEndpointEnabled>> {
    return one<WebhookEndpointEnabled>(
      this.core,
      call("enableWebhookEndpoint", {}, { query: asQuery(params), options }),
    );
  }

  /**
   * Sends one signed `webhook.test` event to the account's callback URL now and tells how it
   * went (`delivery.delivered`, `response_status`, `error`). Touches no payment; 422
   * `no_callback_url` when the account has none.
   */
  async test(options?: RequestOptions): Promise<WithResponse<WebhookTest>> {
    return one<WebhookTest>(this.core, call("sendTestWebhook", {}, { body: {}, options }));
  }
}

/** `client.settings`: the account settings a tenant key can read and change. */
export class SettingsResource extends Resource {
  /** Tenant id, name, the key's mode (`livemode`) and the callback URL. */
  async retrieve(options?: RequestOptions): Promise<WithResponse<Settings>> {
    return one<Settings>(this.core, call("getSettings", {}, { options }));
  }

  /** Changes the callback URL (`null` removes it); recorded in the audit log. */
  async update(params: SettingsUpdateParams, options?: RequestOptions): Promise<WithResponse<Settings>> {
    return one<Settings>(this.core, call("updateSettings", {}, { body: params, options }));
  }
}

/** `client.audit` */
export class Audit extends Resource {
  /** Configuration changes (routing, keys, secrets, credentials, settings), newest first. */
  async list(params?: AuditListParams, options?: RequestOptions): Promise<WithResponse<SimpleList<AuditEntry>>> {
    return one<SimpleList<AuditEntry>>(this.core, call("listAudit", {}, { query: asQuery(params), options }));
  }
}

/** `client.reconciliation.runs` */
export class ReconciliationRuns extends Resource {
  /**
   * Compares each gateway's charges over `[from, to)` with the stored payments and repairs
   * what differs; answers when the runs are done, one per gateway.
   */
  async create(
    params: ReconciliationRunCreateParams = {},
    options?: RequestOptions,
  ): Promise<WithResponse<ReconciliationRunBatch>> {
    return one<ReconciliationRunBatch>(this.core, call("createReconciliationRuns", {}, { body: params, options }));
  }

  /** Runs newest first, without their findings. */
  async list(
    params?: ReconciliationRunListParams,
    options?: RequestOptions,
  ): Promise<WithResponse<SimpleList<ReconciliationRun>>> {
    return one<SimpleList<ReconciliationRun>>(
      this.core,
      call("listReconciliationRuns", {}, { query: asQuery(params), options }),
    );
  }

  /** One run with its findings. */
  async retrieve(id: string, options?: RequestOptions): Promise<WithResponse<ReconciliationRun>> {
    return one<ReconciliationRun>(this.core, call("getReconciliationRun", { id }, { options }));
  }
}

/** `client.reconciliation` */
export class Reconciliation {
  readonly runs: ReconciliationRuns;
  constructor(core: HttpCore) {
    this.runs = new ReconciliationRuns(core);
  }
}

/** `operator.tenants` (operator key only). */
export class Tenants extends Resource {
  /** Creates a tenant; its first keys and callback secret are in the answer, shown once. */
  async create(params: TenantCreateParams, options?: RequestOptions): Promise<WithResponse<NewTenant>> {
    return one<NewTenant>(this.core, call("adminCreateTenant", {}, { body: params, options }));
  }

  /** Every tenant. */
  async list(options?: RequestOptions): Promise<WithResponse<SimpleList<Tenant>>> {
    return one<SimpleList<Tenant>>(this.core, call("adminListTenants", {}, { options }));
  }

  /** Disables/enables, renames, sets the rate limit or the callback URL of a tenant. */
  async update(id: string, params: TenantUpdateParams, options?: RequestOptions): Promise<WithResponse<Tenant>> {
    return one<Tenant>(this.core, call("adminUpdateTenant", { id }, { body: params, options }));
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
/**
 * The key, base URL and core of a client, from its options or the environment. The key is
 * required; the base URL falls back to the env var, then to the dev server.
 */
function buildCore(options: OrchestratorOptions, keyEnv: string): HttpCore {
  const apiKey = options.apiKey ?? env(keyEnv);
  const baseUrl = options.baseUrl ?? env("ORCHESTRATOR_BASE_URL") ?? DEFAULT_BASE_URL;
  if (typeof apiKey !== "string" || apiKey.trim() === "") {
    throw new TypeError(`apiKey is required (option \`apiKey\` or env ${keyEnv})`);
  }
  if (/[\r\n]/.test(apiKey)) throw new TypeError("apiKey must not contain line breaks");
  if (typeof baseUrl !== "string" || !/^https?:\/\/[^/?#\s]+/i.test(baseUrl) || /[?#]/.test(baseUrl)) {
    throw new TypeError(
      "baseUrl must be an http:// or https:// URL with a host and no query (option `baseUrl` or env ORCHESTRATOR_BASE_URL)",
    );
  }
  const coreOptions: CoreOptions = { ...options, apiKey, baseUrl };
  return new HttpCore(coreOptions);
}

/** What `client.config` shows: the settings in force, never the key. */
export interface ClientConfig {
  baseUrl: string;
  maxRetries: number;
  timeoutMs: number;
  deadlineMs: number | undefined;
}

function configOf(core: HttpCore): ClientConfig {
  return { baseUrl: core.baseUrl, maxRetries: core.maxRetries, timeoutMs: core.timeoutMs, deadlineMs: core.deadlineMs };
}

export class Orchestrator {
  readonly payments: Payments;
  readonly refunds: Refunds;
  readonly routing: RoutingResource;
  readonly gateways: Gateways;
  readonly gatewayCredentials: GatewayCredentialsResource;
  readonly events: Events;
  readonly unmatchedWebhooks: UnmatchedWebhooks;
  readonly usage: UsageResource;
  readonly apiKeys: ApiKeys;
  readonly webhookSecrets: WebhookSecretsResource;
  readonly webhookEndpoint: WebhookEndpointResource;
  /** The account settings (`GET`/`PATCH /v1/settings`); the client's own are {@link config}. */
  readonly settings: SettingsResource;
  readonly audit: Audit;
  readonly reconciliation: Reconciliation;
  readonly baseUrl: string;
  readonly #core: HttpCore;

  constructor(options: OrchestratorOptions = {}) {
    this.#core = buildCore(options, "ORCHESTRATOR_API_KEY");
    this.baseUrl = this.#core.baseUrl;
    this.payments = new Payments(this.#core);
    this.refunds = new Refunds(this.#core);
    this.routing = new RoutingResource(this.#core);
    this.gateways = new Gateways(this.#core);
    this.gatewayCredentials = new GatewayCredentialsResource(this.#core);
    this.events = new Events(this.#core);
    this.unmatchedWebhooks = new UnmatchedWebhooks(this.#core);
    this.usage = new UsageResource(this.#core);
    this.apiKeys = new ApiKeys(this.#core);
    this.webhookSecrets = new WebhookSecretsResource(this.#core);
    this.webhookEndpoint = new WebhookEndpointResource(this.#core);
    this.settings = new SettingsResource(this.#core);
    this.audit = new Audit(this.#core);
    this.reconciliation = new Reconciliation(this.#core);
  }

  /** The client's settings in force (the API key is never included). */
  get config(): ClientConfig {
    return configOf(this.#core);
  }

  toJSON(): Record<string, unknown> {
    return { ...this.config, apiKey: "[redacted]" };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const s = this.config;
    return `Orchestrator { baseUrl: '${s.baseUrl}', apiKey: '[redacted]', maxRetries: ${s.maxRetries}, timeoutMs: ${s.timeoutMs} }`;
  }
}

/**
 * The operator's client (`op_…` key): tenants across the deployment (`/v1/admin/tenants`).
 * Kept apart from {@link Orchestrator} so a tenant integration never holds an operator key.
 *
 * ```ts
 * const operator = new Operator({ apiKey: process.env.ORCHESTRATOR_OPERATOR_KEY });
 * const tenant = await operator.tenants.create({ name: "Loja X" });
 * tenant.test_api_key.key; // sk_test_…, shown once
 * ```
 */
export class Operator {
  readonly tenants: Tenants;
  readonly baseUrl: string;
  readonly #core: HttpCore;

  /** `apiKey` default: env `ORCHESTRATOR_OPERATOR_KEY`; the base URL as for {@link Orchestrator}. */
  constructor(options: OrchestratorOptions = {}) {
    this.#core = buildCore(options, "ORCHESTRATOR_OPERATOR_KEY");
    this.baseUrl = this.#core.baseUrl;
    this.tenants = new Tenants(this.#core);
  }

  /** The client's settings in force (the API key is never included). */
  get config(): ClientConfig {
    return configOf(this.#core);
  }

  toJSON(): Record<string, unknown> {
    return { ...this.config, apiKey: "[redacted]" };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Operator { baseUrl: '${this.#core.baseUrl}', apiKey: '[redacted]' }`;
  }
}
