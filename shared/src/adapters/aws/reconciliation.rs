//! Reconciliation runs on DynamoDB, in the events table (beside the unmatched webhooks, with
//! the same `ttl` attribute): one item per run (`pk = recon#<tenant>#<run id>`, the run as JSON
//! with its findings) and one listing item per tenant (`pk = recon#<tenant>`, the runs'
//! summaries appended by `list_append` and trimmed to the newest [`MAX_LISTED_RUNS`]) — a
//! listing and a read are one `GetItem` each. Both expire [`RUN_RETENTION_DAYS`] after the
//! last run, so the table does not grow with every hourly pass.

use super::item::{s, unavailable};
use crate::domain::TenantId;
use crate::ports::{ReconciliationRun, ReconciliationStore, StoreError, MAX_LISTED_RUNS};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

/// How long a run is kept.
pub const RUN_RETENTION_DAYS: i64 = 90;

/// The DynamoDB run store.
#[derive(Debug, Clone)]
pub struct DynamoReconciliationStore {
    client: Client,
    table: String,
}

impl DynamoReconciliationStore {
    /// On the events table.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn list_pk(t: &TenantId) -> String {
    format!("recon#{}", t.as_str())
}

fn run_pk(t: &TenantId, id: &str) -> String {
    format!("recon#{}#{id}", t.as_str())
}

fn decode(v: &AttributeValue) -> Result<ReconciliationRun, StoreError> {
    let j = v
        .as_s()
        .map_err(|_| StoreError::Corrupt("reconciliation run is not a string".into()))?;
    serde_json::from_str(j).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl ReconciliationStore for DynamoReconciliationStore {
    async fn save(&self, tenant: &TenantId, run: &ReconciliationRun) -> Result<(), StoreError> {
        let full = serde_json::to_string(run).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let summary = serde_json::to_string(&run.summary())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let ttl = (run.finished_at + chrono::Duration::days(RUN_RETENTION_DAYS))
            .timestamp()
            .to_string();
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(run_pk(tenant, &run.id)))
            .item("run", s(full))
            .item("ttl", AttributeValue::N(ttl.clone()))
            .send()
            .await
            .map_err(unavailable)?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(list_pk(tenant)))
            .update_expression(
                "SET runs = list_append(if_not_exists(runs, :empty), :r), #ttl = :ttl",
            )
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":r", AttributeValue::L(vec![s(summary)]))
            .expression_attribute_values(":ttl", AttributeValue::N(ttl))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        let len = match out.attributes.as_ref().and_then(|a| a.get("runs")) {
            Some(AttributeValue::L(l)) => l.len(),
            _ => 0,
        };
        if len > MAX_LISTED_RUNS {
            let drop: Vec<String> = (0..len - MAX_LISTED_RUNS)
                .map(|i| format!("runs[{i}]"))
                .collect();
            // Housekeeping: a failure leaves a longer listing, never a lost run.
            let _ = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(list_pk(tenant)))
                .update_expression(format!("REMOVE {}", drop.join(", ")))
                .send()
                .await;
        }
        Ok(())
    }

    async fn get(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<ReconciliationRun>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(run_pk(tenant, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item
            .as_ref()
            .and_then(|i| i.get("run"))
            .map(decode)
            .transpose()
    }

    async fn list(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<ReconciliationRun>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(list_pk(tenant)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(AttributeValue::L(list)) = out.item.as_ref().and_then(|i| i.get("runs")) else {
            return Ok(vec![]);
        };
        list.iter().rev().take(limit).map(decode).collect()
    }
}
