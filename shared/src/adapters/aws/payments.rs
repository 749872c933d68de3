//! Payments on DynamoDB: one item per payment (`id`), the full record as JSON in `doc`, and two
//! GSIs for tenant-scoped listing (`by_tenant`) and lookup by merchant reference
//! (`by_reference`). Both sort by id, i.e. by creation time.

use super::item::{
    get_for_tenant, get_s, is_conditional, n, s, transact, transact_rotating, unavailable,
    IndexQuery, Item, TxOutcome,
};
use super::outbox::event_put;
use super::usage::usage_update;
use super::TableNames;
use crate::adapters::memory::payment_matches;
use crate::domain::{Payment, PaymentId, TenantId};
use crate::ports::{Effects, PaymentFilter, PaymentPage, PaymentStore, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;

/// The DynamoDB payment store. A change with effects (merchant events, a usage delta) is one
/// `TransactWriteItems`: the payment `Put` with its condition, one `Put` per event into the
/// outbox table and the usage counters' `ADD`; a change without effects stays a single
/// `PutItem`.
#[derive(Debug, Clone)]
pub struct DynamoPaymentStore {
    client: Client,
    table: String,
    outbox_table: String,
    usage_table: String,
}

/// Index for listing a tenant's payments.
pub const BY_TENANT: &str = "by_tenant";
/// Index for finding a tenant's payments by merchant reference.
pub const BY_REFERENCE: &str = "by_reference";
/// Index for finding a payment by the gateway's own id (webhooks).
pub const BY_GATEWAY_REF: &str = "by_gateway_ref";

/// Sends `items` (the payment's own writes) with the items of its effects — the events' `Put`s
/// and the usage `ADD` — as one transaction (shared with the create commit).
///
/// Usage counting never fails a write whose gateway already charged: a transaction canceled by
/// contention (another payment's transaction holding the same `(tenant, day, shard)` counter) is
/// resent with the `ADD` on the next shard. The day's figure is the sum over its shards, so the
/// count stays exact, and a hot tenant's commits do not queue on one counter item.
pub(crate) async fn transact_with_effects(
    client: &Client,
    mut items: Vec<TransactWriteItem>,
    outbox_table: &str,
    usage_table: &str,
    effects: &Effects,
) -> Result<TxOutcome, StoreError> {
    for e in &effects.events {
        items.push(
            TransactWriteItem::builder()
                .put(event_put(outbox_table, e)?)
                .build(),
        );
    }
    let Some(delta) = &effects.usage else {
        return transact(
            client
                .transact_write_items()
                .set_transact_items(Some(items)),
        )
        .await;
    };
    transact_rotating(|attempt| {
        let mut moved = delta.clone();
        moved.bucket.shard = (delta.bucket.shard + attempt) % crate::domain::USAGE_SHARDS;
        let mut all = items.clone();
        all.push(
            TransactWriteItem::builder()
                .update(usage_update(usage_table, &moved)?)
                .build(),
        );
        Ok(client.transact_write_items().set_transact_items(Some(all)))
    })
    .await
}

impl DynamoPaymentStore {
    /// Uses an existing client (built once per Lambda instance) and the payments, outbox and
    /// usage tables.
    pub fn new(client: Client, tables: &TableNames) -> Self {
        Self {
            client,
            table: tables.payments.clone(),
            outbox_table: tables.outbox.clone(),
            usage_table: tables.usage.clone(),
        }
    }

    /// The payment write plus its effects, atomically. `Conflict` when a condition failed:
    /// nothing was written, the caller re-reads.
    async fn write(
        &self,
        payment: &Payment,
        effects: &Effects,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
        conflict: String,
    ) -> Result<(), StoreError> {
        let item = to_item(payment)?;
        if effects.is_empty() {
            let mut req = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition);
            if condition.contains("#v") {
                req = req.expression_attribute_names("#v", "version");
            }
            for (k, v) in values {
                req = req.expression_attribute_values(k, v);
            }
            return match req.send().await {
                Ok(_) => Ok(()),
                Err(e) if is_conditional(&e) => Err(StoreError::Conflict(conflict)),
                Err(e) => Err(unavailable(e)),
            };
        }
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if condition.contains("#v") {
            put = put.expression_attribute_names("#v", "version");
        }
        for (k, v) in values {
            put = put.expression_attribute_values(k, v);
        }
        let put = put
            .build()
            .map_err(|e| StoreError::Corrupt(format!("transaction item: {e}")))?;
        let items = vec![TransactWriteItem::builder().put(put).build()];
        // A failed condition (or contention that outlasted the retries) wrote nothing: a lost
        // race is re-read by the caller; any other failure is an outage.
        let outcome = transact_with_effects(
            &self.client,
            items,
            &self.outbox_table,
            &self.usage_table,
            effects,
        )
        .await?;
        match outcome {
            TxOutcome::Written => Ok(()),
            TxOutcome::ConditionFailed => Err(StoreError::Conflict(conflict)),
        }
    }
}

