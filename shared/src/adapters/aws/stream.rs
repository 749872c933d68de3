//! Reading the outbox table's DynamoDB stream directly, as the Lambda event source mapping
//! does in AWS: for the dev server on DynamoDB and for tests over moto. Every shard the stream
//! lists is found (`DescribeStream` is paged by `ExclusiveStartShardId`); each is read from its
//! oldest record, and a child shard only once its parent is closed and read to its end (or
//! trimmed, no longer listed) — DynamoDB Streams keeps one key's records in order only across
//! that parent-before-child order. A batch the relay could not finish is read again from the
//! first record it did not hand over, so nothing is skipped.

use crate::ports::StoreError;
use crate::service::webhooks::{Relay, RelayItem};
use aws_sdk_dynamodbstreams::error::DisplayErrorContext;
use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType, ShardIteratorType};
use std::collections::{BTreeMap, BTreeSet};

/// A shard as `DescribeStream` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedShard {
    pub id: String,
    /// The shard it split from, if any (it may already be trimmed, i.e. no longer listed).
    pub parent: Option<String>,
}

/// The listed shards that may be read now, in listing order: those not yet read to their end
/// whose parent is none, no longer listed (trimmed), or itself read to its end (`drained`: a
/// closed shard whose `GetRecords` returned no next iterator). A child of a parent still being
/// read waits, so one key's records are handed over in write order.
pub fn readable_shards(listed: &[ListedShard], drained: &BTreeSet<String>) -> Vec<String> {
    let ids: BTreeSet<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    listed
        .iter()
        .filter(|s| !drained.contains(&s.id))
        .filter(|s| match s.parent.as_deref() {
            None => true,
            // A shard naming itself as parent is nonsense; read it rather than never.
            Some(p) if p == s.id => true,
            Some(p) => !ids.contains(p) || drained.contains(p),
        })
        .map(|s| s.id.clone())
        .collect()
}

/// Where the poller stands on one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    /// Listed, not read yet (its parent may still be being read).
    Waiting,
    /// Being read: the next iterator.
    At(String),
    /// Closed and read to its end.
    Drained,
}

/// A poller over one table's stream.
pub struct OutboxStreamPoller {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    /// shard id → where reading stands (shards no longer listed are forgotten).
    shards: BTreeMap<String, Cursor>,
    /// shard id → the last sequence number handed over, to resume after an iterator expired
    /// (they last 15 minutes).
    done: BTreeMap<String, String>,
}

fn unavailable(e: impl std::error::Error) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

