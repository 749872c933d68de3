//! Idempotency records on DynamoDB: a conditional `PutItem` claims, a conditional `UpdateItem`
//! takes over an expired in-flight claim or completes, a conditional `DeleteItem` releases.

use super::item::{get_i64, get_s, is_conditional, n, s, unavailable, Item};
use crate::adapters::memory::new_lease_token;
use crate::domain::{CreateSteps, IdempotencyKey, PaymentId, TenantId};
use crate::ports::{
    ClaimOutcome, ClaimRequest, IdempotencyStore, Lease, StoreError, StoredResponse,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
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

/// The DynamoDB idempotency store. Item key: `pk = <tenant>#<key>`; `expires_at` and
/// `in_flight_until` in epoch ms are what the conditions compare (TTL deletes lazily), and
/// `ttl` in epoch seconds lets DynamoDB clean up.
#[derive(Debug, Clone)]
pub struct DynamoIdempotencyStore {
    client: Client,
    table: String,
}

impl DynamoIdempotencyStore {
    /// Uses an existing client (built once per Lambda instance).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
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
        let condition = "attribute_not_exists(pk) OR expires_at <= :now";
        let item: Item = [
            ("pk", s(pk)),
            ("status", s(IN_PROGRESS)),
            ("fp", s(&req.fingerprint)),
            ("payment_id", s(req.candidate_payment_id.as_str())),
            ("lease", s(token)),
            ("in_flight_until", n(req.in_flight_until.timestamp_millis())),
            ("expires_at", n(req.expires_at.timestamp_millis())),
            ("ttl", n(req.expires_at.timestamp())),
            ("steps", s(steps)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let Some(rate) = &req.rate else {
            let res = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition)
                .expression_attribute_values(":now", n(req.now.timestamp_millis()))
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
            .expression_attribute_values(":now", n(req.now.timestamp_millis()))
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
    /// from the same write (`ALL_NEW`), so none the old holder recorded can be missed.
    async fn take_over(
        &self,
        pk: &str,
        old: &Item,
        req: &ClaimRequest,
    ) -> Result<Option<Lease>, StoreError> {
        let old_lease = get_s(old, "lease")?;
        let payment_id = PaymentId::parse(get_s(old, "payment_id")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let token = new_lease_token();
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .update_expression("SET #lease = :new, #ifu = :ifu")
            .condition_expression("#lease = :old AND #status = :inprog AND #ifu <= :now")
            .expression_attribute_names("#lease", "lease")
            .expression_attribute_names("#ifu", "in_flight_until")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":new", s(&token))
            .expression_attribute_values(":old", s(old_lease))
            .expression_attribute_values(":inprog", s(IN_PROGRESS))
            .expression_attribute_values(":ifu", n(req.in_flight_until.timestamp_millis()))
            .expression_attribute_values(":now", n(req.now.timestamp_millis()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => Ok(Some(Lease {
                payment_id,
                token,
                takeover: true,
                steps: read_steps(out.attributes())?,
            })),
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
    pub const UPDATE: &'static str =
        "SET #status = :done, resp_status = :rs, resp_body = :rb, expires_at = :exp, #ttl = :ttl";
    pub const CONDITION: &'static str = "#lease = :lease AND #status = :inprog";

    pub fn of(
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
        response: &StoredResponse,
        expires_at: DateTime<Utc>,
    ) -> Self {
        let names = [("#status", "status"), ("#lease", "lease"), ("#ttl", "ttl")]
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
            if get_i64(&old, "expires_at")? <= req.now.timestamp_millis() {
                continue;
            }
            if let Some(outcome) = judge(&old, req)? {
                return Ok(outcome);
            }
            if let Some(lease) = self.take_over(&pk, &old, req).await? {
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
}
