//! The one error type of the API. Every failure a request can meet is a variant here; the
//! mapping to HTTP status, error `type` and `code` lives in `api::error_response` and nowhere else.

use crate::ports::StoreError;

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
    /// The route exists but not for this HTTP method (405).
    #[error("method not allowed on this path")]
    MethodNotAllowed,
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
    /// Every gateway failed and none created a charge (502).
    #[error("{message}")]
    Gateway { code: String, message: String },
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
