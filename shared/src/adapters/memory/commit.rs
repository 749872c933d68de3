//! The create commit in memory: both maps locked, both conditions checked, then both writes —
//! the same all-or-nothing the DynamoDB transaction gives.

use super::{MemoryIdempotencyStore, MemoryPaymentStore};
use crate::domain::Payment;
use crate::ports::{CreateCommit, Effects, KeyCompletion, StoreError};
use async_trait::async_trait;
use std::sync::Arc;

/// Payment insert and key completion under one pair of locks.
#[derive(Debug, Clone)]
pub struct MemoryCreateCommit {
    idempotency: Arc<MemoryIdempotencyStore>,
    payments: Arc<MemoryPaymentStore>,
}

impl MemoryCreateCommit {
    /// Over the stores the service uses.
    pub fn new(
        idempotency: Arc<MemoryIdempotencyStore>,
        payments: Arc<MemoryPaymentStore>,
    ) -> Self {
        Self {
            idempotency,
            payments,
        }
    }
}

#[async_trait]
impl CreateCommit for MemoryCreateCommit {
    async fn insert_completing(
        &self,
        payment: &Payment,
        effects: &Effects,
        c: &KeyCompletion<'_>,
    ) -> Result<bool, StoreError> {
        {
            // Always idempotency, then payments, then the outbox: the only place holding all.
            let mut keys = self.idempotency.lock();
            let mut payments = self.payments.lock();
            let outbox = self.payments.outbox();
            let mut outbox = outbox.lock();
            let Some(rec) = keys
                .get_mut(&(c.tenant_id.clone(), c.key.as_str().to_string()))
                .filter(|r| r.lease == c.lease.token && r.response.is_none())
            else {
                return Ok(false);
            };
            if payments.contains_key(&payment.id) || outbox.any_exists(&effects.events) {
                return Ok(false);
            }
            payments.insert(payment.id.clone(), payment.clone());
            outbox.append(&effects.events);
            outbox.add_usage(effects.usage.as_ref());
            rec.response = Some(c.response.clone());
            rec.expires_at = c.expires_at;
        }
        self.payments.outbox().wake();
        Ok(true)
    }
}
