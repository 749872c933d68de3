//! Use cases: what the API does, in terms of ports only.

mod admin_api;
mod breaker;
mod budget;
mod cancel;
mod charge;
mod create_payment;
mod create_request;
pub mod credentials;
mod events_api;
mod fingerprint;
mod gateways_view;
mod idempotent;
pub(crate) mod json_body;
mod keys_api;
mod orchestrator;
mod outbox;
mod payment_search;
pub(crate) mod payment_view;
mod payment_write;
mod queries;
mod rate_limit;
mod reconcile;
mod reconciliation;
mod refunds;
mod routing;
mod settings_api;
mod sweeper;
mod usage_api;
mod webhook_endpoint;
mod webhook_test;
pub mod webhooks;

pub use breaker::Breakers;
pub use budget::{DEADLINE_EXCEEDED, NO_TIME_LEFT};
pub use create_payment::{gateway_key, Reply, PAYMENTS_PATH};
pub use create_request::{parse_create, NewPayment, MAX_EXPIRES_IN, MIN_EXPIRES_IN};
pub use fingerprint::fingerprint;
pub use gateways_view::GatewayStatus;
pub use orchestrator::{Orchestrator, Principal, ServiceConfig};
pub use outbox::{effects_for, events_for};
pub use payment_view::{refund_view, render_payment, view, PaymentView, RefundView};
pub use queries::{DEFAULT_LIMIT, MAX_LIMIT};
pub use rate_limit::WINDOW_SECS;
pub use reconciliation::{
    run_view, ReconcilePass, ADOPT_AFTER, MAX_WINDOW, SCHEDULE_LAG, SCHEDULE_SPAN,
};
pub use sweeper::{SweepReport, SWEEP_BATCH, SWEEP_GRACE_SECONDS, SWEEP_PASS_SECONDS};
pub use usage_api::{
    month_bounds, parse_month, RecountDiff, RecountReport, UsageQuery, MAX_SERIES_DAYS,
};
pub use webhook_test::TEST_TIMEOUT;
