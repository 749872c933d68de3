//! DynamoDB adapters (real AWS SDK; in tests it talks to `moto_server` over HTTP).

mod idempotency;
mod item;
mod payments;
mod schema;
mod tenants;

pub use idempotency::DynamoIdempotencyStore;
pub use payments::{DynamoPaymentStore, BY_REFERENCE, BY_TENANT};
pub use schema::{create_tables, TableNames};
pub use tenants::DynamoTenantStore;

/// Builds a DynamoDB client from the standard AWS configuration (`AWS_ENDPOINT_URL` and friends
/// included), once per process.
pub async fn client_from_env() -> aws_sdk_dynamodb::Client {
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_dynamodb::Client::new(&conf)
}
