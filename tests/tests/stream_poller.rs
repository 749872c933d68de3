//! The dev server's outbox stream poller (`adapters/aws/stream.rs` `OutboxStreamPoller`)
//! against a scripted DynamoDB Streams endpoint — moto keeps one shard per stream, so it can
//! neither page `DescribeStream` nor split a shard. The endpoint lists one shard per page
//! (`LastEvaluatedShardId`) and holds a closed parent shard and its child, the child's id
//! sorting first: every shard must be found, and the child read only after its parent was read
//! to its end, so one key's records reach the queue in write order. Over moto itself the poller
//! is exercised by `outbox_crash.rs`, `webhooks_e2e.rs` and the other pipeline tests.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use shared::adapters::memory::MemoryQueue;
use shared::ports::DeliveryMessage;
use shared::service::webhooks::Relay;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One scripted shard: its parent, its batches of event ids, and whether it is closed (a
/// closed shard's last batch comes without a next iterator).
struct Shard {
    id: &'static str,
    parent: Option<&'static str>,
    batches: Vec<Vec<&'static str>>,
    closed: bool,
}

struct Fake {
    shards: Vec<Shard>,
    /// Shards per `DescribeStream` page.
    per_page: usize,
    /// Every call, in order: "Op shard[#batch]".
    calls: Mutex<Vec<String>>,
}

const STREAM_ARN: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/outbox/stream/2026";

impl Fake {
    fn answer(&self, target: &str, body: &serde_json::Value) -> serde_json::Value {
        let op = target.rsplit('.').next().unwrap_or_default();
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        match op {
            "DescribeTable" => serde_json::json!({"Table": {
                "TableName": "outbox", "LatestStreamArn": STREAM_ARN}}),
            "DescribeStream" => {
                // One shard per page.
                let start = body["ExclusiveStartShardId"].as_str();
                calls.push(format!("DescribeStream {}", start.unwrap_or("-")));
                let at = match start {
                    None => 0,
                    Some(s) => self
                        .shards
                        .iter()
                        .position(|x| x.id == s)
                        .map_or(usize::MAX, |i| i + 1),
                };
                let mut desc = serde_json::json!({"StreamArn": STREAM_ARN, "StreamStatus": "ENABLED",
                    "StreamViewType": "NEW_IMAGE", "Shards": []});
                let page: Vec<serde_json::Value> = self
                    .shards
                    .iter()
                    .skip(at)
                    .take(self.per_page)
                    .map(|s| {
                        let mut range = serde_json::json!({"StartingSequenceNumber": "1"});
                        if s.closed {
                            range["EndingSequenceNumber"] = "999".into();
                        }
                        let mut shard =
                            serde_json::json!({"ShardId": s.id, "SequenceNumberRange": range});
                        if let Some(p) = s.parent {
                            shard["ParentShardId"] = p.into();
                        }
                        shard
                    })
                    .collect();
                let end = at.saturating_add(page.len());
                if end < self.shards.len() {
                    desc["LastEvaluatedShardId"] = self.shards[end - 1].id.into();
                }
                desc["Shards"] = page.into();
                serde_json::json!({"StreamDescription": desc})
            }
            "GetShardIterator" => {
                let shard = body["ShardId"].as_str().unwrap_or_default();
                calls.push(format!("GetShardIterator {shard}"));
                serde_json::json!({"ShardIterator": format!("{shard}#0")})
            }
            "GetRecords" => {
                let it = body["ShardIterator"].as_str().unwrap_or_default();
                calls.push(format!("GetRecords {it}"));
                let (shard, n) = it.split_once('#').unwrap_or((it, "0"));
                let n: usize = n.parse().unwrap_or(0);
                let s = self
                    .shards
                    .iter()
                    .find(|s| s.id == shard)
                    .expect("known shard");
                let records: Vec<serde_json::Value> = s
                    .batches
                    .get(n)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                    .map(|(i, evt)| {
                        serde_json::json!({"eventID": format!("{shard}-{n}-{i}"), "eventName": "INSERT",
                            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                            "dynamodb": {"SequenceNumber": format!("{}{n}{i}", shard.len()),
                                "StreamViewType": "NEW_IMAGE", "SizeBytes": 10,
                                "Keys": {"id": {"S": evt}},
                                "NewImage": {"id": {"S": evt}, "tenant_id": {"S": "ten_a"}}}})
                    })
                    .collect();
                let last = n + 1 >= s.batches.len();
                if s.closed && last {
                    serde_json::json!({"Records": records})
                } else {
                    serde_json::json!({"Records": records,
                        "NextShardIterator": format!("{shard}#{}", (n + 1).min(s.batches.len()))})
                }
            }
            other => panic!("unexpected call {other}"),
        }
    }
}

async fn start(fake: Arc<Fake>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    integration_tests::serve_http(
        listener,
        move |req: hyper::Request<hyper::body::Incoming>| {
            let fake = fake.clone();
            async move {
                let target = req
                    .headers()
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let out = fake.answer(&target, &body);
                hyper::Response::builder()
                    .header("content-type", "application/x-amz-json-1.0")
                    .body(Full::new(Bytes::from(out.to_string())))
                    .expect("response")
            }
        },
    );
    url
}

async fn poller(url: &str) -> shared::adapters::aws::OutboxStreamPoller {
    let creds = aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "t");
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .http_client(shared::adapters::aws::http_client())
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .endpoint_url(url)
            .credentials_provider(creds.clone())
            .build(),
    );
    let streams = aws_sdk_dynamodbstreams::Client::from_conf(
        aws_sdk_dynamodbstreams::Config::builder()
            .http_client(shared::adapters::aws::http_client())
            .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodbstreams::config::Region::new("us-east-1"))
            .endpoint_url(url)
            .credentials_provider(creds)
            .build(),
    );
    shared::adapters::aws::OutboxStreamPoller::new(&dynamo, streams, "outbox")
        .await
        .expect("poller")
}

