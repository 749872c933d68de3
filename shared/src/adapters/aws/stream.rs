//! Reading the outbox table's DynamoDB stream directly, as the Lambda event source mapping
//! does in AWS: for the dev server on DynamoDB and for tests over moto. Each shard is read from
//! its oldest record; a batch the relay could not finish is read again from the first record
//! it did not hand over, so nothing is skipped.

use crate::ports::StoreError;
use crate::service::webhooks::{Relay, RelayItem};
use aws_sdk_dynamodbstreams::error::DisplayErrorContext;
use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType, ShardIteratorType};
use std::collections::BTreeMap;

/// A poller over one table's stream.
pub struct OutboxStreamPoller {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    /// shard id → next iterator (`None` once the shard is closed and read to its end).
    shards: BTreeMap<String, Option<String>>,
    /// shard id → the last sequence number handed over, to resume after an iterator expired
    /// (they last 15 minutes).
    done: BTreeMap<String, String>,
}

fn unavailable(e: impl std::error::Error) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

impl OutboxStreamPoller {
    /// Finds the table's stream; shards are discovered on every poll.
    pub async fn new(
        dynamo: &aws_sdk_dynamodb::Client,
        client: aws_sdk_dynamodbstreams::Client,
        table: &str,
    ) -> Result<Self, StoreError> {
        let out = dynamo
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(super::item::unavailable)?;
        let stream_arn = out
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| StoreError::Corrupt(format!("table {table} has no stream")))?
            .to_string();
        Ok(Self {
            client,
            stream_arn,
            shards: BTreeMap::new(),
            done: BTreeMap::new(),
        })
    }

    async fn iterator(
        &self,
        shard: &str,
        kind: ShardIteratorType,
        seq: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_sequence_number(seq.map(str::to_string))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.shard_iterator().map(str::to_string))
    }

    /// Reads what is new on every shard and hands it to the relay. Returns how many events
    /// were handed over; on a relay failure the shard is rewound to the failed record.
    pub async fn poll_and_forward(&mut self, relay: &Relay) -> Result<usize, StoreError> {
        let desc = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(unavailable)?;
        let shard_ids: Vec<String> = desc
            .stream_description()
            .map(|d| {
                d.shards()
                    .iter()
                    .filter_map(|s| s.shard_id().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for id in shard_ids {
            if !self.shards.contains_key(&id) {
                let it = self
                    .iterator(&id, ShardIteratorType::TrimHorizon, None)
                    .await?;
                self.shards.insert(id, it);
            }
        }
        let mut forwarded = 0;
        let ids: Vec<String> = self.shards.keys().cloned().collect();
        for id in ids {
            let Some(Some(it)) = self.shards.get(&id).cloned() else {
                continue;
            };
            let out = match self.client.get_records().shard_iterator(it).send().await {
                Ok(o) => o,
                Err(e) => {
                    // An expired (or otherwise refused) iterator: resume after the last record
                    // handed over, or from the oldest one.
                    let fresh = match self.done.get(&id).cloned() {
                        Some(seq) => {
                            self.iterator(&id, ShardIteratorType::AfterSequenceNumber, Some(&seq))
                                .await
                        }
                        None => {
                            self.iterator(&id, ShardIteratorType::TrimHorizon, None)
                                .await
                        }
                    };
                    if let Ok(it) = fresh {
                        self.shards.insert(id.clone(), it);
                    }
                    return Err(unavailable(e));
                }
            };
            let mut items = Vec::new();
            for r in out.records() {
                if r.event_name() != Some(&OperationType::Insert) {
                    continue;
                }
                let Some(change) = r.dynamodb() else { continue };
                let image = change.new_image();
                let attr = |k: &str| match image.and_then(|i| i.get(k)) {
                    Some(AttributeValue::S(v)) => Some(v.clone()),
                    _ => None,
                };
                let (Some(event_id), Some(tenant_id), Some(seq)) = (
                    attr("id"),
                    attr("tenant_id").and_then(|t| crate::domain::TenantId::parse(&t).ok()),
                    change.sequence_number().map(str::to_string),
                ) else {
                    // Nobody can deliver it; skipping keeps the shard moving (as the Lambda does).
                    tracing::error!(
                        "outbox stream record without event id, tenant or sequence skipped"
                    );
                    continue;
                };
                items.push(RelayItem {
                    tenant_id,
                    event_id,
                    position: seq,
                    trace_header: attr("trace_header")
                        .filter(|t| crate::telemetry::valid_trace_header(t)),
                });
            }
            match relay.forward(&items).await {
                Ok(()) => {
                    forwarded += items.len();
                    if let Some(last) = out.records().last().and_then(|r| r.dynamodb()) {
                        if let Some(seq) = last.sequence_number() {
                            self.done.insert(id.clone(), seq.to_string());
                        }
                    }
                    self.shards
                        .insert(id, out.next_shard_iterator().map(str::to_string));
                }
                Err((i, e)) => {
                    let it = self
                        .iterator(
                            &id,
                            ShardIteratorType::AtSequenceNumber,
                            Some(&items[i].position),
                        )
                        .await?;
                    self.shards.insert(id, it);
                    return Err(e);
                }
            }
        }
        Ok(forwarded)
    }
}
