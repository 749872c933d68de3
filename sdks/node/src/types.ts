/**
 * Shapes of the orchestrator's API objects, as docs/openapi.yaml documents them (amounts are
 * integer minor units, times RFC 3339 UTC). Closed string unions are closed on purpose: a typo
 * in a status, currency or event type fails `tsc` instead of silently matching nothing.
 */

/** `pix`, `card` or `boleto`. */
export type PaymentMethod = "pix" | "card" | "boleto";

/** The gateways the orchestrator speaks to. */
export type GatewayName = "efi" | "stripe" | "asaas";

/** The currencies the server accepts (ISO 4217); EFI and Asaas take BRL only. */
export type Currency = "BRL" | "USD" | "EUR" | "GBP" | "ARS" | "CLP" | "COP" | "MXN" | "PEN" | "UYU" | "JPY";

/** `test`: the built-in simulators and the test data; `live`: registered credentials only. */
export type Mode = "test" | "live";

export type PaymentStatus =
  | "pending"
  | "requires_action"
  | "processing"
  | "succeeded"
  | "failed"
  | "canceled"
  | "expired"
  | "refunded"
  | "partially_refunded";

export interface PixDetails {
  /** The EMV BR Code ("Pix copia e cola"). */
  copy_paste: string;
  qr_code_png_base64: string | null;
  expires_at: string | null;
}

export interface BoletoDetails {
  url: string;
  /** The 47-digit "linha digitável". */
  barcode: string;
  due_date: string | null;
}

export interface NextAction {
  type: string;
  url: string;
}

export interface Failure {
  code: string;
  message: string;
}

/** How one gateway call ended (the gateway error classes). */
export type AttemptOutcome =
  | "succeeded"
  | "declined"
  | "invalid"
  | "unavailable"
  | "ambiguous"
  | "misconfigured";

/** One gateway call made for a payment. */
export interface Attempt {
  gateway: GatewayName;
  outcome: AttemptOutcome;
  code: string | null;
  duration_ms: number;
}

export type RefundStatus = "pending" | "succeeded" | "failed";

/** A refund as embedded in a payment's `refunds`. */
export interface PaymentRefund {
  id: string;
  amount: number;
  status: RefundStatus;
  gateway_refund_id: string | null;
  reason: string | null;
  created_at: string;
  /** The webhook-recorded refund this record took over (the same refund), when any. */
  replaces?: string;
}

/**
 * Money a gateway confirmed after the payment had failed, been canceled or expired: the status
 * stays final, the money must be refunded or settled.
 */
export interface LatePayment {
  amount: number;
  currency: Currency;
  gateway_payment_id: string;
  source: "webhook" | "refresh";
  received_at: string;
}

/** The payment object. */
export interface Payment {
  id: string;
  /** `true` for a live-mode object (made with an `sk_live_` key), `false` in test mode (`sk_test_`). */
  livemode: boolean;
  status: PaymentStatus;
  amount: number;
  currency: Currency;
  method: PaymentMethod;
  gateway: GatewayName | null;
  gateway_payment_id: string | null;
  reference: string | null;
  description: string | null;
  metadata: Record<string, string>;
  pix: PixDetails | null;
  boleto: BoletoDetails | null;
  next_action: NextAction | null;
  failure: Failure | null;
  refunded_amount: number;
  refunds: PaymentRefund[];
  overdue_at: string | null;
  /** Absent from answers stored before the field existed. */
  late_payment?: LatePayment | null;
  /** The gateway's fee once a reconciliation run read it; null until then. */
  fee?: number | null;
  /** What the gateway credits after its fee; null until known. */
  net?: number | null;
  attempts: Attempt[];
  created_at: string;
  updated_at: string;
  /** Incremented on every change: of two events about one payment, the higher version is newer. */
  version: number;
  /** Whose payment it is: only `payments.retrieveWithCustomer` carries it (never lists or callbacks). */
  customer?: PaymentCustomer | null;
}

