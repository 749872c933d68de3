//! The one error type of the API. Every failure a request can meet is a variant here; the
//! mapping to HTTP status, error `type` and `code` lives in `api::error_response` and nowhere else.

use crate::ports::{ErrorClass, StoreError};

/// Why a request was not served.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed or invalid input (400).
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        param: Option<String>,
    },
    /// Body over 256 KiB (413).
    #[error("request body exceeds 256 KiB")]
    PayloadTooLarge,
    /// No or unknown API key (401).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// `Idempotency-Key` missing or malformed (400).
    #[error("{0}")]
    IdempotencyKeyInvalid(String),
    /// Same key, first request still running (409, retryable).
    #[error("a request with this Idempotency-Key is still being processed; retry later")]
    IdempotencyKeyInUse,
    /// Same key, different request (422).
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    /// A well-formed request the account's current configuration cannot serve (422), e.g.
    /// no gateway of the tenant's routing takes the payment: the same body may pass after a
    /// routing change, so it is not a 400. `param` names the field it hinges on.
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        param: &'static str,
        message: String,
    },
    /// The resource's state forbids the operation (422), e.g. refunding a pending payment.
    #[error("{0}")]
    InvalidState(String),
    /// The tenant has no callback URL, so there is nowhere to send to (422 `no_callback_url`):
    /// `POST /v1/webhook_endpoint/test` before one is set.
    #[error("{0}")]
    NoCallbackUrl(String),
    /// The resource to create exists already (409): e.g. a tenant id taken, by an earlier
    /// request or a concurrent one.
    #[error("{0}")]
    AlreadyExists(String),
    /// Unknown resource or one of another tenant (404).
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not for this HTTP method (405); `allow` is the route's methods,
    /// sent as the `Allow` header (RFC 9110 §15.5.6), e.g. `GET, POST`.
    #[error("method not allowed on this path; it takes {allow}")]
    MethodNotAllowed { allow: &'static str },
    /// A gateway the request needs has no credentials in the tenant's mode: a live tenant
    /// pinned (or routed only) to a gateway it has not configured (422). Nothing was stored.
    #[error("{message}")]
    GatewayNotConfigured {
        message: String,
        param: &'static str,
    },
    /// The payment's charge was made with gateway credentials the tenant no longer has
    /// (deleted, or replaced by others): no other account may be asked about it, so nothing
    /// was called and nothing changed (409). Registering the same credentials again lifts it.
    #[error("{0}")]
    GatewayCredentialsChanged(String),
    /// Every gateway failed and none created a charge, or a refund, cancel or refresh was
    /// refused by its gateway; nothing changed (502). `code` is one of [`GATEWAY_CODES`]: the
    /// gateway's own detail goes in `message`, so the set of codes stays closed.
    #[error("{message}")]
    Gateway { code: &'static str, message: String },
    /// The tenant's request rate is over its limit; nothing was done (429).
    #[error(
        "too many requests: the limit is {limit} per {window_secs} s; retry after {retry_after} s"
    )]
    RateLimited {
        limit: u32,
        window_secs: u32,
        retry_after: u64,
    },
    /// A dependency (store) is unavailable; safe to retry (503).
    #[error("a dependency is temporarily unavailable; retry with the same Idempotency-Key")]
    Unavailable(String),
    /// A bug or corrupt data (500). Never used for bad input.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 400 with the offending parameter named.
    pub fn invalid(
        code: &'static str,
        param: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError::Invalid {
            code,
            message: message.into(),
            param: Some(param.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) | StoreError::Conflict(m) => ApiError::Unavailable(m),
            StoreError::Corrupt(m) => ApiError::Internal(m),
        }
    }
}

/// What a gateway failure interrupted: it prefixes the 502's code, so a client tells a failed
/// charge from a failed refund without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayOp {
    /// Creating a payment (`gateway_…`), also refreshing one (`?refresh=true`).
    Charge,
    /// `POST /v1/payments/{id}/refunds` (`refund_…`).
    Refund,
    /// `POST /v1/payments/{id}/cancel` (`cancel_…`).
    Cancel,
}

/// The 502 code of a gateway failure of `class` during `op`. A table, not `format!`, so every
/// code the server can send is a literal that the contract test finds in docs/openapi.yaml.
pub fn gateway_failure_code(op: GatewayOp, class: ErrorClass) -> &'static str {
    use ErrorClass as C;
    use GatewayOp as O;
    match (op, class) {
        (O::Charge, C::Declined) => "gateway_declined",
        (O::Charge, C::Invalid) => "gateway_invalid",
        (O::Charge, C::Unavailable) => "gateway_unavailable",
        (O::Charge, C::Ambiguous) => "gateway_ambiguous",
        (O::Charge, C::Misconfigured) => "gateway_misconfigured",
        (O::Refund, C::Declined) => "refund_declined",
        (O::Refund, C::Invalid) => "refund_invalid",
        (O::Refund, C::Unavailable) => "refund_unavailable",
        (O::Refund, C::Ambiguous) => "refund_ambiguous",
        (O::Refund, C::Misconfigured) => "refund_misconfigured",
        (O::Cancel, C::Declined) => "cancel_declined",
        (O::Cancel, C::Invalid) => "cancel_invalid",
        (O::Cancel, C::Unavailable) => "cancel_unavailable",
        (O::Cancel, C::Ambiguous) => "cancel_ambiguous",
        (O::Cancel, C::Misconfigured) => "cancel_misconfigured",
    }
}

