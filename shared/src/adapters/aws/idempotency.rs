//! Idempotency records on DynamoDB: a conditional `PutItem` claims, a conditional `UpdateItem`
//! takes over an expired in-flight claim or completes, a conditional `DeleteItem` releases.

use super::item::{get_i64, get_s, is_conditional, n, s, unavailable, Item};
use crate::adapters::memory::new_lease_token;
use crate::domain::{CreateSteps, IdempotencyKey, PaymentId, TenantId, UsageDelta};
use crate::ports::{
    Adopted, ClaimOutcome, ClaimRequest, IdempotencyStore, Lease, StaleClaim, StoreError,
    StoredResponse,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

/// What the claim's write found.
enum PutResult {
    Claimed,
    /// The key exists (its item, when DynamoDB returned it).
    Exists(Option<Item>),
    RateLimited,
}

const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";

/// The sparse index of unsettled create claims: partition `sweep` (one of [`SWEEP_SHARDS`]
/// values, so claims spread over partitions), sort `in_flight_until`, keys only. The claim
/// writes `sweep`, the completion removes it, a release deletes the item: only claims still in
/// flight are in it.
pub const STALE_CLAIMS: &str = "stale_claims";
/// How many partitions the stale-claims index spreads over.
pub const SWEEP_SHARDS: u32 = 8;

/// The DynamoDB idempotency store. Item key: `pk = <tenant>#<key>`; `expires_at` and
/// `in_flight_until` in epoch ms are what the conditions compare (TTL deletes lazily). Only a
/// completed record carries `ttl` (epoch seconds, so DynamoDB cleans it up after retention): an
/// unsettled claim has none, so TTL can never delete a record whose gateway may hold a charge.
#[derive(Debug, Clone)]
pub struct DynamoIdempotencyStore {
    client: Client,
    table: String,
    /// The usage table refused creates are counted in (`payments.refused`); none: not counted.
    usage_table: Option<String>,
}

impl DynamoIdempotencyStore {
    /// Uses an existing client (built once per Lambda instance).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            usage_table: None,
        }
    }

    /// Counts the refused creates it releases in `usage_table`, in the release's own request.
    pub fn counting_refusals_in(mut self, usage_table: impl Into<String>) -> Self {
        self.usage_table = Some(usage_table.into());
        self
    }

    /// The claim's conditional `Put` — with a rate charge, in one `TransactWriteItems` with the
    /// window counter's conditional `ADD` (still one request; a refusal of either writes
    /// neither). A key that exists comes back with its item when DynamoDB returned it.
    async fn try_put(
        &self,
        pk: &str,
        token: &str,
        steps: &str,
        req: &ClaimRequest,
    ) -> Result<PutResult, StoreError> {
        // Only a completed record past its retention may be replaced: an unsettled one is taken
        // over (same payment id), whatever its age.
        let condition = "attribute_not_exists(pk) OR (expires_at <= :now AND #status = :done)";
        let mut item: Item = [
            ("pk", s(pk)),
            ("status", s(IN_PROGRESS)),
            ("fp", s(&req.fingerprint)),
            ("payment_id", s(req.candidate_payment_id.as_str())),
            ("lease", s(token)),
            ("in_flight_until", n(req.in_flight_until.timestamp_millis())),
            ("expires_at", n(req.expires_at.timestamp_millis())),
            ("steps", s(steps)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(body) = &req.sweep_body {
            item.insert("sweep".into(), s(sweep_shard(&req.candidate_payment_id)));
            item.insert("req_body".into(), s(body));
        }
        let Some(rate) = &req.rate else {
            let res = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition)
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":now", n(req.now.timestamp_millis()))
                .expression_attribute_values(":done", s(COMPLETED))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            return match res {
                Ok(_) => Ok(PutResult::Claimed),
                Err(e) => match e.as_service_error() {
                    Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => {
                        Ok(PutResult::Exists(c.item().cloned()))
                    }
                    _ => Err(unavailable(e)),
                },
            };
        };
        let build = |e: aws_sdk_dynamodb::error::BuildError| {
            StoreError::Corrupt(format!("transaction item: {e}"))
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", n(req.now.timestamp_millis()))
            .expression_attribute_values(":done", s(COMPLETED))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build)?;
        let window_end = rate.window_start + chrono::Duration::seconds(i64::from(rate.window_secs));
        let counter = Update::builder()
            .table_name(&self.table)
            .key(
                "pk",
                s(format!(
                    "#rl#{}#{}",
                    req.tenant_id,
                    rate.window_start.timestamp()
                )),
            )
            .update_expression("ADD #n :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#n) OR #n < :limit")
            .expression_attribute_names("#n", "n")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(rate.limit))
            .expression_attribute_values(":ttl", n(window_end.timestamp() + 3600))
            .build()
            .map_err(build)?;
        let tx = self
            .client
            .transact_write_items()
            .set_transact_items(Some(vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder().update(counter).build(),
            ]));
        // Contention on the tenant's counter (another request's transaction) wrote nothing:
        // send again a few times with a short jittered backoff.
        for attempt in 0u64..6 {
            let err = match tx.clone().send().await {
                Ok(_) => return Ok(PutResult::Claimed),
                Err(e) => e,
            };
            let reasons = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    c.cancellation_reasons().to_vec()
                }
                _ => return Err(unavailable(err)),
            };
            let failed = |i: usize| {
                reasons
                    .get(i)
                    .and_then(|r| r.code())
                    .is_some_and(|c| c == "ConditionalCheckFailed")
            };
            if failed(0) {
                return Ok(PutResult::Exists(
                    reasons.first().and_then(|r| r.item()).cloned(),
                ));
            }
            if failed(1) {
                return Ok(PutResult::RateLimited);
            }
            let contention = reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"));
            if !contention {
                return Err(unavailable(err));
            }
            let jitter = rand::random::<u64>() % 10;
            tokio::time::sleep(std::time::Duration::from_millis(5 * (attempt + 1) + jitter)).await;
        }
        Err(StoreError::Unavailable(
            "the tenant's rate-limit counter stayed contended".into(),
        ))
    }

    async fn read(&self, pk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// Tries to take over an in-flight claim whose holder's deadline passed. The steps come back
    /// from the same write (`ALL_NEW`), so none the old holder recorded can be missed. The
    /// record's retention restarts (`expires_at`) and any `ttl` an older writer left is removed,
    /// so neither a late claim nor DynamoDB's TTL can drop it while it is being settled.
    async fn take_over(
        &self,
        pk: &str,
        old: &Item,
        now: DateTime<Utc>,
        in_flight_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<(Lease, Item)>, StoreError> {
        let old_lease = get_s(old, "lease")?;
        let payment_id = PaymentId::parse(get_s(old, "payment_id")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let token = new_lease_token();
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .update_expression("SET #lease = :new, #ifu = :ifu, #exp = :exp REMOVE #ttl")
            .condition_expression("#lease = :old AND #status = :inprog AND #ifu <= :now")
            .expression_attribute_names("#lease", "lease")
            .expression_attribute_names("#ifu", "in_flight_until")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":new", s(&token))
            .expression_attribute_values(":old", s(old_lease))
            .expression_attribute_values(":inprog", s(IN_PROGRESS))
            .expression_attribute_values(":ifu", n(in_flight_until.timestamp_millis()))
            .expression_attribute_values(":exp", n(expires_at.timestamp_millis()))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                let lease = Lease {
                    payment_id,
                    token,
                    takeover: true,
                    steps: read_steps(Some(&item))?,
                };
                Ok(Some((lease, item)))
            }
            Err(e) if is_conditional(&e) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// The conditional update that completes a key; also used inside the create transaction.
pub(crate) struct Completion {
    pub pk: String,
    pub names: std::collections::HashMap<String, String>,
    pub values: Item,
}

impl Completion {
    /// Completing also takes the record out of the stale-claims index (`sweep`) and drops the
    /// request body the sweeper would have needed.
    pub const UPDATE: &'static str =
        "SET #status = :done, resp_status = :rs, resp_body = :rb, expires_at = :exp, #ttl = :ttl REMOVE #sweep, #reqb";
    pub const CONDITION: &'static str = "#lease = :lease AND #status = :inprog";

    pub fn of(
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
        response: &StoredResponse,
        expires_at: DateTime<Utc>,
    ) -> Self {
        let names = [
            ("#status", "status"),
            ("#lease", "lease"),
            ("#ttl", "ttl"),
            ("#sweep", "sweep"),
            ("#reqb", "req_body"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let values = [
            (":done", s(COMPLETED)),
            (":inprog", s(IN_PROGRESS)),
            (":rs", n(response.status)),
            (":rb", s(&response.body)),
            (":exp", n(expires_at.timestamp_millis())),
            (":ttl", n(expires_at.timestamp())),
            (":lease", s(&lease.token)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Self {
            pk: pk(tenant_id, key),
            names,
            values,
        }
    }
}

/// A write conditional on holding the lease: a failed condition means it was taken over.
fn lease_held<T, E, R>(res: Result<T, SdkError<E, R>>) -> Result<(), StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_conditional(&e) => Err(StoreError::Conflict(
            "idempotency lease no longer held".into(),
        )),
        Err(e) => Err(unavailable(e)),
    }
}

/// The `steps` attribute (JSON text), absent for records without gateway steps.
fn read_steps(item: Option<&Item>) -> Result<CreateSteps, StoreError> {
    match item.and_then(|i| i.get("steps")) {
        None => Ok(CreateSteps::default()),
        Some(v) => {
            let text = v
                .as_s()
                .map_err(|_| StoreError::Corrupt("steps is not a string".into()))?;
            serde_json::from_str(text)
                .map_err(|e| StoreError::Corrupt(format!("steps unreadable: {e}")))
        }
    }
}

fn write_steps(steps: &CreateSteps) -> Result<String, StoreError> {
    serde_json::to_string(steps).map_err(|e| StoreError::Corrupt(format!("steps: {e}")))
}

fn pk(tenant_id: &TenantId, key: &IdempotencyKey) -> String {
    format!("{}#{}", tenant_id.as_str(), key.as_str())
}

/// The stale-claims partition of a claim: spread by the payment id's random part.
fn sweep_shard(id: &PaymentId) -> String {
    let spread = id
        .as_str()
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("s{}", spread % SWEEP_SHARDS)
}

/// Tenant and key back from `pk` (tenant ids hold no `#`; keys may).
fn parse_pk(pk: &str) -> Result<(TenantId, IdempotencyKey), StoreError> {
    let (tenant, key) = pk
        .split_once('#')
        .ok_or_else(|| StoreError::Corrupt(format!("idempotency pk without tenant: {pk}")))?;
    let tenant = TenantId::parse(tenant).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let key = IdempotencyKey::parse(key).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((tenant, key))
}

/// What an existing, unexpired record means for this claim (takeover decided by the caller).
fn judge(old: &Item, req: &ClaimRequest) -> Result<Option<ClaimOutcome>, StoreError> {
    if get_s(old, "fp")? != req.fingerprint {
        return Ok(Some(ClaimOutcome::FingerprintMismatch));
    }
    if get_s(old, "status")? == COMPLETED {
        let status = u16::try_from(get_i64(old, "resp_status")?)
            .map_err(|_| StoreError::Corrupt("resp_status out of range".into()))?;
        let body = get_s(old, "resp_body")?.to_string();
        return Ok(Some(ClaimOutcome::Replay(StoredResponse { status, body })));
    }
    if get_i64(old, "in_flight_until")? > req.now.timestamp_millis() {
        return Ok(Some(ClaimOutcome::InFlight));
    }
    Ok(None)
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotencyStore {
    async fn claim(&self, req: &ClaimRequest) -> Result<ClaimOutcome, StoreError> {
        let pk = pk(&req.tenant_id, &req.key);
        let steps = write_steps(&req.steps)?;
        // A few rounds: a record can vanish (released) or be taken over between our calls.
        for _ in 0..4 {
            let token = new_lease_token();
            let old = match self.try_put(&pk, &token, &steps, req).await? {
                PutResult::Claimed => {
                    return Ok(ClaimOutcome::Acquired(Lease {
                        payment_id: req.candidate_payment_id.clone(),
                        token,
                        takeover: false,
                        steps: req.steps.clone(),
                    }))
                }
                PutResult::RateLimited => return Ok(ClaimOutcome::RateLimited),
                PutResult::Exists(Some(item)) => Some(item),
                PutResult::Exists(None) => self.read(&pk).await?,
            };
            let Some(old) = old else { continue };
            // The SDK re-sent our own claim after a lost answer: the record is ours.
            if get_s(&old, "lease")? == token && get_s(&old, "status")? == IN_PROGRESS {
                return Ok(ClaimOutcome::Acquired(Lease {
                    payment_id: PaymentId::parse(get_s(&old, "payment_id")?)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    token,
                    takeover: false,
                    steps: read_steps(Some(&old))?,
                }));
            }
            let completed = get_s(&old, "status")? == COMPLETED;
            if completed && get_i64(&old, "expires_at")? <= req.now.timestamp_millis() {
                // Past retention (the write raced its replacement): claim again.
                continue;
            }
            if let Some(outcome) = judge(&old, req)? {
                return Ok(outcome);
            }
            let taken = self
                .take_over(&pk, &old, req.now, req.in_flight_until, req.expires_at)
                .await?;
            if let Some((lease, _)) = taken {
                return Ok(ClaimOutcome::Acquired(lease));
            }
        }
        // Lost every race: someone else holds the key right now.
        Ok(ClaimOutcome::InFlight)
    }

    async fn complete(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
        response: &StoredResponse,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let c = Completion::of(tenant_id, key, lease, response, expires_at);
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(c.pk))
            .update_expression(Completion::UPDATE)
            .condition_expression(Completion::CONDITION)
            .set_expression_attribute_names(Some(c.names))
            .set_expression_attribute_values(Some(c.values))
            .send()
            .await;
        lease_held(res)
    }

    async fn record_steps(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
        steps: &CreateSteps,
    ) -> Result<(), StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(tenant_id, key)))
            .update_expression("SET steps = :steps")
            .condition_expression(Completion::CONDITION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#lease", "lease")
            .expression_attribute_values(":steps", s(write_steps(steps)?))
            .expression_attribute_values(":inprog", s(IN_PROGRESS))
            .expression_attribute_values(":lease", s(&lease.token))
            .send()
            .await;
        lease_held(res)
    }

    async fn stale_claims(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StaleClaim>, StoreError> {
        let mut found = Vec::new();
        for shard in 0..SWEEP_SHARDS {
            let limit_i32 = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(STALE_CLAIMS)
                .key_condition_expression("#sweep = :shard AND #ifu <= :before")
                .expression_attribute_names("#sweep", "sweep")
                .expression_attribute_names("#ifu", "in_flight_until")
                .expression_attribute_values(":shard", s(format!("s{shard}")))
                .expression_attribute_values(":before", n(before.timestamp_millis()))
                .limit(limit_i32)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                // One unreadable item must not stop every pass: skipped (and logged), as the
                // memory adapter skips it.
                let parsed = get_s(item, "pk").and_then(parse_pk).and_then(|(t, k)| {
                    let ms = get_i64(item, "in_flight_until")?;
                    let at = DateTime::from_timestamp_millis(ms).ok_or_else(|| {
                        StoreError::Corrupt("in_flight_until out of range".into())
                    })?;
                    Ok((t, k, at))
                });
                match parsed {
                    Ok((tenant_id, key, in_flight_until)) => found.push(StaleClaim {
                        tenant_id,
                        key,
                        in_flight_until,
                    }),
                    Err(e) => tracing::error!(error = %e, "stale claim unreadable; skipped"),
                }
            }
        }
        found.sort_by_key(|c| c.in_flight_until);
        found.truncate(limit);
        Ok(found)
    }

    async fn adopt(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
        in_flight_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<Adopted>, StoreError> {
        let pk = pk(tenant_id, key);
        let Some(old) = self.read(&pk).await? else {
            return Ok(None);
        };
        let previous = get_i64(&old, "in_flight_until")?;
        if !old.contains_key("req_body")
            || get_s(&old, "status")? != IN_PROGRESS
            || previous > now.timestamp_millis()
        {
            return Ok(None);
        }
        let previous_in_flight_until = DateTime::from_timestamp_millis(previous)
            .ok_or_else(|| StoreError::Corrupt("in_flight_until out of range".into()))?;
        let Some((lease, item)) = self
            .take_over(&pk, &old, now, in_flight_until, expires_at)
            .await?
        else {
            return Ok(None);
        };
        let body = get_s(&item, "req_body")?.to_string();
        Ok(Some(Adopted {
            lease,
            body,
            previous_in_flight_until,
        }))
    }

    async fn release(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
    ) -> Result<(), StoreError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk(tenant_id, key)))
            .condition_expression(Completion::CONDITION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#lease", "lease")
            .expression_attribute_values(":inprog", s(IN_PROGRESS))
            .expression_attribute_values(":lease", s(&lease.token))
            .send()
            .await;
        lease_held(res)
    }

    /// The release's conditional `Delete` and the counter's `ADD` in one `TransactWriteItems`:
    /// still one request, and a lost lease writes neither. Contention on the counter's shard
    /// (another transaction on it) is sent again a few times; if it stays contended the claim
    /// is released without the count (a released claim matters more than one count), logged.
    async fn release_refused(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
        refused: &UsageDelta,
    ) -> Result<(), StoreError> {
        let Some(usage_table) = &self.usage_table else {
            return self.release(tenant_id, key, lease).await;
        };
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(pk(tenant_id, key)))
            .condition_expression(Completion::CONDITION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#lease", "lease")
            .expression_attribute_values(":inprog", s(IN_PROGRESS))
            .expression_attribute_values(":lease", s(&lease.token))
            .build()
            .map_err(|e| StoreError::Corrupt(format!("transaction item: {e}")))?;
        let tx = self
            .client
            .transact_write_items()
            .set_transact_items(Some(vec![
                TransactWriteItem::builder().delete(delete).build(),
                TransactWriteItem::builder()
                    .update(super::usage::usage_update(usage_table, refused)?)
                    .build(),
            ]));
        // The claim must go whatever becomes of the count: a claim left behind answers the
        // merchant's retries 409 until its deadline. So every failure but "the lease is no
        // longer ours" ends in the plain release (which never counts, so nothing is counted
        // twice even if the transaction went through unseen: then the release finds no lease).
        for attempt in 0u64..4 {
            let err = match tx.clone().send().await {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let reasons = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    c.cancellation_reasons().to_vec()
                }
                _ => {
                    tracing::warn!(tenant = %tenant_id, error = %unavailable(err), "refused create released uncounted");
                    return self.release(tenant_id, key, lease).await;
                }
            };
            if reasons
                .first()
                .and_then(|r| r.code())
                .is_some_and(|c| c == "ConditionalCheckFailed")
            {
                return Err(StoreError::Conflict(
                    "idempotency lease no longer held".into(),
                ));
            }
            if !reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"))
            {
                tracing::warn!(tenant = %tenant_id, error = %unavailable(err), "refused create released uncounted");
                return self.release(tenant_id, key, lease).await;
            }
            let jitter = rand::random::<u64>() % 10;
            tokio::time::sleep(std::time::Duration::from_millis(5 * (attempt + 1) + jitter)).await;
        }
        tracing::warn!(tenant = %tenant_id, "usage counter contended: a refused create is released uncounted");
        self.release(tenant_id, key, lease).await
    }
}
