//! Ports of the webhook pipeline: the queue between receiver and worker, the per-event
//! processing records (dedupe + stable callback ids), and the callback sender.

use super::StoreError;
use crate::domain::{PaymentId, PaymentStatus, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What the receiver enqueues: the raw, verified body and where it came from. The body is
/// base64 so non-UTF-8 bytes survive the queue untouched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEnvelope {
    pub gateway: String,
    pub tenant_id: TenantId,
    #[serde(with = "crate::time_format")]
    pub received_at: DateTime<Utc>,
    pub body_b64: String,
}

/// The queue from receiver to worker (SQS in AWS, in-process locally).
#[async_trait]
pub trait WebhookQueue: Send + Sync {
    /// Enqueues one envelope; `Ok` only once the queue has accepted it.
    async fn send(&self, envelope: &WebhookEnvelope) -> Result<(), StoreError>;

    /// Makes a received message visible again after `delay` (the retry schedule).
    async fn retry_later(&self, receipt_handle: &str, delay: Duration) -> Result<(), StoreError>;
}

/// Where a gateway event stands in the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    /// Seen, transition not yet decided.
    Received,
    /// Transition applied; `callback_body` holds the callback to deliver.
    Applied,
    /// Callback delivered (or the merchant answered 410).
    Delivered,
    /// Nothing to do: the transition was not allowed (late or duplicate status).
    Ignored,
}

/// One gateway event's processing record, keyed by (tenant, gateway, gateway event id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub key: String,
    /// The callback's `webhook-id` and event `id` (`evt_…`), fixed on first sight, so retries
    /// and redrives carry the same id.
    pub event_id: String,
    pub payment_id: PaymentId,
    pub target: PaymentStatus,
    pub state: EventState,
    pub callback_body: Option<String>,
}

/// Stores event records with conditional writes.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores `record` if its key is new; returns what is stored (the new or the existing one).
    async fn begin(
        &self,
        record: &EventRecord,
        expires_at: DateTime<Utc>,
    ) -> Result<EventRecord, StoreError>;

    /// Moves a record from `from` to `to` (conditional on `from`), setting the callback body if
    /// given. `Conflict` if it was not in `from`.
    async fn advance(
        &self,
        key: &str,
        from: EventState,
        to: EventState,
        callback_body: Option<&str>,
    ) -> Result<(), StoreError>;
}

/// How one callback attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// 2xx.
    Delivered,
    /// 410: the merchant asks us to stop.
    Gone,
    /// Anything else (non-2xx, timeout, refused target); retried on the schedule.
    Retry(String),
}

/// One signed callback, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub url: String,
    pub webhook_id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
}

/// Sends callbacks to merchants.
#[async_trait]
pub trait CallbackSender: Send + Sync {
    /// One attempt.
    async fn send(&self, callback: &Callback) -> DeliveryOutcome;
}
