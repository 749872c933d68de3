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
pub mod error;
pub mod gateways;
pub mod ports;
pub mod service;
pub mod signing;
pub mod telemetry;
pub mod time_format;
