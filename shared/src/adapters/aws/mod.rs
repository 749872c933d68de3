//! AWS adapters: DynamoDB stores and the SQS queue (real AWS SDK; in tests they talk to moto over HTTP).

mod audit;
mod breaker;
mod commit;
mod events;
mod idempotency;
mod item;
mod kms;
mod outbox;
mod payments;
mod queue;
mod schema;
mod sealed_credentials;
mod secrets;
mod stream;
mod tenants;
mod usage;

pub use audit::DynamoAuditStore;
pub use breaker::DynamoBreakerStore;
pub use commit::DynamoCreateCommit;
pub use events::{DynamoEventStore, UNMATCHED_BY_TENANT};
pub use idempotency::DynamoIdempotencyStore;
pub use kms::KmsCipher;
pub use outbox::{DynamoOutbox, EVENTS_BY_PAYMENT, EVENTS_BY_TENANT, OUTBOX_RETENTION_DAYS};
pub use payments::{DynamoPaymentStore, BY_GATEWAY_REF, BY_REFERENCE, BY_TENANT};
pub use queue::{redrive, SqsWebhookQueue, MAX_VISIBILITY};
pub use schema::{create_tables, TableNames};
pub use sealed_credentials::{DynamoSealedCredentials, CREDENTIAL_PK_PREFIX};
pub use secrets::{SecretsManagerCredentials, SECRET_CACHE_TTL};
pub use stream::OutboxStreamPoller;
pub use tenants::DynamoTenantStore;
pub use usage::DynamoUsageStore;

/// The standard AWS configuration (`AWS_ENDPOINT_URL`, region, credentials chain), loaded once
/// per process; every client of the process is built from it, on [`http_client`].
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
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