fn drain(q: &MemoryQueue) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let batch = q.receive(10, std::time::Duration::from_secs(60));
        if batch.is_empty() {
            return out;
        }
        for m in batch {
            let msg: DeliveryMessage = serde_json::from_str(&m.body).expect("message");
            out.push(msg.deliver_event);
            q.delete(&m.receipt_handle);
        }
    }
}

/// A split parent (closed, two batches), its child (sorting first by id) and a shard whose
/// parent was trimmed, listed `per_page` at a time.
async fn a_child_is_read_only_after_its_parent(per_page: usize) -> Vec<String> {
    let fake = Arc::new(Fake {
        per_page,
        shards: vec![
            // A shard that split: closed, two batches left to read.
            Shard {
                id: "shardId-2-parent",
                parent: None,
                batches: vec![vec!["evt_1", "evt_2"], vec!["evt_3"]],
                closed: true,
            },
            // Its child (sorting first by id), still open.
            Shard {
                id: "shardId-1-child",
                parent: Some("shardId-2-parent"),
                batches: vec![vec!["evt_4"], vec![]],
                closed: false,
            },
            // An unrelated shard whose parent is past the retention (no longer listed).
            Shard {
                id: "shardId-3-orphan",
                parent: Some("shardId-0-trimmed"),
                batches: vec![vec!["evt_9"]],
                closed: false,
            },
        ],
        calls: Mutex::new(Vec::new()),
    });
    let url = start(fake.clone()).await;
    let mut p = poller(&url).await;
    let queue = Arc::new(MemoryQueue::new(8));
    let relay = Relay::new(queue.clone());

    // First poll: all three pages listed; the parent's first batch and the orphan are read,
    // the child waits for its parent.
    assert_eq!(p.poll_and_forward(&relay).await.expect("poll"), 3);
    assert_eq!(drain(&queue), ["evt_1", "evt_2", "evt_9"]);
    // Second poll: the parent's last batch (no next iterator: read to its end), then its child.
    assert_eq!(p.poll_and_forward(&relay).await.expect("poll"), 2);
    assert_eq!(drain(&queue), ["evt_3", "evt_4"]);
    assert_eq!(p.poll_and_forward(&relay).await.expect("poll"), 0);
    assert!(drain(&queue).is_empty());

    let calls = fake.calls.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let first = |c: &str| calls.iter().position(|x| x == c);
    let child_read = first("GetShardIterator shardId-1-child").expect("child read");
    let parent_done = first("GetRecords shardId-2-parent#1").expect("parent read to its end");
    assert!(parent_done < child_read, "{calls:#?}");
    calls
}

#[tokio::test]
async fn a_child_shard_is_read_only_after_its_parent_was_read_to_its_end() {
    let calls = a_child_is_read_only_after_its_parent(100).await;
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.starts_with("DescribeStream"))
            .count(),
        3,
        "one page a poll"
    );
}

#[tokio::test]
async fn every_page_of_shards_is_read() {
    let calls = a_child_is_read_only_after_its_parent(1).await;
    let pages: BTreeMap<&str, usize> = calls
        .iter()
        .filter_map(|c| c.strip_prefix("DescribeStream "))
        .fold(BTreeMap::new(), |mut m, s| {
            *m.entry(s).or_insert(0) += 1;
            m
        });
    // Three polls, three pages each.
    assert_eq!(
        pages,
        BTreeMap::from([("-", 3), ("shardId-1-child", 3), ("shardId-2-parent", 3)])
    );
}
