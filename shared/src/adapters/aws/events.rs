//! Gateway event records on DynamoDB (`pk` = tenant#gateway#event id), TTL'd.

use super::item::{get_s, n, s, unavailable, Item};
use crate::domain::PaymentId;
use crate::ports::{EventRecord, EventState, EventStore, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

/// The DynamoDB event store.
#[derive(Debug, Clone)]
pub struct DynamoEventStore {
    client: Client,
    table: String,
}

impl DynamoEventStore {
    /// Uses an existing client (built once per Lambda instance).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn state_str(s: EventState) -> &'static str {
    match s {
        EventState::Received => "received",
        EventState::Applied => "applied",
        EventState::Delivered => "delivered",
        EventState::Ignored => "ignored",
    }
}

fn parse_state(s: &str) -> Result<EventState, StoreError> {
    Ok(match s {
        "received" => EventState::Received,
        "applied" => EventState::Applied,
        "delivered" => EventState::Delivered,
        "ignored" => EventState::Ignored,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown event state `{other}`"
            )))
        }
    })
}

fn from_item(item: &Item) -> Result<EventRecord, StoreError> {
    Ok(EventRecord {
        key: get_s(item, "pk")?.to_string(),
        event_id: get_s(item, "event_id")?.to_string(),
        payment_id: PaymentId::parse(get_s(item, "payment_id")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        target: get_s(item, "target")?
            .parse()
            .map_err(|_| StoreError::Corrupt("bad target status".into()))?,
        state: parse_state(get_s(item, "state")?)?,
        callback_body: match item.get("callback_body") {
            Some(aws_sdk_dynamodb::types::AttributeValue::S(b)) => Some(b.clone()),
            _ => None,
        },
    })
}

#[async_trait]
impl EventStore for DynamoEventStore {
    async fn begin(
        &self,
        record: &EventRecord,
        expires_at: DateTime<Utc>,
    ) -> Result<EventRecord, StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&record.key))
            .item("event_id", s(&record.event_id))
            .item("payment_id", s(record.payment_id.as_str()))
            .item("target", s(record.target.as_str()))
            .item("state", s(state_str(record.state)))
            .item("ttl", n(expires_at.timestamp()))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(b) = &record.callback_body {
            req = req.item("callback_body", s(b));
        }
        match req.send().await {
            Ok(_) => Ok(record.clone()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("pk", s(&record.key))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(unavailable)?;
                out.item
                    .as_ref()
                    .map(from_item)
                    .transpose()?
                    .ok_or_else(|| StoreError::Conflict("event record vanished".into()))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn advance(
        &self,
        key: &str,
        from: EventState,
        to: EventState,
        callback_body: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .condition_expression("#state = :from")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":from", s(state_str(from)))
            .expression_attribute_values(":to", s(state_str(to)));
        req = match callback_body {
            Some(b) => req
                .update_expression("SET #state = :to, callback_body = :b")
                .expression_attribute_values(":b", s(b)),
            None => req.update_expression("SET #state = :to"),
        };
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Conflict(format!(
                    "event {key} not in state {}",
                    state_str(from)
                )))
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}