/** The customer of one payment as `payments.retrieve` shows it: the document masked to its ends. */
export interface PaymentCustomer {
  name: string;
  email: string | null;
  document_type: "cpf" | "cnpj" | null;
  /** e.g. `529.***.***-25`. */
  document_masked: string | null;
}

/** The answer of `refunds.create` and the `data` of `refund.*` events. */
export interface Refund {
  id: string;
  object: "refund";
  /** `true` for a live-mode object (made with an `sk_live_` key), `false` in test mode (`sk_test_`). */
  livemode: boolean;
  payment_id: string;
  amount: number;
  currency: Currency;
  status: RefundStatus;
  gateway_refund_id: string | null;
  reason: string | null;
  created_at: string;
  /** The payment as it stands after the refund. */
  payment: Payment;
}

/** The payer. `name` is required by the server whenever `customer` is sent. */
export interface Customer {
  name: string;
  /** CPF or CNPJ, with check digits (required for boleto). */
  document?: string;
  email?: string;
}

export interface PaymentCreateParams {
  /** Minor units, 1 to 99 999 999 999. */
  amount: number;
  currency: Currency;
  method: PaymentMethod;
  customer?: Customer;
  /** Card payments: one token per gateway the card may go to. */
  card?: { tokens: Partial<Record<GatewayName, string>> };
  description?: string;
  reference?: string;
  metadata?: Record<string, string>;
  /** Pin one gateway. */
  gateway?: GatewayName;
  /** This payment's own callback URL (default: the account's). */
  callback_url?: string;
  /** Pix only: seconds the charge stays payable, 60 to 604 800 (7 days). */
  expires_in?: number;
}

export interface PaymentListParams {
  reference?: string;
  status?: PaymentStatus;
  /** `true`: only payments holding a `late_payment`; `false`: only those without. */
  late_payment?: boolean;
  /** Only the payments some gateway knows by this id (one page; not with `starting_after`). */
  gateway_payment_id?: string;
  /** Only the payments whose customer has this CPF/CNPJ, among the newest 1,000 (one page; alone). */
  customer_document?: string;
  /** Page size (1–100, server default 20). Iterating the page still walks every page. */
  limit?: number;
  /** A `next_cursor` from a previous page. */
  starting_after?: string;
}

export interface RefundCreateParams {
  /** Omit to refund everything left. */
  amount?: number;
  reason?: string;
}

/** `PUT /v1/routing`: the ordered gateway list (primary first) of each method to change. */
export type RoutingUpdateParams = Partial<Record<PaymentMethod, GatewayName[]>>;

/** A tenant's routing: method → ordered gateways. */
export type RoutingTable = Partial<Record<PaymentMethod, GatewayName[]>>;

export interface Routing {
  /** The tenant's whole routing after the update. */
  routing: RoutingTable;
}

export type BreakerState = "closed" | "open" | "half_open";

export interface GatewayStatus {
  gateway: GatewayName;
  state: BreakerState;
  failure_rate: number;
  calls: number;
  failures: number;
  window_seconds: number;
  open_until: string | null;
  consecutive_opens: number;
  methods: PaymentMethod[];
  /** 1-based position in this tenant's routing, per method that lists the gateway. */
  priority: Partial<Record<PaymentMethod, number>>;
  live: boolean;
}

export interface GatewayList {
  data: GatewayStatus[];
}

// ----- gateway credentials -------------------------------------------------------------------

export interface StripeCredentialsInput {
  secret_key: string;
  webhook_secret?: string;
  previous_webhook_secret_expires_in?: number;
  base_url?: string;
}

export interface AsaasCredentialsInput {
  api_key: string;
  webhook_token?: string;
  base_url?: string;
}

export interface EfiCredentialsInput {
  client_id: string;
  client_secret: string;
  /** The .p12 EFI issues, standard base64. */
  certificate_p12: string;
  certificate_password?: string;
  pix_key: string;
  webhook_hmac?: string;
  webhook_allowed_ips?: string[];
  base_url?: string;
  ca_pem?: string;
}

/** The credentials body of each gateway: `credentials.put("stripe", { secret_key })` is checked per gateway. */
export interface GatewayCredentialsInputs {
  stripe: StripeCredentialsInput;
  asaas: AsaasCredentialsInput;
  efi: EfiCredentialsInput;
}

