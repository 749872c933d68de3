//! The create commit on DynamoDB: one `TransactWriteItems` with the payment `Put` (condition:
//! the id is new), the idempotency completion `Update` (condition: the lease is still held) and
//! the creation's merchant event `Put` into the outbox — still one request per payment.

use super::idempotency::Completion;
use super::item::unavailable;
use super::outbox::event_put;
use super::payments::to_item;
use crate::domain::{MerchantEvent, Payment};
use crate::ports::{CreateCommit, KeyCompletion, StoreError};
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
}

impl DynamoCreateCommit {
    /// Uses an existing client and the tables the stores use.
    pub fn new(
        client: Client,
        payments_table: impl Into<String>,
        idempotency_table: impl Into<String>,
        outbox_table: impl Into<String>,
    ) -> Self {
        Self {
            client,
            payments_table: payments_table.into(),
            idempotency_table: idempotency_table.into(),
            outbox_table: outbox_table.into(),
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
        events: &[MerchantEvent],
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
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(update).build());
        for e in events {
            tx = tx.transact_items(
                TransactWriteItem::builder()
                    .put(event_put(&self.outbox_table, e)?)
                    .build(),
            );
        }
        let res = tx.send().await;
        match res {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_transaction_canceled_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}