fn gateway_ref(tenant: &TenantId, gateway: &str, gateway_payment_id: &str) -> String {
    format!("{}#{}#{}", tenant.as_str(), gateway, gateway_payment_id)
}

fn tenant_ref(tenant: &TenantId, reference: &str) -> String {
    format!("{}#{}", tenant.as_str(), reference)
}

pub(crate) fn to_item(p: &Payment) -> Result<Item, StoreError> {
    let doc = serde_json::to_string(p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut item = Item::new();
    item.insert("id".into(), s(p.id.as_str()));
    item.insert("tenant_id".into(), s(p.tenant_id.as_str()));
    item.insert("status".into(), s(p.status.as_str()));
    item.insert("version".into(), n(p.version));
    if let Some(r) = &p.reference {
        item.insert("tenant_ref".into(), s(tenant_ref(&p.tenant_id, r)));
    }
    if let (Some(g), Some(gid)) = (&p.gateway, &p.gateway_payment_id) {
        item.insert("gw_ref".into(), s(gateway_ref(&p.tenant_id, g, gid)));
    }
    item.insert("doc".into(), s(doc));
    Ok(item)
}

fn from_item(item: &Item) -> Result<Payment, StoreError> {
    serde_json::from_str(get_s(item, "doc")?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl PaymentStore for DynamoPaymentStore {
    async fn insert(&self, payment: &Payment, effects: &Effects) -> Result<(), StoreError> {
        self.write(
            payment,
            effects,
            "attribute_not_exists(id)",
            vec![],
            format!("payment {} exists", payment.id),
        )
        .await
    }

    async fn update(&self, payment: &Payment, effects: &Effects) -> Result<(), StoreError> {
        let prev = payment
            .version
            .checked_sub(1)
            .ok_or_else(|| StoreError::Conflict("an update must carry the next version".into()))?;
        self.write(
            payment,
            effects,
            "#v = :prev AND tenant_id = :t",
            vec![(":prev", n(prev)), (":t", s(payment.tenant_id.as_str()))],
            format!("payment {} changed concurrently", payment.id),
        )
        .await
    }

    async fn get(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
    ) -> Result<Option<Payment>, StoreError> {
        get_for_tenant(&self.client, &self.table, id.as_str(), tenant_id.as_str())
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn find_by_gateway_ref(
        &self,
        tenant_id: &TenantId,
        gateway: &str,
        gateway_payment_id: &str,
    ) -> Result<Option<Payment>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_GATEWAY_REF)
            .key_condition_expression("gw_ref = :g")
            .expression_attribute_values(
                ":g",
                s(gateway_ref(tenant_id, gateway, gateway_payment_id)),
            )
            .limit(1)
            .send()
            .await
            .map_err(unavailable)?;
        out.items().first().map(from_item).transpose()
    }

    async fn list(
        &self,
        tenant_id: &TenantId,
        filter: &PaymentFilter,
        limit: usize,
        starting_after: Option<&PaymentId>,
    ) -> Result<PaymentPage, StoreError> {
        let (index, key_attr, key_val) = match &filter.reference {
            Some(r) => (BY_REFERENCE, "tenant_ref", tenant_ref(tenant_id, r)),
            None => (BY_TENANT, "tenant_id", tenant_id.as_str().to_string()),
        };
        let items = IndexQuery {
            client: &self.client,
            table: &self.table,
            index,
            key_attr,
            key_val,
            filter: filter.status.map(|st| ("status", st.as_str().to_string())),
            limit,
            starting_after: starting_after.map(PaymentId::as_str),
        }
        .run(|item| {
            let p = from_item(item)?;
            Ok(payment_matches(&p, filter).then_some(p))
        })
        .await?;
        let (items, next_cursor) = crate::ports::split_page(items, limit, |p| p.id.clone());
        Ok(PaymentPage { items, next_cursor })
    }
}
