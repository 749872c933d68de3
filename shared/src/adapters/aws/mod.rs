//! AWS adapters: DynamoDB stores and the SQS queue (real AWS SDK; in tests they talk to moto over HTTP).

mod audit;
mod breaker;
mod commit;
mod endpoint_health;
mod events;
mod idempotency;
mod item;
mod kms;
mod outbox;
mod payments;
mod queue;
mod reconciliation;
mod schema;
mod sealed_credentials;
mod secrets;
mod stream;
mod tenants;
mod usage;

pub use audit::DynamoAuditStore;
pub use breaker::DynamoBreakerStore;
pub use commit::DynamoCreateCommit;
pub use endpoint_health::DynamoEndpointHealth;
pub use events::{DynamoEventStore, UNMATCHED_BY_TENANT};
pub use idempotency::DynamoIdempotencyStore;
pub use kms::KmsCipher;
pub use outbox::{DynamoOutbox, EVENTS_BY_PAYMENT, EVENTS_BY_TENANT, OUTBOX_RETENTION_DAYS};
pub use payments::{DynamoPaymentStore, BY_GATEWAY_REF, BY_REFERENCE, BY_TENANT};
pub use queue::{redrive, SqsWebhookQueue};
pub use reconciliation::DynamoReconciliationStore;
pub use schema::{create_tables, TableNames};
pub use sealed_credentials::{DynamoSealedCredentials, CREDENTIAL_PK_PREFIX};
pub use secrets::{SecretsManagerCredentials, SECRET_CACHE_TTL};
pub use stream::OutboxStreamPoller;
pub use tenants::DynamoTenantStore;
pub use usage::DynamoUsageStore;

/// The standard AWS configuration (`AWS_ENDPOINT_URL`, region, credentials chain), loaded once
/// per process; every client of the process is built from it, on [`http_client`].
pub async fn load_config() -> aws_config::SdkConfig {
    config_loader().load().await
}

/// The loader behind [`load_config`]: the one HTTP client and the timeouts; tests add an
/// endpoint and credentials to it.
///
/// Stalled-stream protection is off: it watches every request and response body for a
/// throughput under 1 B/s over a 5 s grace period, which the attempt timeout ([`timeouts`], 3 s
/// by default) already cuts short, and its per-request body wrappers and interceptors cost CPU
/// on every call of the hot path (docs/BENCHMARKS.md, "CPU per warm create").
pub fn config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeouts())
        .stalled_stream_protection(
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
        )
}

/// Every AWS call is bounded. Without these the SDK waits forever on a connection that stopped
/// answering: the fault run (`loadtest faults`, a blackhole in front of DynamoDB) saw creates
/// hang past any client's patience and the outbox relay stall for good. An attempt that times out
/// is retried by the SDK (transactions carry a client request token, so a retried write applies
/// once); when the whole operation times out the caller gets `StoreError::Unavailable` (503)
/// and the idempotency key's claim stays until its in-flight expiry, as for any outage.
///
/// `AWS_ATTEMPT_TIMEOUT_MS` and `AWS_OPERATION_TIMEOUT_MS` (100–60000) override the last two —
/// for local emulators that pause (moto on a loaded machine), not for production.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    use std::time::Duration;
    let ms = |var: &str, default: u64| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|v| (100..=60_000).contains(v))
            .map_or(Duration::from_millis(default), Duration::from_millis)
    };
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(ms("AWS_ATTEMPT_TIMEOUT_MS", 3_000))
        .operation_timeout(ms("AWS_OPERATION_TIMEOUT_MS", 8_000))
        .build()
}

/// The HTTPS client every AWS SDK client uses: hyper 1 with rustls on `ring`, the same stack
/// reqwest (gateway clients) already links, so a binary carries one TLS and one HTTP
/// implementation (the SDKs' default would add aws-lc-rs and a second hyper/rustls). Clients
/// built by hand (tests, tools) pass it to their config builder too.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
