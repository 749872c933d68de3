//! Breaker records on DynamoDB, one item per (tenant, gateway): `pk = <tenant>#<gateway>`.
//!
//! Attributes: `gen` (generation), `phase` (`closed`/`open`), `open_until` (epoch ms), `opens`,
//! window slots `w<i>b` (bucket start, ms), `w<i>c` (calls), `w<i>f` (failures), and probe
//! leases `p<k>` (epoch ms). Counters move with `ADD` (atomic); every other change is an
//! `UpdateItem` conditional on `gen`, so concurrent instances never both win.

use super::item::{get_s, is_conditional, unavailable, Item};
use crate::domain::{BreakerRecord, Phase, Transition, MAX_PROBES, WINDOW_SLOTS};
use crate::ports::{BreakerKey, BreakerStore, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

/// The DynamoDB breaker store.
#[derive(Debug, Clone)]
pub struct DynamoBreakerStore {
    client: Client,
    table: String,
}

/// How often an addition retries when a peer reset the same bucket concurrently.
const ADD_ROUNDS: usize = 3;

impl DynamoBreakerStore {
    /// Uses an existing client (built once per Lambda instance).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// One conditional write into window slot `slot`: with `restart` false, `ADD` to a slot
    /// already holding this bucket; with `restart` true, restart a slot holding an older (or
    /// no) bucket at this one, creating the item if needed. `Ok(None)`: the condition failed.
    async fn write_bucket(
        &self,
        pk: &str,
        generation: u64,
        (slot, bucket_ms): (usize, i64),
        (calls, failures): (u64, u64),
        restart: bool,
    ) -> Result<Option<BreakerRecord>, StoreError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.into()))
            .expression_attribute_names("#gen", "gen")
            .expression_attribute_names("#b", format!("w{slot}b"))
            .expression_attribute_names("#c", format!("w{slot}c"))
            .expression_attribute_names("#f", format!("w{slot}f"))
            .expression_attribute_values(":g", num(generation))
            .expression_attribute_values(":b", num(bucket_ms))
            .expression_attribute_values(":c", num(calls))
            .expression_attribute_values(":f", num(failures))
            .return_values(ReturnValue::AllNew);
        req = if restart {
            // Generation 0 is the never-written record, so a missing item qualifies only then.
            let gen_ok = if generation == 0 {
                "(attribute_not_exists(#gen) OR #gen = :g)"
            } else {
                "#gen = :g"
            };
            req.update_expression(
                "SET #b = :b, #c = :c, #f = :f, #gen = if_not_exists(#gen, :g), #phase = if_not_exists(#phase, :closed)",
            )
            .condition_expression(format!("{gen_ok} AND (attribute_not_exists(#b) OR #b < :b)"))
            .expression_attribute_names("#phase", "phase")
            .expression_attribute_values(":closed", AttributeValue::S(CLOSED.into()))
        } else {
            req.update_expression("ADD #c :c, #f :f")
                .condition_expression("#gen = :g AND #b = :b")
        };
        updated(req.send().await)
    }
}

const CLOSED: &str = "closed";
const OPEN: &str = "open";

fn pk(key: &BreakerKey) -> String {
    format!("{}#{}", key.tenant_id.as_str(), key.gateway)
}

fn num(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

type UpdateResult = Result<
    aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
    aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::update_item::UpdateItemError,
        aws_sdk_dynamodb::config::http::HttpResponse,
    >,
>;

/// The record after a conditional `UpdateItem … ReturnValues=ALL_NEW`; `None` when the
/// condition failed.
fn updated(res: UpdateResult) -> Result<Option<BreakerRecord>, StoreError> {
    match res {
        Ok(out) => out.attributes.as_ref().map(decode).transpose(),
        Err(e) if is_conditional(&e) => Ok(None),
        Err(e) => Err(unavailable(e)),
    }
}

/// A number attribute, 0 when absent (slots and leases never written).
fn opt_num<T: std::str::FromStr + Default>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        None => Ok(T::default()),
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| {
            StoreError::Corrupt(format!("breaker attribute `{name}` is not a number"))
        }),
        Some(_) => Err(StoreError::Corrupt(format!(
            "breaker attribute `{name}` is not a number"
        ))),
    }
}

fn decode(item: &Item) -> Result<BreakerRecord, StoreError> {
    let mut rec = BreakerRecord {
        generation: opt_num(item, "gen")?,
        phase: match item.get("phase") {
            None => Phase::Closed,
            Some(_) => match get_s(item, "phase")? {
                CLOSED => Phase::Closed,
                OPEN => Phase::Open,
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "breaker phase `{other}` is unknown"
                    )))
                }
            },
        },
        open_until_ms: opt_num(item, "open_until")?,
        opens: opt_num(item, "opens")?,
        ..BreakerRecord::default()
    };
    for (i, slot) in rec.slots.iter_mut().enumerate() {
        slot.bucket_ms = opt_num(item, &format!("w{i}b"))?;
        slot.calls = opt_num(item, &format!("w{i}c"))?;
        slot.failures = opt_num(item, &format!("w{i}f"))?;
    }
    for (k, lease) in rec.probes.iter_mut().enumerate() {
        *lease = opt_num(item, &format!("p{k}"))?;
    }
    Ok(rec)
}

