//! The outbox on DynamoDB: one item per merchant event (`id` = `evt_<ULID>`), written only as a
//! `Put` inside the transaction that makes the change it reports (see `payments.rs` and
//! `commit.rs`). The table's stream (new images; the relay takes inserts) is the relay's source; GSIs
//! `by_tenant` and `by_payment` list events newest first. The delivery log lives on the item:
//! `state` and `attempts` (a list of JSON strings), updated by the worker.

use super::item::{
    get_for_tenant, get_s, is_conditional, n, s, transact, unavailable, IndexQuery, Item, TxOutcome,
};
use super::usage::usage_update;
use super::TableNames;
use crate::adapters::memory::{callback_count, event_matches};
use crate::domain::{
    ulid_time, DeliveryAttempt, DeliveryState, MerchantEvent, StoredEvent, TenantId, UsageDelta,
    MAX_LOGGED_ATTEMPTS,
};
use crate::ports::{EventFilter, EventPage, OutboxStore, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use chrono::Utc;
use std::collections::HashMap;

/// Index for listing a tenant's events.
pub const EVENTS_BY_TENANT: &str = "by_tenant";
/// Index for listing one payment's events.
pub const EVENTS_BY_PAYMENT: &str = "by_payment";
/// How long events (and their delivery logs) are kept.
pub const OUTBOX_RETENTION_DAYS: i64 = 30;

/// The DynamoDB outbox.
#[derive(Debug, Clone)]
pub struct DynamoOutbox {
    client: Client,
    table: String,
    usage_table: String,
}

impl DynamoOutbox {
    /// Uses an existing client (built once per Lambda instance), the outbox table and the usage
    /// table deliveries are counted in.
    pub fn new(client: Client, tables: &TableNames) -> Self {
        Self {
            client,
            table: tables.outbox.clone(),
            usage_table: tables.usage.clone(),
        }
    }
}

/// The usage counter a move into `state` counts, if any (whatever the state was: the write's
/// condition excludes the ones that don't count).
fn counted_state(state: DeliveryState) -> Option<&'static str> {
    callback_count(DeliveryState::Pending, state)
}

fn state_str(s: DeliveryState) -> &'static str {
    match s {
        DeliveryState::Pending => "pending",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
        DeliveryState::NoEndpoint => "no_endpoint",
    }
}

fn parse_state(v: &str) -> Result<DeliveryState, StoreError> {
    Ok(match v {
        "pending" => DeliveryState::Pending,
        "delivered" => DeliveryState::Delivered,
        "failed" => DeliveryState::Failed,
        "no_endpoint" => DeliveryState::NoEndpoint,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown delivery state `{other}`"
            )))
        }
    })
}

/// The `Put` of a new event, for the transaction of the change it reports (condition: the id
/// is new, so a replayed write can never store an event twice).
pub(crate) fn event_put(table: &str, e: &MerchantEvent) -> Result<Put, StoreError> {
    let doc = serde_json::to_string(e).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let ttl = (e.created_at + chrono::Duration::days(OUTBOX_RETENTION_DAYS)).timestamp();
    let mut item = Item::new();
    item.insert("id".into(), s(&e.id));
    item.insert("tenant_id".into(), s(e.tenant_id.as_str()));
    item.insert("payment_id".into(), s(e.payment_id.as_str()));
    item.insert("type".into(), s(e.kind.as_str()));
    item.insert("doc".into(), s(doc));
    item.insert("state".into(), s(state_str(DeliveryState::Pending)));
    item.insert("attempts".into(), AttributeValue::L(vec![]));
    item.insert("ttl".into(), n(ttl));
    // The writing request's trace, which the relay hands on to the delivery message.
    if let Some(t) = crate::telemetry::trace_header() {
        item.insert("trace_header".into(), s(t));
    }
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(id)")
        .build()
        .map_err(|err| StoreError::Corrupt(format!("transaction item: {err}")))
}

fn from_item(item: &Item) -> Result<StoredEvent, StoreError> {
    let event: MerchantEvent = serde_json::from_str(get_s(item, "doc")?)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let attempts = match item.get("attempts") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .filter_map(|v| v.as_s().ok())
            .map(|j| serde_json::from_str(j).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<Vec<DeliveryAttempt>, _>>()?,
        _ => Vec::new(),
    };
    Ok(StoredEvent {
        event,
        state: parse_state(get_s(item, "state")?)?,
        attempts,
    })
}

