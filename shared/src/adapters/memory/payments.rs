//! In-memory payment store.

use super::MemoryOutbox;
use crate::domain::{Payment, PaymentId, TenantId};
use crate::ports::{Effects, PaymentFilter, PaymentPage, PaymentStore, StoreError};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Payments in an ordered map (ids are ULIDs, so key order is creation order), with the outbox
/// their changes write events into under the same lock.
#[derive(Debug, Default)]
pub struct MemoryPaymentStore {
    items: Mutex<BTreeMap<PaymentId, Payment>>,
    outbox: Arc<MemoryOutbox>,
}

impl MemoryPaymentStore {
    /// The outbox this store writes events into.
    pub fn outbox(&self) -> Arc<MemoryOutbox> {
        self.outbox.clone()
    }

    /// Number of payments held, all tenants.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no payment is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PaymentId, Payment>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether a payment passes a listing filter; shared with the DynamoDB adapter's post-filter.
pub(crate) fn matches(p: &Payment, f: &PaymentFilter) -> bool {
    f.reference
        .as_ref()
        .is_none_or(|r| p.reference.as_ref() == Some(r))
        && f.status.is_none_or(|s| p.status == s)
        && f.late_payment
            .is_none_or(|late| p.late_payment.is_some() == late)
}

#[async_trait]
impl PaymentStore for MemoryPaymentStore {
    async fn insert(&self, payment: &Payment, effects: &Effects) -> Result<(), StoreError> {
        {
            let mut map = self.lock();
            let mut outbox = self.outbox.lock();
            if map.contains_key(&payment.id) || outbox.any_exists(&effects.events) {
                return Err(StoreError::Conflict(format!(
                    "payment {} exists",
                    payment.id
                )));
            }
            map.insert(payment.id.clone(), payment.clone());
            outbox.append(&effects.events);
            outbox.add_usage(effects.usage.as_ref());
        }
        self.outbox.wake();
        Ok(())
    }

    async fn update(&self, payment: &Payment, effects: &Effects) -> Result<(), StoreError> {
        {
            let mut map = self.lock();
            let mut outbox = self.outbox.lock();
            match map.get_mut(&payment.id) {
                Some(cur)
                    if cur.tenant_id == payment.tenant_id
                        && cur.version + 1 == payment.version
                        && !outbox.any_exists(&effects.events) =>
                {
                    *cur = payment.clone();
                    outbox.append(&effects.events);
                    outbox.add_usage(effects.usage.as_ref());
                }
                _ => {
                    return Err(StoreError::Conflict(format!(
                        "payment {} changed concurrently",
                        payment.id
                    )))
                }
            }
        }
        self.outbox.wake();
        Ok(())
    }

    async fn get(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
    ) -> Result<Option<Payment>, StoreError> {
        Ok(self
            .lock()
            .get(id)
            .filter(|p| &p.tenant_id == tenant_id)
            .cloned())
    }

    async fn find_by_gateway_ref(
        &self,
        tenant_id: &TenantId,
        gateway: &str,
        gateway_payment_id: &str,
    ) -> Result<Option<Payment>, StoreError> {
        Ok(self
            .lock()
            .values()
            .find(|p| {
                &p.tenant_id == tenant_id
                    && p.gateway.as_deref() == Some(gateway)
                    && p.gateway_payment_id.as_deref() == Some(gateway_payment_id)
            })
            .cloned())
    }

    async fn list(
        &self,
        tenant_id: &TenantId,
        filter: &PaymentFilter,
        limit: usize,
        starting_after: Option<&PaymentId>,
    ) -> Result<PaymentPage, StoreError> {
        let map = self.lock();
        let items: Vec<Payment> = map
            .values()
            .rev()
            .filter(|p| starting_after.is_none_or(|c| &p.id < c))
            .filter(|p| &p.tenant_id == tenant_id && matches(p, filter))
            .take(limit + 1)
            .cloned()
            .collect();
        let (items, next_cursor) = crate::ports::split_page(items, limit, |p| p.id.clone());
        Ok(PaymentPage { items, next_cursor })
    }
}
