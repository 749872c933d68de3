//! The outbox relay: hands each newly written merchant event to the delivery queue, where the
//! worker's schedule, dead-letter queue and redrive apply. Its sources are the outbox's change
//! feed — on AWS the outbox table's DynamoDB stream (a second event source of the worker
//! Lambda), in the dev server the in-memory feed. The feed only moves past a record once the
//! queue accepted it, so a crash between the write and the hand-over delays an event, never
//! loses it; a repeated hand-over is harmless (delivery skips an event already delivered, and
//! the merchant dedupes on `webhook-id`).

use crate::domain::TenantId;
use crate::ports::{DeliveryMessage, StoreError, WebhookQueue};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

/// One new outbox record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayItem {
    pub tenant_id: TenantId,
    pub event_id: String,
    /// The feed position (the stream record's sequence number), reported back on failure.
    pub position: String,
    /// The X-Ray trace of the request that wrote the event, handed on to the queue message.
    pub trace_header: Option<String>,
}

/// Forwards outbox records to the delivery queue.
#[derive(Clone)]
pub struct Relay {
    queue: Arc<dyn WebhookQueue>,
}

impl Relay {
    /// Over the worker's queue.
    pub fn new(queue: Arc<dyn WebhookQueue>) -> Self {
        Self { queue }
    }

    /// Hands the items over in order. On failure returns the index of the first item not
    /// handed over: the feed retries from there (earlier ones are done).
    pub async fn forward(&self, items: &[RelayItem]) -> Result<(), (usize, StoreError)> {
        for (i, item) in items.iter().enumerate() {
            crate::failpoint!("relay.before_send", |_| Err((
                i,
                StoreError::Unavailable("failpoint relay.before_send".into())
            )));
            let msg = DeliveryMessage::new(item.event_id.clone(), item.tenant_id.clone())
                .traced(item.trace_header.clone());
            self.queue.send_delivery(&msg).await.map_err(|e| (i, e))?;
        }
        Ok(())
    }
}

/// Hands everything the in-memory outbox has written since the last call to the relay, in
/// write order; stops at the first failure, leaving that event first in the feed.
pub async fn relay_memory_feed(
    outbox: &crate::adapters::memory::MemoryOutbox,
    relay: &Relay,
) -> Result<usize, StoreError> {
    let mut n = 0;
    while let Some((tenant_id, event_id)) = outbox.peek_feed() {
        let item = RelayItem {
            tenant_id,
            event_id: event_id.clone(),
            position: event_id.clone(),
            trace_header: None,
        };
        relay
            .forward(std::slice::from_ref(&item))
            .await
            .map_err(|(_, e)| e)?;
        outbox.ack(&event_id);
        n += 1;
    }
    Ok(n)
}

/// A DynamoDB stream batch as Lambda delivers it, reduced to what the relay needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamBatch {
    /// Inserts of outbox items, in stream order.
    pub items: Vec<RelayItem>,
    /// Records that are not inserts (delivery-log updates, TTL deletes): nothing to relay.
    pub skipped: usize,
    /// Inserts that name no event or tenant (never written by this code): skipped, logged.
    pub malformed: usize,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "Records", default)]
    records: Vec<RawRecord>,
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(rename = "eventName")]
    event_name: Option<String>,
    dynamodb: Option<RawChange>,
}

#[derive(Deserialize)]
struct RawChange {
    #[serde(rename = "NewImage", default)]
    new_image: HashMap<String, serde_json::Value>,
    #[serde(rename = "SequenceNumber")]
    sequence_number: Option<String>,
}

fn string_attr(image: &HashMap<String, serde_json::Value>, name: &str) -> Option<String> {
    image.get(name)?.get("S")?.as_str().map(str::to_string)
}

/// Parses a Lambda DynamoDB stream event of the outbox table (`NEW_IMAGE` view). An insert
/// without a sequence number, event id or valid tenant cannot be delivered by anyone: it is
/// counted in `malformed` (the handler logs it) and skipped, so it never blocks the shard.
pub fn parse_stream_event(v: &serde_json::Value) -> Result<StreamBatch, String> {
    let raw: RawEvent =
        serde_json::from_value(v.clone()).map_err(|e| format!("not a stream event: {e}"))?;
    let mut items = Vec::new();
    let mut skipped = 0;
    let mut malformed = 0;
    for r in raw.records {
        if r.event_name.as_deref() != Some("INSERT") {
            skipped += 1;
            continue;
        }
        let Some(change) = r.dynamodb else {
            malformed += 1;
            continue;
        };
        let event_id = string_attr(&change.new_image, "id");
        let tenant_id =
            string_attr(&change.new_image, "tenant_id").and_then(|t| TenantId::parse(&t).ok());
        match (change.sequence_number, event_id, tenant_id) {
            (Some(position), Some(event_id), Some(tenant_id)) => items.push(RelayItem {
                tenant_id,
                event_id,
                position,
                trace_header: string_attr(&change.new_image, "trace_header")
                    .filter(|t| crate::telemetry::valid_trace_header(t)),
            }),
            _ => malformed += 1,
        }
    }
    Ok(StreamBatch {
        items,
        skipped,
        malformed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_are_relayed_and_updates_skipped() {
        let ev = serde_json::json!({"Records": [
            {"eventName": "INSERT", "eventSource": "aws:dynamodb", "dynamodb": {
                "Keys": {"id": {"S": "evt_1"}}, "SequenceNumber": "100",
                "NewImage": {"id": {"S": "evt_1"}, "tenant_id": {"S": "ten_a"}}}},
            {"eventName": "MODIFY", "eventSource": "aws:dynamodb", "dynamodb": {
                "Keys": {"id": {"S": "evt_0"}}, "SequenceNumber": "101"}},
        ]});
        let b = parse_stream_event(&ev).unwrap();
        assert_eq!((b.skipped, b.malformed), (1, 0));
        assert_eq!(b.items.len(), 1);
        assert_eq!(
            (b.items[0].event_id.as_str(), b.items[0].position.as_str()),
            ("evt_1", "100")
        );
        // Inserts that cannot be delivered are counted and skipped, never a stuck shard.
        for bad in [
            serde_json::json!({"Records": [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": {}}}]}),
            serde_json::json!({"Records": [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1",
                "NewImage": {"id": {"S": "evt_1"}, "tenant_id": {"S": "bad tenant!"}}}}]}),
            serde_json::json!({"Records": [{"eventName": "INSERT"}]}),
        ] {
            let b = parse_stream_event(&bad).unwrap();
            assert_eq!((b.items.len(), b.malformed), (0, 1), "{bad}");
        }
        assert!(parse_stream_event(&serde_json::json!({"Records": "x"})).is_err());
    }
}
