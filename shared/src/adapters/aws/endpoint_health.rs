//! Endpoint health records on DynamoDB, in the breaker table (they are breakers of callback
//! endpoints): `pk = <tenant>#endpoint#<url hash>`, the record as JSON in `health`, its version
//! in `ver` (writes conditional on it).

use super::item::{get_s, is_conditional, n, s, unavailable};
use crate::domain::EndpointHealth;
use crate::ports::{EndpointHealthStore, EndpointKey, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

/// The DynamoDB endpoint health store.
#[derive(Debug, Clone)]
pub struct DynamoEndpointHealth {
    client: Client,
    table: String,
}

impl DynamoEndpointHealth {
    /// Over the breaker table.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl EndpointHealthStore for DynamoEndpointHealth {
    async fn load(&self, key: &EndpointKey) -> Result<EndpointHealth, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(key.storage_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        match out.item {
            None => Ok(EndpointHealth::default()),
            Some(item) => serde_json::from_str(get_s(&item, "health")?)
                .map_err(|e| StoreError::Corrupt(format!("endpoint health: {e}"))),
        }
    }

    async fn save(
        &self,
        key: &EndpointKey,
        expected_version: u64,
        next: &EndpointHealth,
    ) -> Result<bool, StoreError> {
        let body = serde_json::to_string(next).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(key.storage_key()))
            .item("health", s(body))
            .item("ver", n(next.version));
        req = if expected_version == 0 {
            req.condition_expression("attribute_not_exists(pk) OR ver = :v")
        } else {
            req.condition_expression("ver = :v")
        }
        .expression_attribute_values(":v", n(expected_version));
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_conditional(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}
