/** Shapes of the orchestrator's API objects (amounts are integer minor units, times RFC 3339 UTC). */

export type PaymentMethod = "pix" | "card" | "boleto";
export type GatewayName = "efi" | "stripe" | "asaas" | (string & {});

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

export type AttemptOutcome =
  | "succeeded"
  | "declined"
  | "invalid"
  | "unavailable"
  | "ambiguous"
  | "misconfigured";

/** One gateway call made for a payment. */
export interface Attempt {
  gateway: string;
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
  /** The external record this refund took over, when any. */
  replaces?: string;
}

/** The payment object. */
export interface Payment {
  id: string;
  /** `true` for a live-mode object (made with an `sk_live_` key), `false` in test mode (`sk_test_`). */
  livemode: boolean;
  status: PaymentStatus;
  amount: number;
  currency: string;
  method: PaymentMethod;
  gateway: string | null;
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
  attempts: Attempt[];
  created_at: string;
  updated_at: string;
  /** Incremented on every change: of two events about one payment, the higher version is newer. */
  version: number;
}

/** The answer of `refunds.create` and the `data` of `refund.*` events. */
export interface Refund {
  id: string;
  object: "refund";
  /** `true` for a live-mode object (made with an `sk_live_` key), `false` in test mode (`sk_test_`). */
  livemode: boolean;
  payment_id: string;
  amount: number;
  currency: string;
  status: RefundStatus;
  gateway_refund_id: string | null;
  reason: string | null;
  created_at: string;
  /** The payment as it stands after the refund. */
  payment: Payment;
}

export interface Customer {
  name?: string;
  /** CPF or CNPJ, with check digits. */
  document?: string;
  email?: string;
}

export interface PaymentCreateParams {
  amount: number;
  currency: string;
  method: PaymentMethod;
  customer?: Customer;
  /** Card payments: one token per gateway the card may go to. */
  card?: { tokens: Partial<Record<GatewayName, string>> };
  description?: string;
  reference?: string;
  metadata?: Record<string, string>;
  /** Pin one gateway. */
  gateway?: GatewayName;
  callback_url?: string;
}

export interface PaymentListParams {
  reference?: string;
  status?: PaymentStatus;
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

export interface Routing {
  /** The tenant's whole routing after the update. */
  routing: Partial<Record<PaymentMethod, string[]>>;
}

export type BreakerState = "closed" | "open" | "half_open";

export interface GatewayStatus {
  gateway: string;
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
  | "payment.overdue";

export type RefundEventType = "refund.succeeded" | "refund.failed";

export type EventType = PaymentEventType | RefundEventType;

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

/** An event as the events API shows it (with its delivery log). */
export type Event =
  | (EventBase & { type: PaymentEventType; data: Payment })
  | (EventBase & { type: RefundEventType; data: Refund });

export interface EventListParams {
  type?: EventType;
  payment_id?: string;
  limit?: number;
  starting_after?: string;
}

/** The body of a merchant callback, as returned by `Webhook.verify`. */
export type WebhookEvent =
  | { id: string; type: PaymentEventType; livemode: boolean; created_at: string; data: Payment }
  | { id: string; type: RefundEventType; livemode: boolean; created_at: string; data: Refund };

/** A gateway webhook that matched no payment. */
export interface UnmatchedWebhook {
  tenant_id: string;
  gateway: string;
  gateway_event_id: string;
  gateway_payment_id: string;
  payment_id: string | null;
  reported: string;
  received_at: string;
}

export interface UnmatchedWebhookListParams {
  limit?: number;
}

/** The list envelope of `GET /v1/payments` and `GET /v1/events`. */
export interface ListEnvelope<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}
