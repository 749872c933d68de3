//! AWS adapters: DynamoDB stores and the SQS queue (real AWS SDK; in tests they talk to moto over HTTP).

mod events;
mod idempotency;
mod item;
mod payments;
mod queue;
mod schema;
mod secrets;
mod tenants;

pub use events::DynamoEventStore;
pub use idempotency::DynamoIdempotencyStore;
pub use payments::{DynamoPaymentStore, BY_GATEWAY_REF, BY_REFERENCE, BY_TENANT};
pub use queue::{redrive, SqsWebhookQueue, MAX_VISIBILITY};
pub use schema::{create_tables, TableNames};
pub use secrets::{SecretsManagerCredentials, SECRET_CACHE_TTL};
pub use tenants::DynamoTenantStore;

/// Builds a DynamoDB client from the standard AWS configuration (`AWS_ENDPOINT_URL` and friends
/// included), once per process.
pub async fn client_from_env() -> aws_sdk_dynamodb::Client {
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_dynamodb::Client::new(&conf)
}

/// Builds an SQS client from the standard AWS configuration, once per process.
pub async fn sqs_client_from_env() -> aws_sdk_sqs::Client {
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_sqs::Client::new(&conf)
}

/// Builds a Secrets Manager client from the standard AWS configuration, once per process.
pub async fn secrets_client_from_env() -> aws_sdk_secretsmanager::Client {
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_secretsmanager::Client::new(&conf)
}
