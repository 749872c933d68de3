export { Orchestrator, Payments, Refunds, RoutingResource, Gateways, Events, UnmatchedWebhooks } from "./client.js";
export type { OrchestratorOptions } from "./client.js";
export type {
  FetchLike,
  FetchInitLike,
  FetchResponseLike,
  RequestOptions,
  ResponseMeta,
  RetryInfo,
  WithResponse,
} from "./core.js";
export { Page, PagePromise } from "./pagination.js";
export { Webhook, DEFAULT_TOLERANCE_SECONDS } from "./webhook.js";
export type { WebhookHeaders, RawBody, VerifyOptions, WebhookOptions } from "./webhook.js";
export * from "./types.js";
export * as errors from "./errors.js";
export {
  OrchestratorError,
  APIError,
  AuthenticationError,
  InvalidRequestError,
  InvalidStateError,
  NotFoundError,
  IdempotencyError,
  IdempotencyKeyInvalidError,
  IdempotencyKeyInUseError,
  IdempotencyKeyReusedError,
  GatewayError,
  RateLimitError,
  ServiceUnavailableError,
  InternalServerError,
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  WebhookVerificationError,
  WebhookRawBodyError,
  WebhookHeaderError,
  WebhookTimestampError,
  WebhookSignatureError,
  WebhookPayloadError,
} from "./errors.js";
export { VERSION } from "./version.js";