/** Any gateway's credentials body. */
export type GatewayCredentialsInput = GatewayCredentialsInputs[GatewayName];

/** The registered credentials, masked. */
export interface GatewayCredentials {
  object: "gateway_credentials";
  gateway: GatewayName;
  version: number;
  updated_at: string;
  fingerprint: string;
  /** Field → masked value. */
  credentials: Record<string, string>;
  live: boolean;
}

export interface GatewayCredentialsDeleted {
  object: "gateway_credentials";
  gateway: GatewayName;
  deleted: true;
  version: number;
  updated_at: string;
}

export interface CredentialsVerification {
  ok: boolean;
  gateway: GatewayName;
  version: number | null;
  error?: { class: Exclude<AttemptOutcome, "succeeded">; code: string; message: string };
}

// ----- events --------------------------------------------------------------------------------

export type PaymentEventType =
  | "payment.pending"
  | "payment.requires_action"
  | "payment.processing"
  | "payment.succeeded"
  | "payment.failed"
  | "payment.canceled"
  | "payment.expired"
  | "payment.partially_refunded"
  | "payment.refunded"
  | "payment.overdue"
  | "payment.late_payment_received";

export type RefundEventType = "refund.succeeded" | "refund.failed";

/** The types of stored events (the events API). */
export type EventType = PaymentEventType | RefundEventType;

/** Sent only by `webhookEndpoint.test()`: never stored, never about a payment. */
export type TestEventType = "webhook.test";

/** Every type a callback can carry. */
export type CallbackEventType = EventType | TestEventType;

export type DeliveryState = "pending" | "delivered" | "failed" | "no_endpoint";

export interface DeliveryAttempt {
  at: string;
  http_status: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
}

interface EventBase {
  id: string;
  object: "event";
  /** `true` for a live-mode object (made with an `sk_live_` key), `false` in test mode (`sk_test_`). */
  livemode: boolean;
  created_at: string;
  payment_id: string;
  refund_id: string | null;
  payment_version: number;
  delivery: { state: DeliveryState; attempts: DeliveryAttempt[] };
}

/**
 * One member per type (not one member with a union `type`), so that TypeScript narrows an
 * event on `type` in `if`/`else` and `switch`, fall-through branches included.
 */
type PerType<K extends string, Base, Data> = { [T in K]: Base & { type: T; data: Data } }[K];

/** A stored payment event: `data` is the payment. */
export type PaymentEvent = PerType<PaymentEventType, EventBase, Payment>;

/** A stored refund event: `data` is the refund (with its payment). */
export type RefundEvent = PerType<RefundEventType, EventBase, Refund>;

/** An event as the events API shows it (with its delivery log). Narrow it on `type`. */
export type Event = PaymentEvent | RefundEvent;

export interface EventListParams {
  type?: EventType;
  payment_id?: string;
  limit?: number;
  starting_after?: string;
}

interface CallbackBase {
  id: string;
  livemode: boolean;
  created_at: string;
}

/** The body of a payment callback. */
export type PaymentCallbackEvent = PerType<PaymentEventType, CallbackBase, Payment>;

/** The body of a refund callback. */
export type RefundCallbackEvent = PerType<RefundEventType, CallbackBase, Refund>;

/** The body of the test callback (`webhookEndpoint.test()`); `data` says it is a test. */
export interface TestCallbackEvent extends CallbackBase {
  object?: "event";
  type: TestEventType;
  data: Record<string, unknown>;
}

/**
 * The body of a merchant callback, as returned by `Webhook.verify`. Narrow on `type`:
 * `if (event.type === "refund.succeeded") event.data` is a {@link Refund}.
 */
export type WebhookEvent = PaymentCallbackEvent | RefundCallbackEvent | TestCallbackEvent;

// ----- unmatched webhooks --------------------------------------------------------------------

/** A gateway webhook that matched no payment. */
export interface UnmatchedWebhook {
  tenant_id: string;
  gateway: GatewayName;
  gateway_event_id: string;
  gateway_payment_id: string;
  payment_id: string | null;
  reported: string;
  received_at: string;
}

