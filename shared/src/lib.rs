//! The payment orchestrator's library: everything the Lambdas and the dev server share.
//!
//! Layout (ports and adapters): [`domain`] holds pure types and rules; [`ports`] the traits the
//! service needs; [`adapters`] their in-memory and DynamoDB implementations; [`gateways`] one
//! module per gateway; [`service`] the use cases; [`api`] the HTTP surface, independent of
//! whether a request came from API Gateway or the dev server.

pub mod adapters;
pub mod api;
pub mod bootstrap;
pub mod clock;
pub mod domain;
pub mod emf;
pub mod envelope;
pub mod error;
pub mod gateways;
pub mod ports;
pub mod service;
pub mod signing;
pub mod telemetry;
pub mod time_format;

/// A named point where tests inject a crash (`fail` crate). Compiled to nothing unless the
/// `failpoints` feature is on, which only the test crate enables: production binaries carry
/// none of it.
#[cfg(feature = "failpoints")]
#[macro_export]
macro_rules! failpoint {
    ($name:literal) => {
        fail::fail_point!($name)
    };
    // With `return`, the enclosing function returns what the closure gives (a failed write or
    // send, as the dependency dying at that instant would look to the caller).
    ($name:literal, $ret:expr) => {
        fail::fail_point!($name, $ret)
    };
}

/// Without the `failpoints` feature a failpoint is nothing at all.
#[cfg(not(feature = "failpoints"))]
#[macro_export]
macro_rules! failpoint {
    ($name:literal) => {};
    ($name:literal, $ret:expr) => {};
}