#[async_trait]
impl BreakerStore for DynamoBreakerStore {
    async fn load(&self, key: &BreakerKey) -> Result<BreakerRecord, StoreError> {
        // Strongly consistent: a load refreshes an instance's cache at most about once a second
        // per gateway, and a stale read there would delay an open by another cache period.
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item
            .as_ref()
            .map(decode)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    async fn add(
        &self,
        key: &BreakerKey,
        generation: u64,
        slot: usize,
        bucket_ms: i64,
        calls: u64,
        failures: u64,
    ) -> Result<Option<BreakerRecord>, StoreError> {
        if slot >= WINDOW_SLOTS {
            return Err(StoreError::Corrupt(format!(
                "window slot {slot} out of range"
            )));
        }
        let pk = pk(key);
        for _ in 0..ADD_ROUNDS {
            for restart in [false, true] {
                if let Some(r) = self
                    .write_bucket(
                        &pk,
                        generation,
                        (slot, bucket_ms),
                        (calls, failures),
                        restart,
                    )
                    .await?
                {
                    return Ok(Some(r));
                }
            }
            // Both conditions failed: the record moved to another generation, or the slot
            // holds a newer bucket, or a peer restarted it at this bucket just now (retry).
            let now = self.load(key).await?;
            let held = now.slots.get(slot).map(|s| s.bucket_ms).unwrap_or_default();
            if now.generation != generation {
                return Ok(None);
            }
            if held > bucket_ms {
                return Ok(Some(now));
            }
        }
        Ok(None)
    }

    async fn transition(
        &self,
        key: &BreakerKey,
        generation: u64,
        to: Transition,
    ) -> Result<Option<BreakerRecord>, StoreError> {
        let mut remove: Vec<String> = (0..MAX_PROBES).map(|k| format!("p{k}")).collect();
        if to.phase == Phase::Closed {
            for i in 0..WINDOW_SLOTS {
                remove.extend([format!("w{i}b"), format!("w{i}c"), format!("w{i}f")]);
            }
        }
        let gen_ok = if generation == 0 {
            "attribute_not_exists(#gen) OR #gen = :g"
        } else {
            "#gen = :g"
        };
        let phase = match to.phase {
            Phase::Closed => CLOSED,
            Phase::Open => OPEN,
        };
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk(key)))
            .update_expression(format!(
                "SET #gen = :next, #phase = :phase, #ou = :ou, #opens = :opens REMOVE {}",
                remove.join(", ")
            ))
            .condition_expression(gen_ok)
            .expression_attribute_names("#gen", "gen")
            .expression_attribute_names("#phase", "phase")
            .expression_attribute_names("#ou", "open_until")
            .expression_attribute_names("#opens", "opens")
            .expression_attribute_values(":g", num(generation))
            .expression_attribute_values(":next", num(generation + 1))
            .expression_attribute_values(":phase", AttributeValue::S(phase.into()))
            .expression_attribute_values(":ou", num(to.open_until_ms))
            .expression_attribute_values(":opens", num(to.opens))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        updated(res)
    }

    async fn claim_probe(
        &self,
        key: &BreakerKey,
        generation: u64,
        probe: usize,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError> {
        if probe >= MAX_PROBES {
            return Ok(false);
        }
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk(key)))
            .update_expression("SET #p = :lease")
            .condition_expression(
                "#gen = :g AND #phase = :open AND #ou <= :now AND (attribute_not_exists(#p) OR #p <= :now)",
            )
            .expression_attribute_names("#gen", "gen")
            .expression_attribute_names("#phase", "phase")
            .expression_attribute_names("#ou", "open_until")
            .expression_attribute_names("#p", format!("p{probe}"))
            .expression_attribute_values(":g", num(generation))
            .expression_attribute_values(":open", AttributeValue::S(OPEN.into()))
            .expression_attribute_values(":now", num(now_ms))
            .expression_attribute_values(":lease", num(lease_until_ms))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_conditional(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn release_probe(
        &self,
        key: &BreakerKey,
        generation: u64,
        probe: usize,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError> {
        if probe >= MAX_PROBES {
            return Ok(false);
        }
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk(key)))
            .update_expression("SET #p = :free")
            .condition_expression("#gen = :g AND #p = :lease")
            .expression_attribute_names("#gen", "gen")
            .expression_attribute_names("#p", format!("p{probe}"))
            .expression_attribute_values(":g", num(generation))
            .expression_attribute_values(":lease", num(lease_until_ms))
            .expression_attribute_values(":free", num(0))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_conditional(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}
