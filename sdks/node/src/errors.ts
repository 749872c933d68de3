/**
 * Every error this SDK throws extends {@link OrchestratorError}.
 *
 * - {@link APIError} and its subclasses: the server answered with a non-2xx status. The class is
 *   chosen by the body's `error.type` / `error.code`, then by the HTTP status.
 * - {@link APIConnectionError} (and {@link APITimeoutError}): no usable response arrived.
 * - {@link APIUserAbortError}: the caller's `AbortSignal` fired.
 * - {@link WebhookVerificationError} and its subclasses: a callback failed verification.
 *
 * API and connection errors carry the `idempotencyKey` that was sent (POST requests), so a
 * caller can retry the same logical operation later with the same key.
 */

/**
 * Every `error.type` the server sends. Kept equal to the `enum` of
 * `components.schemas.Error.properties.error.properties.type` in docs/openapi.yaml by a test.
 */
export const ERROR_TYPES = [
  "invalid_request",
  "authentication",
  "idempotency",
  "not_found",
  "gateway",
  "internal",
  "rate_limited",
] as const;

/** An `error.type` of the server. */
export type ErrorType = (typeof ERROR_TYPES)[number];

/**
 * Every `error.code` the server sends, one per kind of problem. Kept equal to the spec's `enum`
 * of `error.code` by a test (issue 24 enumerates them; `no_callback_url` comes with the settings
 * routes).
 */
export const ERROR_CODES = [
  // invalid_request: the body and its parameters (400)
  "body_not_json",
  "body_not_object",
  "parameter_missing",
  "parameter_invalid_integer",
  "parameter_invalid_type",
  "parameter_invalid_enum",
  "parameter_invalid_string",
  "parameter_invalid_format",
  "parameter_out_of_range",
  "parameter_conflict",
  "parameter_duplicate",
  "unknown_parameter",
  "invalid_amount",
  "amount_exceeds_refundable",
  "invalid_currency",
  "currency_not_supported",
  "invalid_document",
  "customer_document_required",
  "invalid_email",
  "invalid_metadata",
  "card_token_required",
  "card_not_allowed",
  "invalid_card_token",
  "unknown_gateway",
  "no_gateway_for_method",
  "gateway_does_not_support_method",
  "invalid_routing",
  "invalid_callback_url",
  "invalid_credentials",
  "livemode_required",
  "invalid_webhook",
  // gateway: every gateway failed, or a refund/cancel failed at the gateway (502)
  "gateway_declined",
  "gateway_invalid",
  "gateway_unavailable",
  "gateway_ambiguous",
  "gateway_misconfigured",
  "gateway_breaker_open",
  "gateway_credentials_invalid",
  "refund_declined",
  "refund_invalid",
  "refund_unavailable",
  "refund_ambiguous",
  "refund_misconfigured",
  "refund_breaker_open",
  "cancel_declined",
  "cancel_invalid",
  "cancel_unavailable",
  "cancel_ambiguous",
  "cancel_misconfigured",
  "cancel_breaker_open",
  // invalid_request: size, state, method, configuration (405/409/413/422)
  "body_too_large",
  "resource_exists",
  "invalid_state",
  "method_not_allowed",
  "gateway_not_configured",
  "no_callback_url",
  // authentication (401)
  "unauthenticated",
  // idempotency (400/409/422)
  "idempotency_key_invalid",
  "idempotency_key_in_use",
  "idempotency_key_reused",
  // not_found (404)
  "resource_missing",
  // gateway: the payment's credentials are gone (409)
  "gateway_credentials_changed",
  // rate_limited (429)
  "rate_limited",
  // internal (500/503)
  "dependency_unavailable",
  "internal_error",
] as const;

/** An `error.code` of the server. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The type and code of the one error the SDK makes itself: a 2xx answer that is not a JSON
 * object ({@link UnexpectedResponseError}). Never sent by the server.
 */
export type SdkErrorType = "invalid_response";
export type SdkErrorCode = "unexpected_response";

/** The `error` object of an error body: `{"error": {"type", "code", "message", "param"?, "request_id"?}}`. */
export interface ErrorObject {
  type: ErrorType | SdkErrorType;
  /** Typed as the known codes; a newer server may send one this SDK does not list yet. */
  code: ErrorCode | SdkErrorCode;
  message: string;
  param?: string;
  request_id?: string;
}

