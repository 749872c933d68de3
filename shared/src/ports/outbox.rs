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
    /// Delivery attempts made before this copy of the message (the worker's own count: SQS's
    /// receive count also counts Lambda timeouts and throttles, and restarts with each copy).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    /// Not to be attempted before this instant (Unix ms): a wait longer than one SQS delay
    /// (15 min) is made of several delayed copies, none of them in flight meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at_ms: Option<i64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl DeliveryMessage {
    /// The first hand-over of an event (the relay).
    pub fn new(event_id: impl Into<String>, tenant_id: TenantId) -> Self {
        Self {
            deliver_event: event_id.into(),
            tenant_id,
            resend: false,
            trace_header: None,
            attempt: 0,
            due_at_ms: None,
        }
    }

    /// A merchant-requested resend (sent even if delivered already).
    pub fn resend(mut self) -> Self {
        self.resend = true;
        self
    }

    /// With the trace of the request that wrote the event.
    pub fn traced(mut self, trace_header: Option<String>) -> Self {
        self.trace_header = trace_header;
        self
    }
}
