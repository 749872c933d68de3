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