/// The 502 code when `op` was not even tried because the gateway's circuit breaker is open.
pub fn breaker_open_code(op: GatewayOp) -> &'static str {
    match op {
        GatewayOp::Charge => "gateway_breaker_open",
        GatewayOp::Refund => "refund_breaker_open",
        GatewayOp::Cancel => "cancel_breaker_open",
    }
}

/// Every 502 `code` ([`gateway_failure_code`], [`breaker_open_code`], and the stored
/// credentials that cannot make a client).
pub const GATEWAY_CODES: &[&str] = &[
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
];

/// Every 400 `invalid_request` code, with what it means (the README and docs/openapi.yaml
/// carry the same list; `tests/tests/error_codes.rs` keeps the three in step). The first
/// group is the shape of the input — one code per kind of problem, whatever the route — and
/// the rest are the API's own rules about a value.
pub const INVALID_CODES: &[(&str, &str)] = &[
    ("body_not_json", "the body is not JSON: empty where one is needed, cut short, or not JSON at all"),
    ("body_not_object", "the body is JSON but not an object"),
    ("parameter_missing", "a required field is absent or null"),
    ("parameter_invalid_integer", "a field that takes an integer got a decimal, a string, another type, or a number too large"),
    ("parameter_invalid_type", "a field got the wrong JSON type (a string, boolean, object or array was expected)"),
    ("parameter_invalid_enum", "a value is not one of the listed ones (method, mode, status, type, true/false, …)"),
    ("parameter_invalid_string", "a text is empty, too long, or holds control characters"),
    ("parameter_invalid_format", "a text is not in its format: a time, a date, a month, an id, a cursor"),
    ("parameter_out_of_range", "a number (or time window) is outside its bounds"),
    ("parameter_conflict", "parameters that are fine alone do not go together (month with from, from after to, expires_in without pix, …)"),
    ("parameter_duplicate", "a field is given twice in one object"),
    ("unknown_parameter", "a body field or query parameter the route does not take"),
    ("invalid_amount", "amount is zero, negative, or beyond what the currency allows"),
    ("invalid_currency", "currency is not an ISO 4217 code the API takes"),
    ("currency_not_supported", "the method does not take this currency (Pix and boleto are BRL only)"),
    ("invalid_document", "customer.document is not a valid CPF or CNPJ"),
    ("customer_document_required", "a boleto needs customer.document"),
    ("invalid_email", "customer.email is not an email address"),
    ("invalid_metadata", "metadata has too many keys, or a key or value too long"),
    ("card_token_required", "a card payment needs card.tokens with at least one token"),
    ("card_not_allowed", "card is given with a method other than card"),
    ("invalid_card_token", "a card token is empty, too long or holds control characters"),
    ("unknown_gateway", "a gateway name the deployment does not have"),
    ("gateway_does_not_support_method", "routing lists a gateway for a method it does not take"),
    ("invalid_routing", "routing is empty, or lists a gateway twice"),
    ("invalid_callback_url", "a callback URL that is not https, not public, or not a URL"),
    ("invalid_credentials", "gateway credentials that are incomplete or cannot make a client"),
    ("livemode_required", "the operation needs a live key (sk_live_…)"),
    ("invalid_webhook", "a gateway webhook whose body cannot be read"),
];

/// Every (`type`, `code`) pair outside 400 `invalid_request` and 502 `gateway`.
pub const OTHER_CODES: &[(&str, &str)] = &[
    ("invalid_request", "body_too_large"),
    ("invalid_request", "resource_exists"),
    ("invalid_request", "invalid_state"),
    ("invalid_request", "method_not_allowed"),
    ("invalid_request", "gateway_not_configured"),
    ("invalid_request", "no_gateway_for_method"),
    ("invalid_request", "amount_exceeds_refundable"),
    ("invalid_request", "no_callback_url"),
    ("authentication", "unauthenticated"),
    ("idempotency", "idempotency_key_invalid"),
    ("idempotency", "idempotency_key_in_use"),
    ("idempotency", "idempotency_key_reused"),
    ("not_found", "resource_missing"),
    ("gateway", "gateway_credentials_changed"),
    ("rate_limited", "rate_limited"),
    ("internal", "dependency_unavailable"),
    ("internal", "internal_error"),
];

/// Every error `type` the server sends.
pub const ERROR_TYPES: &[&str] = &[
    "invalid_request",
    "authentication",
    "idempotency",
    "not_found",
    "gateway",
    "rate_limited",
    "internal",
];

/// Every error `code` the server can send, each once.
pub fn all_error_codes() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = INVALID_CODES.iter().map(|(c, _)| *c).collect();
    v.extend(GATEWAY_CODES);
    v.extend(OTHER_CODES.iter().map(|(_, c)| *c));
    v
}
