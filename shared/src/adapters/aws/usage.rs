//! Usage counters on DynamoDB: one item per (tenant, UTC day, shard), key `pk` = tenant id and
//! `sk` = `YYYY-MM-DD#NN`, each counter a number attribute under its flat name. Counters are
//! changed only by an `ADD` riding in the transaction of the change it counts (`usage_update`);
//! reading a month is one `Query` over the tenant's day range.

use super::item::{s, unavailable, Item};
use crate::domain::{Counters, TenantId, UsageDelta};
use crate::ports::{StoreError, UsageStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Update};
use aws_sdk_dynamodb::Client;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// The attribute that records when an item last changed (not a counter).
const UPDATED_AT: &str = "updated_at";

fn sort_key(day: NaiveDate, shard: u32) -> String {
    format!("{}#{shard:02}", day.format("%Y-%m-%d"))
}

/// The `Update` adding `delta` to its bucket, for the transaction of the change it counts.
pub(crate) fn usage_update(table: &str, delta: &UsageDelta) -> Result<Update, StoreError> {
    let mut names = std::collections::HashMap::new();
    let mut values = std::collections::HashMap::new();
    let mut adds = Vec::new();
    for (i, (name, v)) in delta.counters.iter().enumerate() {
        names.insert(format!("#c{i}"), name.to_string());
        values.insert(format!(":c{i}"), AttributeValue::N(v.to_string()));
        adds.push(format!("#c{i} :c{i}"));
    }
    names.insert("#u".to_string(), UPDATED_AT.to_string());
    values.insert(
        ":u".to_string(),
        s(crate::time_format::render(&chrono::Utc::now())),
    );
    Update::builder()
        .table_name(table)
        .key("pk", s(delta.bucket.tenant_id.as_str()))
        .key("sk", s(sort_key(delta.bucket.day, delta.bucket.shard)))
        .update_expression(format!("ADD {} SET #u = :u", adds.join(", ")))
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .build()
        .map_err(|e| StoreError::Corrupt(format!("usage update: {e}")))
}

/// Reads the counters of one item; attributes that are not integer counters are skipped.
fn counters_of(item: &Item) -> Counters {
    item.iter()
        .filter(|(k, _)| !matches!(k.as_str(), "pk" | "sk" | UPDATED_AT))
        .filter_map(|(k, v)| match v {
            AttributeValue::N(n) => n.parse::<i64>().ok().map(|n| (k.clone(), n)),
            _ => None,
        })
        .collect()
}

/// The DynamoDB usage store.
#[derive(Debug, Clone)]
pub struct DynamoUsageStore {
    client: Client,
    table: String,
}

impl DynamoUsageStore {
    /// Uses an existing client (built once per Lambda instance).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl UsageStore for DynamoUsageStore {
    async fn days(
        &self,
        tenant_id: &TenantId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, Counters>, StoreError> {
        let mut out: BTreeMap<NaiveDate, Counters> = BTreeMap::new();
        let mut start: Option<std::collections::HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :t AND sk BETWEEN :a AND :b")
                .expression_attribute_values(":t", s(tenant_id.as_str()))
                .expression_attribute_values(":a", s(sort_key(from, 0)))
                .expression_attribute_values(":b", s(format!("{}#~", to.format("%Y-%m-%d"))))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                let Some(AttributeValue::S(sk)) = item.get("sk") else {
                    continue;
                };
                let Some(day) = sk
                    .split('#')
                    .next()
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                else {
                    continue;
                };
                out.entry(day).or_default().merge(&counters_of(item));
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(out)
    }
}