export interface UnmatchedWebhookListParams {
  limit?: number;
}

// ----- usage ---------------------------------------------------------------------------------

export interface UsageCounts {
  payments: {
    total: number;
    by_status: Partial<Record<PaymentStatus, number>>;
    /** gateway → method → count. */
    by_gateway: Partial<Record<GatewayName, Partial<Record<PaymentMethod, number>>>>;
    failovers: number;
    late_payments: number;
    /** Creates refused because no gateway could take them (the 502s): not in `total`. */
    refused: number;
  };
  /** Minor units by currency. */
  volume: Partial<Record<Currency, { created: number; succeeded: number; refunded: number; late: number }>>;
  refunds: { succeeded: number };
  webhooks: { received: number; applied: number; unmatched: number };
  callbacks: { delivered: number; failed: number };
}

/** One month's totals. */
export interface Usage extends UsageCounts {
  object: "usage";
  tenant_id: string;
  livemode: boolean;
  period: { month: string; start: string; end: string; timezone: "UTC"; status: "open" | "closed" };
  as_of: string;
  basis: string;
}

/** A daily series (`granularity: "day"`). */
export interface UsageSeries {
  object: "usage_series";
  tenant_id: string;
  livemode: boolean;
  granularity: "day";
  from: string;
  to: string;
  timezone: "UTC";
  as_of: string;
  basis: string;
  data: Array<UsageCounts & { date: string; livemode: boolean }>;
}

/** `usage.retrieve()`: a month (`month`, default the current one) or a daily series (`from`, `to`, `granularity: "day"`). */
export interface UsageParams {
  /** `YYYY-MM`. */
  month?: string;
  /** `YYYY-MM-DD`. */
  from?: string;
  /** `YYYY-MM-DD`. */
  to?: string;
  granularity?: "day";
}

// ----- API keys, callback secrets, audit -----------------------------------------------------

export interface ApiKey {
  id: string;
  object: "api_key";
  mode: Mode;
  prefix: string;
  last4: string;
  created_at: string;
  expires_at: string | null;
}

/** A new key: the only time `key` is shown. */
export interface NewApiKey extends ApiKey {
  key: string;
}

export interface ApiKeyListed {
  id: string;
  object: "api_key";
  /** null for a key from a tenants file (it keeps the tenant's own mode). */
  mode: Mode | null;
  prefix: string | null;
  last4: string | null;
  masked: string | null;
  created_at: string | null;
  expires_at: string | null;
  last_used: string | null;
  /** The key this request used. */
  current: boolean;
}

export interface ApiKeyCreateParams {
  expires_in_days?: number;
  /** Default: the mode of the key making the request; a test key makes test keys only. */
  mode?: Mode;
}

export interface ApiKeyRevoked {
  id: string;
  object: "api_key";
  deleted: true;
}

/** A list answer without a cursor (keys, audit, reconciliation runs, tenants). */
export interface SimpleList<T> {
  object: "list";
  data: T[];
  has_more: boolean;
}

export interface WebhookSecrets {
  object: "webhook_secrets";
  data: Array<{ masked: string; current: boolean; expires_at: string | null }>;
}

export interface WebhookSecretRotated extends WebhookSecrets {
  /** The new secret (`whsec_…`), shown once. */
  secret: string;
}

export interface WebhookSecretRotateParams {
  /** How long the old secrets keep signing, 0–168 hours (default 24). */
  grace_hours?: number;
}

export interface AuditEntry {
  id: string;
  object: "audit_entry";
  livemode: boolean;
  at: string;
  actor: string;
  action: string;
  before: unknown;
  after: unknown;
}

export interface AuditListParams {
  limit?: number;
}

// ----- callback endpoint, settings, test event -----------------------------------------------

export interface WebhookEndpoint {
  object: "webhook_endpoint";
  url: string;
  state: "healthy" | "failing" | "disabled";
  failing_since: string | null;
  failures: number;
  next_attempt_at: string | null;
  disabled_at: string | null;
  last_error: string | null;
}

