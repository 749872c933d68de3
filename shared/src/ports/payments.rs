//! Payment records.

use super::StoreError;
use crate::domain::{MerchantEvent, Payment, PaymentId, PaymentStatus, TenantId};
use async_trait::async_trait;

/// Filters of `GET /v1/payments`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    pub reference: Option<String>,
    pub status: Option<PaymentStatus>,
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
    /// Writes a new payment and, in the same atomic write, the merchant events its creation
    /// produces (the outbox); `StoreError::Conflict` if the id exists, and then nothing is written.
    async fn insert(&self, payment: &Payment, events: &[MerchantEvent]) -> Result<(), StoreError>;

    /// Replaces a payment if its stored version is `payment.version - 1`, writing `events` in
    /// the same atomic write; `Conflict` otherwise, and then nothing is written.
    async fn update(&self, payment: &Payment, events: &[MerchantEvent]) -> Result<(), StoreError>;

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
