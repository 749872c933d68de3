//! Ports of the webhook pipeline: the queue between receiver and worker (gateway webhooks and
//! merchant event deliveries), the record of unmatched gateway webhooks, and the callback sender.

use super::StoreError;
use crate::domain::TenantId;
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
    /// Processing attempts made before this copy (the worker's own count, as for deliveries).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    /// Not to be processed before this instant (Unix ms); see `DeliveryMessage::due_at_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at_ms: Option<i64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl WebhookEnvelope {
    /// A verified body as received, for its first processing.
    pub fn new(
        gateway: impl Into<String>,
        tenant_id: TenantId,
        received_at: DateTime<Utc>,
        body: &[u8],
    ) -> Self {
        use base64::Engine;
        Self {
            gateway: gateway.into(),
            tenant_id,
            received_at,
            body_b64: base64::engine::general_purpose::STANDARD.encode(body),
            attempt: 0,
            due_at_ms: None,
        }
    }
}

/// The pipeline's two queues, so neither can starve the other: gateway webhooks on their way
/// to be applied (**intake**), and merchant events on their way out (**delivery**). Each has
/// its own dead-letter queue, alarms and worker concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    Intake,
    Delivery,
}

/// The longest a message can be hidden when sent (SQS `DelaySeconds`: 15 min). A longer wait is
/// made of several such hops, so no message waits *in flight*: in-flight messages are only
/// those being processed, whatever the merchants' endpoints do.
pub const MAX_QUEUE_DELAY: Duration = Duration::from_secs(900);

/// The queues between receiver, relay and worker (SQS in AWS, in-process locally).
#[async_trait]
pub trait WebhookQueue: Send + Sync {
    /// Enqueues one envelope on the intake queue; `Ok` only once the queue has accepted it.
    async fn send(&self, envelope: &WebhookEnvelope) -> Result<(), StoreError>;

    /// Enqueues one merchant event on the delivery queue (the outbox relay and resends).
    async fn send_delivery(&self, message: &super::DeliveryMessage) -> Result<(), StoreError>;

    /// Enqueues `body` on `queue`, hidden for `delay` (at most [`MAX_QUEUE_DELAY`]): a retry or
    /// one hop of a longer wait, as a new message (the received one is then deleted).
    async fn send_later(
        &self,
        queue: QueueKind,
        body: &str,
        delay: Duration,
        trace_header: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Makes a received message visible again after `delay` (at most [`MAX_QUEUE_DELAY`]):
    /// only when a new message could not be sent, so the received one must come back.
    async fn retry_later(
        &self,
        queue: QueueKind,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), StoreError>;

    /// Puts `body` on `queue`'s dead-letter queue (the received message is then deleted): a
    /// poison message on its first attempt, or one whose attempts are spent.
    async fn dead_letter(&self, queue: QueueKind, body: &str) -> Result<(), StoreError>;
}

/// A message body as the redrive puts it back: the worker's attempt count and due time
/// dropped, so a redriven delivery gets its whole schedule again. A body that is not a JSON
/// object is kept as it is.
pub fn fresh_copy(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut m)) => {
            m.remove("attempt");
            m.remove("due_at_ms");
            serde_json::Value::Object(m).to_string()
        }
        _ => body.to_string(),
    }
}

/// A verified gateway webhook that matched no payment of the tenant after the grace period:
/// a charge the orchestrator never created (the same gateway account used elsewhere). Kept so
/// an operator can see it; acknowledged so the gateway stops retrying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedWebhook {
    pub tenant_id: TenantId,
    pub gateway: String,
    /// The gateway's event identity (dedupe id).
    pub gateway_event_id: String,
    pub gateway_payment_id: String,
    /// Our payment id if the gateway echoed one (a payment of another tenant or environment).
    pub payment_id: Option<String>,
    /// What it reported (`status:succeeded`, `refund:succeeded`, `overdue`).
    pub reported: String,
    #[serde(with = "crate::time_format")]
    pub received_at: DateTime<Utc>,
}

/// Keeps unmatched gateway webhooks, per tenant, newest first.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Records one (idempotent on tenant, gateway and gateway event id).
    async fn record_unmatched(
        &self,
        webhook: &UnmatchedWebhook,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The tenant's unmatched webhooks, newest first, at most `limit`.
    async fn list_unmatched(
        &self,
        tenant_id: &TenantId,
        limit: usize,
    ) -> Result<Vec<UnmatchedWebhook>, StoreError>;
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

/// One attempt's outcome plus what the delivery log keeps of the merchant's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub outcome: DeliveryOutcome,
    pub http_status: Option<u16>,
    /// At most `RESPONSE_EXCERPT_CHARS` characters of the answer, control characters dropped.
    pub response_excerpt: Option<String>,
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
    async fn send(&self, callback: &Callback) -> DeliveryReport;
}
