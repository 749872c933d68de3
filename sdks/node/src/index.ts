export {
  Orchestrator,
  Operator,
  DEFAULT_BASE_URL,
  Payments,
  Refunds,
  RoutingResource,
  Gateways,
  GatewayCredentialsResource,
  Events,
  UnmatchedWebhooks,
  UsageResource,
  ApiKeys,
  WebhookSecretsResource,
  WebhookEndpointResource,
  SettingsResource,
  Audit,
  Reconciliation,
  ReconciliationRuns,
  Tenants,
} from "./client.js";
export type { OrchestratorOptions, ClientConfig } from "./client.js";
export { OPERATIONS, pathOf } from "./operations.js";
export type { OperationId, Operation, HttpMethod } from "./operations.js";
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
  UnexpectedResponseError,
  ERROR_TYPES,
  ERROR_CODES,
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
export type { ErrorType, ErrorCode, ErrorObject, SdkErrorType, SdkErrorCode } from "./errors.js";
export { VERSION } from "./version.js";