#[async_trait]
impl OutboxStore for DynamoOutbox {
    async fn get(&self, tenant_id: &TenantId, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        get_for_tenant(&self.client, &self.table, id, tenant_id.as_str())
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn list(
        &self,
        tenant_id: &TenantId,
        filter: &EventFilter,
        limit: usize,
        starting_after: Option<&str>,
    ) -> Result<EventPage, StoreError> {
        let (index, key_attr, key_val) = match &filter.payment_id {
            Some(p) => (EVENTS_BY_PAYMENT, "payment_id", p.as_str().to_string()),
            None => (
                EVENTS_BY_TENANT,
                "tenant_id",
                tenant_id.as_str().to_string(),
            ),
        };
        let items = IndexQuery {
            client: &self.client,
            table: &self.table,
            index,
            key_attr,
            key_val,
            filter: filter.kind.map(|k| ("type", k.as_str().to_string())),
            limit,
            starting_after,
        }
        .run(|item| {
            let e = from_item(item)?;
            // The payment index is not tenant-scoped by key: check the tenant here.
            Ok((&e.event.tenant_id == tenant_id && event_matches(&e.event, filter)).then_some(e))
        })
        .await?;
        let (items, next_cursor) = crate::ports::split_page(items, limit, |e| e.event.id.clone());
        Ok(EventPage { items, next_cursor })
    }

    async fn record_attempt(
        &self,
        tenant_id: &TenantId,
        id: &str,
        attempt: Option<&DeliveryAttempt>,
        state: DeliveryState,
    ) -> Result<(), StoreError> {
        let mut names = HashMap::from([("#state".to_string(), "state".to_string())]);
        let mut values = HashMap::from([
            (":t".to_string(), s(tenant_id.as_str())),
            (":s".to_string(), s(state_str(state))),
        ]);
        let expression = match attempt {
            Some(a) => {
                let json =
                    serde_json::to_string(a).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                values.insert(":empty".into(), AttributeValue::L(vec![]));
                values.insert(":a".into(), AttributeValue::L(vec![s(json)]));
                "SET #state = :s, attempts = list_append(if_not_exists(attempts, :empty), :a)"
            }
            None => "SET #state = :s",
        };
        if state != DeliveryState::Delivered {
            values.insert(":delivered".into(), s(state_str(DeliveryState::Delivered)));
        }
        // A move into `delivered` or `failed` is counted in the usage, once: the update is
        // conditional on the state being another one, in one transaction with the counter.
        if let Some(name) = counted_state(state) {
            let at = ulid_time(id.trim_start_matches("evt_")).unwrap_or_else(Utc::now);
            let delta = UsageDelta::one(tenant_id, at, id, name);
            let condition = if state == DeliveryState::Delivered {
                "tenant_id = :t AND #state <> :s"
            } else {
                "tenant_id = :t AND #state <> :s AND #state <> :delivered"
            };
            let update = Update::builder()
                .table_name(&self.table)
                .key("id", s(id))
                .update_expression(expression)
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .build()
                .map_err(|e| StoreError::Corrupt(format!("transaction item: {e}")))?;
            let tx = self
                .client
                .transact_write_items()
                .set_transact_items(Some(vec![
                    TransactWriteItem::builder().update(update).build(),
                    TransactWriteItem::builder()
                        .update(usage_update(&self.usage_table, &delta)?)
                        .build(),
                ]));
            match transact(tx).await {
                // Bounded anyway: the log is trimmed at the next uncounted write.
                Ok(TxOutcome::Written) => return Ok(()),
                // Already in that state (or not this tenant's): the plain write below decides.
                Ok(TxOutcome::ConditionFailed) => {}
                // The delivery still gets recorded; only its count is lost.
                Err(e) => {
                    tracing::warn!(event_id = %id, error = %e, "delivery not counted in the usage; recording it without the count");
                }
            }
        }
        // A delivered event stays delivered: a concurrent duplicate hand-over that failed (or a
        // failed resend) must not turn it back into pending or failed.
        let condition = if state == DeliveryState::Delivered {
            "tenant_id = :t"
        } else {
            "tenant_id = :t AND #state <> :delivered"
        };
        names.retain(|k, _| k == "#state");
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) if is_conditional(&e) => {
                return Err(StoreError::Conflict(format!(
                    "no event {id}, or it is delivered already"
                )))
            }
            Err(e) => return Err(unavailable(e)),
        };
        // Keep the log bounded: trim the oldest entries once it grows past the cap.
        let len = match out.attributes.as_ref().and_then(|a| a.get("attempts")) {
            Some(AttributeValue::L(l)) => l.len(),
            _ => 0,
        };
        if len > MAX_LOGGED_ATTEMPTS {
            let drop: Vec<String> = (0..len - MAX_LOGGED_ATTEMPTS)
                .map(|i| format!("attempts[{i}]"))
                .collect();
            let _ = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("id", s(id))
                .update_expression(format!("REMOVE {}", drop.join(", ")))
                .send()
                .await;
        }
        Ok(())
    }
}