/// At most this many `DescribeStream` pages per poll (100 shards each): a bound against an
/// endpoint that keeps answering with a next page.
const MAX_DESCRIBE_PAGES: usize = 1_000;

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

    /// Every shard the stream lists, following `LastEvaluatedShardId` page by page.
    async fn list_shards(&self) -> Result<Vec<ListedShard>, StoreError> {
        let mut listed: Vec<ListedShard> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut start: Option<String> = None;
        for _ in 0..MAX_DESCRIBE_PAGES {
            let out = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.clone())
                .send()
                .await
                .map_err(unavailable)?;
            let Some(desc) = out.stream_description() else {
                break;
            };
            for s in desc.shards() {
                let Some(id) = s.shard_id() else { continue };
                if seen.insert(id.to_string()) {
                    listed.push(ListedShard {
                        id: id.to_string(),
                        parent: s.parent_shard_id().map(str::to_string),
                    });
                }
            }
            match desc.last_evaluated_shard_id() {
                // The same page again would never end.
                Some(last) if start.as_deref() != Some(last) => start = Some(last.to_string()),
                _ => break,
            }
        }
        Ok(listed)
    }

    /// Reads what is new on every shard that may be read (parents before children) and hands
    /// it to the relay. Returns how many events were handed over; on a relay failure the shard
    /// is rewound to the failed record.
    pub async fn poll_and_forward(&mut self, relay: &Relay) -> Result<usize, StoreError> {
        let listed = self.list_shards().await?;
        let ids: BTreeSet<&str> = listed.iter().map(|s| s.id.as_str()).collect();
        // Trimmed shards are gone for good: their children no longer wait for them.
        self.shards.retain(|id, _| ids.contains(id.as_str()));
        self.done.retain(|id, _| ids.contains(id.as_str()));
        for s in &listed {
            self.shards.entry(s.id.clone()).or_insert(Cursor::Waiting);
        }
        let mut forwarded = 0;
        let mut read = BTreeSet::new();
        // A parent read to its end in one round frees its children for the next one; each
        // shard is read at most once per poll, so this ends after at most one round per shard.
        loop {
            let drained: BTreeSet<String> = self
                .shards
                .iter()
                .filter(|(_, c)| **c == Cursor::Drained)
                .map(|(id, _)| id.clone())
                .collect();
            let next: Vec<String> = readable_shards(&listed, &drained)
                .into_iter()
                .filter(|id| !read.contains(id))
                .collect();
            if next.is_empty() {
                return Ok(forwarded);
            }
            for id in next {
                forwarded += self.read_shard(&id, relay).await?;
                read.insert(id);
            }
        }
    }

    /// One `GetRecords` on the shard, handed to the relay.
    async fn read_shard(&mut self, id: &str, relay: &Relay) -> Result<usize, StoreError> {
        let it = match self.shards.get(id) {
            Some(Cursor::At(it)) => it.clone(),
            Some(Cursor::Waiting) => {
                match self
                    .iterator(id, ShardIteratorType::TrimHorizon, None)
                    .await?
                {
                    Some(it) => it,
                    None => {
                        tracing::warn!(shard = id, "no iterator for an outbox stream shard");
                        return Ok(0);
                    }
                }
            }
            Some(Cursor::Drained) | None => return Ok(0),
        };
        let out = match self
            .client
            .get_records()
            .shard_iterator(it.clone())
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                // An expired (or otherwise refused) iterator: resume after the last record
                // handed over, or from the oldest one.
                let fresh = match self.done.get(id).cloned() {
                    Some(seq) => {
                        self.iterator(id, ShardIteratorType::AfterSequenceNumber, Some(&seq))
                            .await
                    }
                    None => {
                        self.iterator(id, ShardIteratorType::TrimHorizon, None)
                            .await
                    }
                };
                if let Ok(Some(it)) = fresh {
                    self.shards.insert(id.to_string(), Cursor::At(it));
                }
                return Err(unavailable(e));
            }
        };
        let items = relay_items(out.records());
        match relay.forward(&items).await {
            Ok(()) => {
                if let Some(last) = out.records().last().and_then(|r| r.dynamodb()) {
                    if let Some(seq) = last.sequence_number() {
                        self.done.insert(id.to_string(), seq.to_string());
                    }
                }
                // No next iterator: the shard is closed and read to its end.
                let next = match out.next_shard_iterator() {
                    Some(n) => Cursor::At(n.to_string()),
                    None => Cursor::Drained,
                };
                self.shards.insert(id.to_string(), next);
                Ok(items.len())
            }
            Err((i, e)) => {
                // Read again from the first record not handed over (without it, the whole
                // batch: a repeated hand-over is harmless).
                let rewound = match items.get(i) {
                    Some(item) => self
                        .iterator(
                            id,
                            ShardIteratorType::AtSequenceNumber,
                            Some(&item.position),
                        )
                        .await?
                        .unwrap_or(it),
                    None => it,
                };
                self.shards.insert(id.to_string(), Cursor::At(rewound));
                Err(e)
            }
        }
    }
}

/// The outbox inserts among stream records, in order. A record without event id, valid
/// tenant or sequence number cannot be delivered by anyone: skipped and logged, so it never
/// blocks the shard (as the Lambda handler does).
fn relay_items(records: &[aws_sdk_dynamodbstreams::types::Record]) -> Vec<RelayItem> {
    let mut items = Vec::new();
    for r in records {
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
            tracing::error!("outbox stream record without event id, tenant or sequence skipped");
            continue;
        };
        items.push(RelayItem {
            tenant_id,
            event_id,
            position: seq,
            trace_header: attr("trace_header").filter(|t| crate::telemetry::valid_trace_header(t)),
        });
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>) -> ListedShard {
        ListedShard {
            id: id.into(),
            parent: parent.map(str::to_string),
        }
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_child_shard_waits_until_its_parent_is_read_to_its_end() {
        // p split into c1 and c2; c1 split again into g. Ids sort children first on purpose.
        let listed = [
            shard("shard-9-parent", None),
            shard("shard-1-child", Some("shard-9-parent")),
            shard("shard-2-child", Some("shard-9-parent")),
            shard("shard-0-grandchild", Some("shard-1-child")),
        ];
        assert_eq!(readable_shards(&listed, &set(&[])), ["shard-9-parent"]);
        assert_eq!(
            readable_shards(&listed, &set(&["shard-9-parent"])),
            ["shard-1-child", "shard-2-child"]
        );
        assert_eq!(
            readable_shards(&listed, &set(&["shard-9-parent", "shard-1-child"])),
            ["shard-2-child", "shard-0-grandchild"]
        );
        assert!(readable_shards(
            &listed,
            &set(&[
                "shard-9-parent",
                "shard-1-child",
                "shard-2-child",
                "shard-0-grandchild"
            ])
        )
        .is_empty());
    }

    #[test]
    fn a_trimmed_parent_does_not_hold_its_child() {
        // The parent is past the retention: no longer listed, so the child is read at once.
        let listed = [
            shard("child", Some("trimmed-parent")),
            shard("self-parented", Some("self-parented")),
        ];
        assert_eq!(
            readable_shards(&listed, &set(&[])),
            ["child", "self-parented"]
        );
        // An open parent (listed, not drained) holds its child whatever the listing order.
        let listed = [shard("child", Some("parent")), shard("parent", None)];
        assert_eq!(readable_shards(&listed, &set(&[])), ["parent"]);
    }
}
