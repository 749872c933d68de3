//! Payment records.

use super::StoreError;
use crate::domain::{MerchantEvent, Payment, PaymentId, PaymentStatus, TenantId, UsageDelta};
use async_trait::async_trait;

/// What a payment write must carry with it, atomically: the merchant events the change
/// produces (the outbox) and what it adds to the tenant's usage counters. Computed by the
/// service from the payment before and after (`service::outbox::effects_for`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub events: Vec<MerchantEvent>,
    pub usage: Option<UsageDelta>,
}

impl Effects {
    /// A write that reports nothing and counts nothing.
    pub fn none() -> Self {
        Self::default()
    }

    /// Events only (tests of the outbox).
    pub fn events(events: Vec<MerchantEvent>) -> Self {
        Self {
            events,
            usage: None,
        }
    }

    /// True when the write is the payment alone.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.usage.is_none()
    }
}

/// Filters of `GET /v1/payments`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    pub reference: Option<String>,
    pub status: Option<PaymentStatus>,
    /// `Some(true)`: only payments holding a late payment; `Some(false)`: only those without.
    pub late_payment: Option<bool>,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentPage {
    pub items: Vec<Payment>,
    /// Pass as `starting_after` to get the next page; `None` on the last page.
    pub next_cursor: Option<PaymentId>,
}

/// Stores payments, always scoped by tenant: a read with the wrong tenant finds nothing.
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Writes a new payment and, in the same atomic write, its effects (the merchant events its
    /// creation produces, its usage counters); `StoreError::Conflict` if the id exists, and then
    /// nothing is written.
    async fn insert(&self, payment: &Payment, effects: &Effects) -> Result<(), StoreError>;

    /// Replaces a payment if its stored version is `payment.version - 1`, writing `effects` in
    /// the same atomic write; `Conflict` otherwise, and then nothing is written.
    async fn update(&self, payment: &Payment, effects: &Effects) -> Result<(), StoreError>;

    /// The tenant's payment with this id.
    async fn get(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
    ) -> Result<Option<Payment>, StoreError>;

    /// The tenant's payment that `gateway` knows as `gateway_payment_id` (webhooks carry only
    /// the gateway's reference). An index lookup, never a scan.
    async fn find_by_gateway_ref(
        &self,
        tenant_id: &TenantId,
        gateway: &str,
        gateway_payment_id: &str,
    ) -> Result<Option<Payment>, StoreError>;

    /// The tenant's payments with ids below `starting_after`, newest first, at most `limit`.
    async fn list(
        &self,
        tenant_id: &TenantId,
        filter: &PaymentFilter,
        limit: usize,
        starting_after: Option<&PaymentId>,
    ) -> Result<PaymentPage, StoreError>;
}