/** Base class of every error thrown by this SDK. */
export class OrchestratorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    Object.defineProperty(this, "name", {
      value: new.target.name,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
}

/** What a request-level error knows about the request that failed. */
interface RequestContext {
  /** The `Idempotency-Key` sent (POST requests), the same on every attempt. */
  idempotencyKey: string | null;
  /** How many HTTP attempts were made (1 + retries). */
  attempts: number;
  method: string;
  /** Path and query, e.g. `/v1/payments?limit=10`. Never contains credentials. */
  path: string;
}

export interface APIErrorInit extends RequestContext {
  status: number;
  headers: Record<string, string>;
  rawBody: string;
  body: unknown;
}

function pickErrorObject(body: unknown): Partial<ErrorObject> {
  if (body && typeof body === "object" && "error" in body) {
    const e = (body as { error: unknown }).error;
    if (e && typeof e === "object") return e as Partial<ErrorObject>;
  }
  return {};
}

/** The server answered with a non-2xx status. */
export class APIError extends OrchestratorError {
  /** HTTP status. */
  readonly status: number;
  /** `error.type` from the body (`invalid_request`, `authentication`, `idempotency`, ...), or null. */
  readonly type: ErrorType | SdkErrorType | null;
  /**
   * `error.code` from the body (`resource_missing`, `idempotency_key_in_use`, ...), or null.
   * Compare it with the {@link ErrorCode} literals: a typo fails `tsc`.
   */
  readonly code: ErrorCode | SdkErrorCode | null;
  /** `error.param`: the request field at fault, when the server named one. */
  readonly param: string | null;
  /** `request-id` / `x-request-id` response header, or null when the server sent none. */
  readonly requestId: string | null;
  readonly idempotencyKey: string | null;
  readonly attempts: number;
  readonly method: string;
  readonly path: string;
  /** Response headers, names lower-cased. */
  readonly headers: Record<string, string>;
  /** The response body as received. */
  readonly rawBody: string;
  /** The parsed body (undefined when it was not JSON). */
  readonly body: unknown;
  /** The `error` object of the body, when it had one. */
  readonly error: ErrorObject | null;

  constructor(init: APIErrorInit) {
    const e = pickErrorObject(init.body);
    const serverMessage =
      typeof e.message === "string" && e.message
        ? e.message
        : init.rawBody
          ? init.rawBody.slice(0, 200)
          : "(empty body)";
    const label = typeof e.code === "string" ? `${init.status} ${e.code}` : `${init.status}`;
    super(`${label}: ${serverMessage}`);
    this.status = init.status;
    this.type = typeof e.type === "string" ? e.type : null;
    this.code = typeof e.code === "string" ? e.code : null;
    this.param = typeof e.param === "string" ? e.param : null;
    this.requestId = init.headers["request-id"] ?? init.headers["x-request-id"] ?? null;
    this.idempotencyKey = init.idempotencyKey;
    this.attempts = init.attempts;
    this.method = init.method;
    this.path = init.path;
    this.headers = init.headers;
    this.rawBody = init.rawBody;
    this.body = init.body;
    this.error =
      typeof e.type === "string" && typeof e.code === "string"
        ? {
            type: e.type,
            code: e.code,
            message: typeof e.message === "string" ? e.message : "",
            ...(typeof e.param === "string" ? { param: e.param } : {}),
          }
        : null;
  }

  /** Picks the subclass for a response: by `error.type` and `error.code` first, then by status. */
  static from(init: APIErrorInit): APIError {
    const e = pickErrorObject(init.body);
    const { status } = init;
    const type = typeof e.type === "string" ? e.type : undefined;
    const code = typeof e.code === "string" ? e.code : undefined;
    if (type === "invalid_response") return new UnexpectedResponseError(init);
    if (type === "authentication" || (type === undefined && status === 401)) {
      return new AuthenticationError(init);
    }
    if (type === "idempotency") {
      if (code === "idempotency_key_in_use") return new IdempotencyKeyInUseError(init);
      if (code === "idempotency_key_reused") return new IdempotencyKeyReusedError(init);
      if (code === "idempotency_key_invalid") return new IdempotencyKeyInvalidError(init);
      return new IdempotencyError(init);
    }
    if (type === "not_found" || (type === undefined && status === 404)) {
      return new NotFoundError(init);
    }
    if (type === "gateway" || (type === undefined && status === 502)) {
      return new GatewayError(init);
    }
    if (status === 429) return new RateLimitError(init);
    if (type === "invalid_request" || (type === undefined && status >= 400 && status < 500)) {
      if (code === "invalid_state") return new InvalidStateError(init);
      if (status >= 400 && status < 500) return new InvalidRequestError(init);
    }
    if (status === 503) return new ServiceUnavailableError(init);
    if (status >= 500) return new InternalServerError(init);
    return new APIError(init);
  }
}

/** 401: the API key is missing or unknown. */
export class AuthenticationError extends APIError {}

/** 400/405/413/422 `invalid_request`: fix the request; `param` names the field at fault. */
export class InvalidRequestError extends APIError {}

/** 422 `invalid_state`: the payment is not in a state that allows this (e.g. refund a pending Pix). */
export class InvalidStateError extends InvalidRequestError {}

/** 404 `resource_missing`: no such payment or event (or it belongs to another tenant). */
export class NotFoundError extends APIError {}

/** An `idempotency` error. */
export class IdempotencyError extends APIError {}

/** 400 `idempotency_key_invalid`: the key is missing or not 1–255 printable ASCII characters. */
export class IdempotencyKeyInvalidError extends IdempotencyError {}

/** 409 `idempotency_key_in_use`: the first request with this key is still running (retried automatically). */
export class IdempotencyKeyInUseError extends IdempotencyError {}

/** 422 `idempotency_key_reused`: the key was used before with a different body. Never retried. */
export class IdempotencyKeyReusedError extends IdempotencyError {}

/**
 * 502 `gateway`: every gateway failed (or the payment's gateway refused a refund/refresh).
 * Not retried automatically; retrying later with the same idempotency key is safe.
 */
export class GatewayError extends APIError {}

/** 429: too many requests (retried automatically, honouring `Retry-After`). */
export class RateLimitError extends APIError {}

/** 503 `dependency_unavailable`: retried automatically; safe to retry with the same key. */
export class ServiceUnavailableError extends APIError {}

/** 500 and other 5xx. */
export class InternalServerError extends APIError {}

/** A 2xx answer whose body is not a JSON object (code `unexpected_response`): a proxy or a broken deployment. */
export class UnexpectedResponseError extends APIError {}

export interface ConnectionErrorInit extends RequestContext {
  message: string;
  cause?: unknown;
  /** Whether the SDK considered it safe and useful to retry. */
  retryable: boolean;
}

/** No usable response: connection refused or reset, DNS failure, TLS failure, body cut short. */
export class APIConnectionError extends OrchestratorError {
  readonly idempotencyKey: string | null;
  readonly attempts: number;
  readonly method: string;
  readonly path: string;
  /** The low-level error code when Node gave one (`ECONNRESET`, `UND_ERR_SOCKET`, ...). */
  readonly causeCode: string | null;
  readonly retryable: boolean;
  /** Always null (no response); present so every request error has the same fields. */
  readonly status: null = null;
  readonly requestId: null = null;

  constructor(init: ConnectionErrorInit) {
    super(init.message, { cause: init.cause });
    this.idempotencyKey = init.idempotencyKey;
    this.attempts = init.attempts;
    this.method = init.method;
    this.path = init.path;
    this.causeCode = causeCodeOf(init.cause);
    this.retryable = init.retryable;
  }
}

/** An attempt ran past its timeout (per attempt, `timeoutMs`) or the call's overall deadline. */
export class APITimeoutError extends APIConnectionError {}

/** The caller's `AbortSignal` aborted the call. Never retried. */
export class APIUserAbortError extends OrchestratorError {
  readonly idempotencyKey: string | null;
  readonly attempts: number;
  constructor(init: { idempotencyKey: string | null; attempts: number; cause?: unknown }) {
    super("request aborted by the caller", { cause: init.cause });
    this.idempotencyKey = init.idempotencyKey;
    this.attempts = init.attempts;
  }
}

/** The `code` of an error or of its `cause` chain (Node/undici errors carry one). */
export function causeCodeOf(err: unknown): string | null {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === "object"; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Webhook verification errors
// ---------------------------------------------------------------------------------------------

/** Base class of every webhook verification failure. Answer such a request with 400. */
export class WebhookVerificationError extends OrchestratorError {}

/**
 * The payload was not the raw request body (e.g. an object parsed by `express.json()`).
 * The signature covers the exact bytes sent; re-serialized JSON never matches.
 */
export class WebhookRawBodyError extends WebhookVerificationError {}

/** A required header is missing, or a header is malformed (non-numeric timestamp, no usable `v1,` entry). */
export class WebhookHeaderError extends WebhookVerificationError {}

/** `webhook-timestamp` is outside the tolerance: `reason` tells whether too old or too far in the future. */
export class WebhookTimestampError extends WebhookVerificationError {
  readonly reason: "too_old" | "too_new";
  /** Seconds between the timestamp and now (positive: in the past). */
  readonly ageSeconds: number;
  constructor(message: string, reason: "too_old" | "too_new", ageSeconds: number) {
    super(message);
    this.reason = reason;
    this.ageSeconds = ageSeconds;
  }
}

/**
 * No `v1` signature matched any configured secret: the body (or id, or timestamp) was altered
 * after signing, or the secret is wrong. HMAC cannot tell these apart.
 */
export class WebhookSignatureError extends WebhookVerificationError {}

/** The signature is valid but the body is not a JSON event object. */
export class WebhookPayloadError extends WebhookVerificationError {}