export interface WebhookEndpointEnabled extends WebhookEndpoint {
  /** Events queued again by this call. */
  resent: number;
  /** More were waiting: enable again with `starting_after: next_cursor`. */
  more_backlog: boolean;
  next_cursor: string | null;
}

export interface WebhookEndpointParams {
  /** A payment's own callback URL; default the account's. */
  url?: string;
}

export interface WebhookEndpointEnableParams extends WebhookEndpointParams {
  /** The `next_cursor` of an earlier answer. */
  starting_after?: string;
}

/** The account settings a tenant key can read and change. */
export interface Settings {
  object: "settings";
  tenant_id: string;
  name: string | null;
  /** The mode of the key used. */
  livemode: boolean;
  callback_url: string | null;
}

export interface SettingsUpdateParams {
  /** An `https://` URL, or null to remove it. */
  callback_url?: string | null;
}

/** The answer of `webhookEndpoint.test()`: the event sent and how the delivery went. */
export interface WebhookTest {
  object: "webhook_test";
  event: {
    id: string;
    object: "event";
    type: TestEventType;
    created_at: string;
    livemode: boolean;
    data: Record<string, unknown>;
  };
  delivery: {
    url: string;
    delivered: boolean;
    response_status: number | null;
    duration_ms: number;
    error: string | null;
  };
}

// ----- reconciliation ------------------------------------------------------------------------

export type ReconciliationFindingKind =
  | "status_repaired"
  | "late_payment"
  | "orphan_adopted"
  | "orphan_in_flight"
  | "orphan_unpaid"
  | "orphan_unnamed"
  | "amount_mismatch"
  | "other_charge"
  | "other_account"
  | "fees_recorded";

export interface ReconciliationRun {
  id: string;
  object: "reconciliation_run";
  gateway: GatewayName;
  from: string;
  to: string;
  trigger: "api" | "schedule";
  started_at: string;
  finished_at: string;
  status: "completed" | "partial" | "failed";
  error: string | null;
  listed: number;
  foreign: number;
  counts: Partial<Record<ReconciliationFindingKind, number>>;
  findings: Array<{
    kind: ReconciliationFindingKind;
    payment_id: string | null;
    gateway_payment_id: string;
    detail: string;
    repaired: boolean;
  }>;
  findings_truncated: boolean;
}

export interface ReconciliationRunCreateParams {
  gateway?: GatewayName;
  /** Default: 24 h before `to`. */
  from?: string;
  /** Default: now; a window spans at most 31 days. */
  to?: string;
}

export interface ReconciliationRunListParams {
  limit?: number;
}

/** The answer of `reconciliation.runs.create`: one run per gateway. */
export interface ReconciliationRunBatch {
  object: "list";
  data: ReconciliationRun[];
}

// ----- operator: tenants ---------------------------------------------------------------------

export interface Tenant {
  id: string;
  object: "tenant";
  name: string;
  disabled: boolean;
  routing: RoutingTable;
  callback_url: string | null;
  live_gateways: GatewayName[];
  mode: Mode;
  rate_limit_per_minute: number | null;
  /** How many keys are active. */
  api_keys: number;
}

export interface NewTenantKey {
  id: string;
  key: string;
  mode: Mode;
  prefix: string;
  last4: string;
}

/** A new tenant with its first keys and callback secret, shown once. */
export interface NewTenant extends Tenant {
  api_key: NewTenantKey;
  test_api_key: NewTenantKey;
  callback_secret: string;
}

export interface TenantCreateParams {
  name: string;
  /** `^[A-Za-z0-9_-]{1,64}$`; ids ending in `.test` are reserved. */
  id?: string;
  routing?: RoutingTable;
  callback_url?: string;
  rate_limit_per_minute?: number;
}

export interface TenantUpdateParams {
  disabled?: boolean;
  name?: string;
  rate_limit_per_minute?: number;
  /** An `https://` URL, or null to remove it. */
  callback_url?: string | null;
}

/** The list envelope of `GET /v1/payments` and `GET /v1/events`. */
export interface ListEnvelope<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}
