//! Unmatched gateway webhooks on DynamoDB: `pk` = tenant#gateway#gateway event id (a repeat
//! overwrites nothing), the record as JSON in `doc`, TTL'd, and the GSI `unmatched_by_tenant`
//! (`tenant_id`, `received_at`) for the newest-first listing.

use super::item::{get_s, n, s, transact, unavailable, Item};
use super::usage::usage_update;
use super::TableNames;
use crate::domain::{usage_names, TenantId, UsageDelta};
use crate::ports::{EventStore, StoreError, UnmatchedWebhook};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

/// Index listing a tenant's unmatched webhooks by time.
pub const UNMATCHED_BY_TENANT: &str = "unmatched_by_tenant";

/// The DynamoDB store of unmatched webhooks.
#[derive(Debug, Clone)]
pub struct DynamoEventStore {
    client: Client,
    table: String,
    usage_table: String,
}

impl DynamoEventStore {
    /// Uses an existing client (built once per Lambda instance), the events table and the
    /// usage table a first recording is counted in.
    pub fn new(client: Client, tables: &TableNames) -> Self {
        Self {
            client,
            table: tables.events.clone(),
            usage_table: tables.usage.clone(),
        }
    }
}

fn from_item(item: &Item) -> Result<UnmatchedWebhook, StoreError> {
    serde_json::from_str(get_s(item, "doc")?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl EventStore for DynamoEventStore {
    async fn record_unmatched(
        &self,
        w: &UnmatchedWebhook,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let doc = serde_json::to_string(w).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let put = Put::builder()
            .table_name(&self.table)
            .item(
                "pk",
                s(format!(
                    "{}#{}#{}",
                    w.tenant_id, w.gateway, w.gateway_event_id
                )),
            )
            .item("tenant_id", s(w.tenant_id.as_str()))
            .item("received_at", s(crate::time_format::render(&w.received_at)))
            .item("doc", s(doc))
            .item("ttl", n(expires_at.timestamp()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Corrupt(format!("transaction item: {e}")))?;
        // The first recording is counted with it; a repeat (condition false) changes nothing.
        let delta = UsageDelta::one(
            &w.tenant_id,
            w.received_at,
            &w.gateway_event_id,
            usage_names::WEBHOOKS_UNMATCHED,
        );
        let tx = self
            .client
            .transact_write_items()
            .set_transact_items(Some(vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder()
                    .update(usage_update(&self.usage_table, &delta)?)
                    .build(),
            ]));
        transact(tx).await.map(|_| ())
    }

    async fn list_unmatched(
        &self,
        tenant_id: &TenantId,
        limit: usize,
    ) -> Result<Vec<UnmatchedWebhook>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(UNMATCHED_BY_TENANT)
            .key_condition_expression("tenant_id = :t")
            .expression_attribute_values(":t", s(tenant_id.as_str()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable)?;
        out.items().iter().map(from_item).collect()
    }
}
