//! Transport failures, classified the same way for every HTTP gateway.

use crate::ports::{ErrorClass, GatewayError};

/// Refused before sending (connect, DNS, TLS) means nothing was created; a timeout or a broken
/// connection after sending is ambiguous.
pub fn classify_transport(e: reqwest::Error) -> GatewayError {
    let (class, code) = if e.is_connect() {
        (ErrorClass::Unavailable, "connect_failed")
    } else if e.is_timeout() {
        (ErrorClass::Ambiguous, "timeout")
    } else {
        (ErrorClass::Ambiguous, "transport_error")
    };
    GatewayError {
        class,
        code: code.into(),
        message: e.without_url().to_string(),
    }
}

/// Reads a gateway's answer: a 2xx body decoded as `T`, anything else handed to the gateway's
/// own `classify(status, headers, body)`. An undecodable 2xx is ambiguous: the call happened,
/// and whatever it created is unknown.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    gateway: &str,
    res: reqwest::Response,
    classify: impl FnOnce(u16, &reqwest::header::HeaderMap, &[u8]) -> GatewayError,
) -> Result<T, GatewayError> {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.map_err(classify_transport)?;
    if !(200..300).contains(&status) {
        return Err(classify(status, &headers, &bytes));
    }
    serde_json::from_slice(&bytes).map_err(|e| GatewayError {
        class: ErrorClass::Ambiguous,
        code: "unreadable_response".into(),
        message: format!("{gateway} answered {status} with an unreadable body: {e}"),
    })
}
