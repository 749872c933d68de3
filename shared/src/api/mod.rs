//! The HTTP API, independent of how requests arrive: the proxy Lambda and the dev server both
//! turn their requests into an [`ApiRequest`] and render the [`ApiResponse`].

pub mod console;
mod error_response;
#[cfg(feature = "lambda")]
pub mod lambda_glue;
mod router;
mod webhook_route;

pub use error_response::{error_response, rate_limit_policy};
pub use router::{handle, ROUTES};
pub use webhook_route::{handle_webhook, is_webhook_path};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method};

/// Largest body accepted (256 KiB); more is a 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A request as the API sees it.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the caller gives up (the Lambda deadline); bounds in-flight idempotency claims.
    pub deadline: Option<DateTime<Utc>>,
    /// The client's address, for source-IP allowlists (EFI webhooks).
    pub source_ip: Option<std::net::IpAddr>,
    /// The issuer DN of the client certificate the front door verified over mutual TLS (API
    /// Gateway's `requestContext.authentication.clientCert.issuerDN`); `None` without mutual
    /// TLS (the dev server, a domain without a trust store).
    pub client_cert_issuer: Option<String>,
}

/// A response to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl ApiResponse {
    /// A JSON response.
    pub fn json(status: u16, body: String) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body,
        }
    }

    /// The value of a header, for tests.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
