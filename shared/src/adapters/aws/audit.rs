//! The audit log on DynamoDB: one item per tenant in the tenants table (`pk = audit#<tenant>`)
//! whose `entries` list (JSON strings, oldest first) grows by `list_append` and is trimmed to
//! the newest [`MAX_AUDIT_ENTRIES`]; a listing is one `GetItem`.

use super::item::{s, unavailable};
use crate::domain::TenantId;
use crate::ports::{AuditEntry, AuditStore, StoreError, MAX_AUDIT_ENTRIES};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

/// The DynamoDB audit store.
#[derive(Debug, Clone)]
pub struct DynamoAuditStore {
    client: Client,
    table: String,
}

impl DynamoAuditStore {
    /// On the tenants table.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn pk(t: &TenantId) -> String {
    format!("audit#{}", t.as_str())
}

#[async_trait]
impl AuditStore for DynamoAuditStore {
    async fn record(&self, tenant: &TenantId, entry: &AuditEntry) -> Result<(), StoreError> {
        let json = serde_json::to_string(entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(tenant)))
            .update_expression("SET entries = list_append(if_not_exists(entries, :empty), :e)")
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":e", AttributeValue::L(vec![s(json)]))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        let len = match out.attributes.as_ref().and_then(|a| a.get("entries")) {
            Some(AttributeValue::L(l)) => l.len(),
            _ => 0,
        };
        if len > MAX_AUDIT_ENTRIES {
            let drop: Vec<String> = (0..len - MAX_AUDIT_ENTRIES)
                .map(|i| format!("entries[{i}]"))
                .collect();
            // Trimming is housekeeping: a failure leaves a longer log, never a lost entry.
            let _ = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(pk(tenant)))
                .update_expression(format!("REMOVE {}", drop.join(", ")))
                .send()
                .await;
        }
        Ok(())
    }

    async fn list(&self, tenant: &TenantId, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk(tenant)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(AttributeValue::L(list)) = out.item.as_ref().and_then(|i| i.get("entries")) else {
            return Ok(vec![]);
        };
        list.iter()
            .rev()
            .take(limit)
            .map(|v| {
                let j = v
                    .as_s()
                    .map_err(|_| StoreError::Corrupt("audit entry is not a string".into()))?;
                serde_json::from_str(j).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }
}
