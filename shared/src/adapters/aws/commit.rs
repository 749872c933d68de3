//! The create commit on DynamoDB: one `TransactWriteItems` with the payment `Put` (condition:
//! the id is new), the idempotency completion `Update` (condition: the lease is still held) and
//! the creation's merchant event `Put` into the outbox and the usage counters' `ADD` — still one
//! request per payment.

use super::idempotency::Completion;
use super::item::TxOutcome;
use super::payments::{to_item, transact_with_effects};
use super::TableNames;
use crate::domain::Payment;
use crate::ports::{CreateCommit, Effects, KeyCompletion, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;

/// Payment insert and key completion in one request.
#[derive(Debug, Clone)]
pub struct DynamoCreateCommit {
    client: Client,
    payments_table: String,
    idempotency_table: String,
    outbox_table: String,
    usage_table: String,
}

impl DynamoCreateCommit {
    /// Uses an existing client and the tables the stores use.
    pub fn new(client: Client, tables: &TableNames) -> Self {
        Self {
            client,
            payments_table: tables.payments.clone(),
            idempotency_table: tables.idempotency.clone(),
            outbox_table: tables.outbox.clone(),
            usage_table: tables.usage.clone(),
        }
    }
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Corrupt(format!("transaction item: {e}")))
}

#[async_trait]
impl CreateCommit for DynamoCreateCommit {
    async fn insert_completing(
        &self,
        payment: &Payment,
        effects: &Effects,
        c: &KeyCompletion<'_>,
    ) -> Result<bool, StoreError> {
        let put = build(
            Put::builder()
                .table_name(&self.payments_table)
                .set_item(Some(to_item(payment)?))
                .condition_expression("attribute_not_exists(id)")
                .build(),
        )?;
        let done = Completion::of(c.tenant_id, c.key, c.lease, c.response, c.expires_at);
        let update = build(
            Update::builder()
                .table_name(&self.idempotency_table)
                .key("pk", AttributeValue::S(done.pk))
                .update_expression(Completion::UPDATE)
                .condition_expression(Completion::CONDITION)
                .set_expression_attribute_names(Some(done.names))
                .set_expression_attribute_values(Some(done.values))
                .build(),
        )?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(update).build(),
        ];
        let outcome = transact_with_effects(
            &self.client,
            items,
            &self.outbox_table,
            &self.usage_table,
            effects,
        )
        .await?;
        Ok(outcome == TxOutcome::Written)
    }
}
