//! The transactional outbox of merchant events. Events are *written* only together with the
//! change they report (`PaymentStore::insert`/`update`, `CreateCommit`), in the same atomic
//! write; this port reads them back and keeps each one's delivery log.

use super::StoreError;
use crate::domain::{DeliveryAttempt, DeliveryState, EventType, PaymentId, StoredEvent, TenantId};
use async_trait::async_trait;

/// Filters of `GET /v1/events`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub kind: Option<EventType>,
    pub payment_id: Option<PaymentId>,
}

/// One page of events, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    pub items: Vec<StoredEvent>,
    /// Pass as `starting_after` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// Reads merchant events and records their deliveries, always scoped by tenant.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// The tenant's event with this id.
    async fn get(&self, tenant_id: &TenantId, id: &str) -> Result<Option<StoredEvent>, StoreError>;

    /// The tenant's events with ids below `starting_after`, newest first, at most `limit`.
    async fn list(
        &self,
        tenant_id: &TenantId,
        filter: &EventFilter,
        limit: usize,
        starting_after: Option<&str>,
    ) -> Result<EventPage, StoreError>;

    /// Appends one attempt to the event's log (keeping the newest
    /// [`crate::domain::MAX_LOGGED_ATTEMPTS`]) and sets its delivery state.
    async fn record_attempt(
        &self,
        tenant_id: &TenantId,
        id: &str,
        attempt: Option<&DeliveryAttempt>,
        state: DeliveryState,
    ) -> Result<(), StoreError>;
}

/// What the relay hands to the delivery queue: which event to deliver. The event itself is read
/// from the outbox at delivery, so the bytes sent are always the ones written with the change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryMessage {
    /// `evt_…`
    pub deliver_event: String,
    pub tenant_id: TenantId,
    /// A merchant-requested resend: deliver even if already delivered.
    #[serde(default)]
    pub resend: bool,
    /// The X-Ray trace to continue (sent as the message's `AWSTraceHeader`, not in the body).
    #[serde(skip)]
    pub trace_header: Option<String>,
}
