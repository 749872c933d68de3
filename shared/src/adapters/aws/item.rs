//! Helpers to read and write DynamoDB attribute maps without panicking on odd items.

use crate::ports::StoreError;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Reads a string attribute.
pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Corrupt(format!(
            "attribute `{name}` missing or not a string"
        ))),
    }
}

/// Reads an integer number attribute.
pub fn get_i64(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("attribute `{name}` is not an integer"))),
        _ => Err(StoreError::Corrupt(format!(
            "attribute `{name}` missing or not a number"
        ))),
    }
}

/// Whether a request failed only because its condition expression was false (the expected
/// outcome of a lost race, not an outage).
pub fn is_conditional<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    err: &SdkError<E, R>,
) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.code() == Some("ConditionalCheckFailedException"))
}

/// Maps an SDK failure to `StoreError::Unavailable`, keeping the cause chain for the logs.
pub fn unavailable<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(DisplayErrorContext(err).to_string())
}

/// One newest-first listing over a GSI keyed `key_attr = key_val` and sorted by `id`.
pub struct IndexQuery<'a> {
    pub client: &'a aws_sdk_dynamodb::Client,
    pub table: &'a str,
    pub index: &'a str,
    pub key_attr: &'a str,
    pub key_val: String,
    /// An equality filter on a plain attribute (name, value), applied by DynamoDB.
    pub filter: Option<(&'a str, String)>,
    pub limit: usize,
    /// The id to continue below (the previous page's cursor).
    pub starting_after: Option<&'a str>,
}

impl IndexQuery<'_> {
    /// Reads pages until `limit + 1` items passed `keep` (so the caller knows whether more
    /// exist) or the index ends. `keep` parses an item and says whether it belongs.
    pub async fn run<T>(
        self,
        mut keep: impl FnMut(&Item) -> Result<Option<T>, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut start: Option<Item> = self.starting_after.map(|c| {
            Item::from([
                ("id".to_string(), s(c)),
                (self.key_attr.to_string(), s(self.key_val.clone())),
            ])
        });
        let mut items = Vec::with_capacity(self.limit + 1);
        loop {
            let mut q = self
                .client
                .query()
                .table_name(self.table)
                .index_name(self.index)
                .key_condition_expression("#k = :k")
                .expression_attribute_names("#k", self.key_attr)
                .expression_attribute_values(":k", s(self.key_val.clone()))
                .scan_index_forward(false)
                .limit(i32::try_from(self.limit + 1).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            if let Some((name, value)) = &self.filter {
                q = q
                    .filter_expression("#f = :f")
                    .expression_attribute_names("#f", *name)
                    .expression_attribute_values(":f", s(value.clone()));
            }
            let out = q.send().await.map_err(unavailable)?;
            for item in out.items() {
                if let Some(t) = keep(item)? {
                    items.push(t);
                }
                if items.len() > self.limit {
                    break;
                }
            }
            match out.last_evaluated_key {
                Some(k) if items.len() <= self.limit => start = Some(k),
                _ => break,
            }
        }
        Ok(items)
    }
}

/// The item `id` of `table` (a consistent read) if it belongs to `tenant_id`; another tenant's
/// item reads as absent.
pub async fn get_for_tenant(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    id: &str,
    tenant_id: &str,
) -> Result<Option<Item>, StoreError> {
    let out = client
        .get_item()
        .table_name(table)
        .key("id", s(id))
        .consistent_read(true)
        .send()
        .await
        .map_err(unavailable)?;
    match out.item {
        Some(item) if get_s(&item, "tenant_id")? == tenant_id => Ok(Some(item)),
        _ => Ok(None),
    }
}

/// How a `TransactWriteItems` ended, once contention retries are spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxOutcome {
    /// Every item was written.
    Written,
    /// A condition was false: nothing was written (a lost race the caller sorts out).
    ConditionFailed,
}

/// How often a transaction canceled only by contention (`TransactionConflict`: another
/// transaction held one of its items, e.g. a shared usage counter) is sent again. A canceled
/// transaction wrote nothing, so sending the same one again is safe. The backoff doubles from
/// 10 ms to a 200 ms cap (about 1 s in all), since a create commit that gives up answers 503
/// after its gateway call.
const CONTENTION_RETRIES: u32 = 8;

/// Sends a transaction, retrying pure contention with a short jittered backoff. A failed
/// condition is `ConditionFailed`; contention that outlasts the retries, or any other failure,
/// is `Unavailable` (nothing was written, and it is not a lost race).
pub(crate) async fn transact(
    tx: aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
) -> Result<TxOutcome, StoreError> {
    transact_rotating(|_| Ok(tx.clone())).await
}

/// [`transact`] with the transaction rebuilt for each attempt (`build(attempt)`, from 0), so a
/// resend after contention can move off the contended item (another usage shard).
pub(crate) async fn transact_rotating<F>(build: F) -> Result<TxOutcome, StoreError>
where
    F: Fn(
        u32,
    ) -> Result<
        aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder,
        StoreError,
    >,
{
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    let mut attempt = 0;
    loop {
        let err = match build(attempt)?.send().await {
            Ok(_) => return Ok(TxOutcome::Written),
            Err(e) => e,
        };
        let codes: Vec<String> = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                .cancellation_reasons()
                .iter()
                .filter_map(|r| r.code().map(str::to_string))
                .collect(),
            _ => return Err(unavailable(err)),
        };
        if codes.iter().any(|c| c == "ConditionalCheckFailed") {
            return Ok(TxOutcome::ConditionFailed);
        }
        let contention = codes.iter().any(|c| c == "TransactionConflict");
        if !contention || attempt >= CONTENTION_RETRIES {
            return Err(unavailable(err));
        }
        attempt += 1;
        let backoff = (10u64 << attempt.min(5)).min(200);
        let jitter = rand::random::<u64>() % backoff;
        tokio::time::sleep(std::time::Duration::from_millis(backoff / 2 + jitter)).await;
    }
}
