//! The worker: normalize a queued gateway webhook, dedupe by the gateway's event id, apply the
//! status change (monotonic, versioned write), and deliver a signed callback. Batches run
//! concurrently and one message's failure never fails another.

use super::{RetrySchedule, TenantCache};
use crate::clock::Clock;
use crate::domain::{Payment, PaymentStatus};
use crate::gateways::webhooks::{GatewayEvent, WebhookRegistry};
use crate::ports::{
    Callback, CallbackSender, DeliveryOutcome, EventRecord, EventState, EventStore, PaymentStore,
    StoreError, Tenant, WebhookEnvelope, WebhookQueue,
};
use crate::service::view;
use crate::signing::standard_webhooks::{signature_header, CallbackSecret};
use base64::Engine;
use chrono::Duration;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long event records are kept for dedupe (gateways retry for days; Asaas keeps 14 d).
pub const EVENT_RETENTION_DAYS: i64 = 30;

/// Why a message could not be finished now; every variant is retried on the schedule.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("message is not a webhook envelope: {0}")]
    BadEnvelope(String),
    #[error("unknown gateway `{0}` or tenant `{1}`")]
    UnknownSource(String, String),
    #[error("{0}")]
    Normalize(String),
    #[error("no payment for {gateway} charge {gateway_payment_id} (yet)")]
    PaymentNotFound {
        gateway: String,
        gateway_payment_id: String,
    },
    #[error("tenant has no callback signing secret")]
    NoSigningSecret,
    #[error("callback not delivered: {0}")]
    Delivery(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One received queue message.
#[derive(Debug, Clone)]
pub struct QueueMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// 1 on first delivery.
    pub receive_count: u32,
}

/// The worker's dependencies, built once per instance.
pub struct WebhookWorker {
    pub(crate) registry: WebhookRegistry,
    pub(crate) tenants: TenantCache,
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) events: Arc<dyn EventStore>,
    pub(crate) sender: Arc<dyn CallbackSender>,
    pub(crate) queue: Arc<dyn WebhookQueue>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) schedule: RetrySchedule,
}

#[derive(Serialize)]
struct CallbackBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: String,
    created_at: String,
    data: crate::service::PaymentView<'a>,
}

/// The callback event id for a gateway event: derived from its dedupe key, so the same gateway
/// event always yields the same `webhook-id`, across retries, redrives and worker crashes.
pub fn callback_event_id(dedupe_key: &str) -> String {
    let h = hex::encode(Sha256::digest(dedupe_key.as_bytes()));
    format!("evt_{}", &h[..32])
}

impl WebhookWorker {
    /// Wires the worker.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        registry: WebhookRegistry,
        tenants: TenantCache,
        payments: Arc<dyn PaymentStore>,
        events: Arc<dyn EventStore>,
        sender: Arc<dyn CallbackSender>,
        queue: Arc<dyn WebhookQueue>,
        clock: Arc<dyn Clock>,
        schedule: RetrySchedule,
    ) -> Self {
        Self {
            registry,
            tenants,
            payments,
            events,
            sender,
            queue,
            clock,
            schedule,
        }
    }

    /// The schedule in force (its `max_attempts` is the queue's `maxReceiveCount`).
    pub fn schedule(&self) -> &RetrySchedule {
        &self.schedule
    }

    /// Processes a batch concurrently; returns the ids of messages that failed (each already
    /// rescheduled with `ChangeMessageVisibility`). Never returns an empty id: a message
    /// without one is reported through `Err`, which fails the whole batch, as SQS would anyway.
    pub async fn process_batch(&self, batch: Vec<QueueMessage>) -> Result<Vec<String>, String> {
        if batch.iter().any(|m| m.message_id.is_empty()) {
            return Err("a message has no id; failing the batch so SQS redelivers it".into());
        }
        let results = futures::future::join_all(batch.iter().map(|m| self.process(m))).await;
        let mut failed = Vec::new();
        for (m, r) in batch.iter().zip(results) {
            if let Err(e) = r {
                let delay = self.schedule.delay_after(m.receive_count);
                tracing::warn!(message_id = %m.message_id, attempt = m.receive_count, retry_in_s = delay.as_secs(), error = %e, "webhook message failed");
                if let Err(e) = self.queue.retry_later(&m.receipt_handle, delay).await {
                    tracing::warn!(message_id = %m.message_id, error = %e, "could not reschedule; the visibility timeout applies");
                }
                failed.push(m.message_id.clone());
            }
        }
        Ok(failed)
    }

    /// Processes one message: every event in it (an EFI notification may carry several).
    pub async fn process(&self, msg: &QueueMessage) -> Result<(), WorkerError> {
        let env: WebhookEnvelope =
            serde_json::from_str(&msg.body).map_err(|e| WorkerError::BadEnvelope(e.to_string()))?;
        let unknown = || WorkerError::UnknownSource(env.gateway.clone(), env.tenant_id.to_string());
        let module = self.registry.get(&env.gateway).ok_or_else(unknown)?;
        let tenant = self
            .tenants
            .get(&env.tenant_id)
            .await?
            .ok_or_else(unknown)?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&env.body_b64)
            .map_err(|e| WorkerError::BadEnvelope(e.to_string()))?;
        let events = module
            .normalize(&raw)
            .map_err(|e| WorkerError::Normalize(e.to_string()))?;
        for ev in &events {
            self.handle_event(&tenant, module.name(), ev).await?;
        }
        Ok(())
    }

    async fn handle_event(
        &self,
        tenant: &Tenant,
        gateway: &str,
        ev: &GatewayEvent,
    ) -> Result<(), WorkerError> {
        let crate::gateways::webhooks::GatewayEventKind::Status(to) = ev.kind else {
            return Ok(());
        };
        let key = format!("{}#{}#{}", tenant.id, gateway, ev.dedupe_id);
        let payment = self
            .payments
            .find_by_gateway_ref(&tenant.id, gateway, &ev.gateway_payment_id)
            .await?
            .ok_or_else(|| WorkerError::PaymentNotFound {
                gateway: gateway.to_string(),
                gateway_payment_id: ev.gateway_payment_id.clone(),
            })?;
        let callback_url = payment
            .callback_url
            .clone()
            .or_else(|| tenant.callback_url.clone())
            .map(|u| u.as_str().to_string());
        let fresh = EventRecord {
            key: key.clone(),
            event_id: callback_event_id(&key),
            payment_id: payment.id.clone(),
            target: to,
            state: EventState::Received,
            callback_body: None,
        };
        let expires = self.clock.now() + Duration::days(EVENT_RETENTION_DAYS);
        let mut rec = self.events.begin(&fresh, expires).await?;
        if rec.state == EventState::Received {
            match self.apply(tenant, payment, to, &rec).await? {
                Some(body) => match self
                    .events
                    .advance(&key, EventState::Received, EventState::Applied, Some(&body))
                    .await
                {
                    Ok(()) => {
                        rec.state = EventState::Applied;
                        rec.callback_body = Some(body);
                    }
                    // A concurrent duplicate got there first; follow the stored record.
                    Err(StoreError::Conflict(_)) => {
                        rec = self.events.begin(&fresh, expires).await?
                    }
                    Err(e) => return Err(e.into()),
                },
                None => {
                    let _ = self
                        .events
                        .advance(&key, EventState::Received, EventState::Ignored, None)
                        .await;
                    return Ok(());
                }
            }
        }
        if rec.state != EventState::Applied {
            return Ok(()); // delivered or ignored already: a duplicate.
        }
        let body = rec.callback_body.clone().unwrap_or_default();
        let Some(url) = callback_url else {
            tracing::info!(event_id = %rec.event_id, "no callback URL configured; nothing to deliver");
            let _ = self
                .events
                .advance(&key, EventState::Applied, EventState::Delivered, None)
                .await;
            return Ok(());
        };
        let secrets: Vec<CallbackSecret> = tenant
            .callback_secrets
            .iter()
            .filter_map(|s| CallbackSecret::parse(s).ok())
            .collect();
        if secrets.is_empty() {
            return Err(WorkerError::NoSigningSecret);
        }
        let ts = self.clock.now().timestamp();
        let cb = Callback {
            url,
            webhook_id: rec.event_id.clone(),
            timestamp: ts,
            signature: signature_header(&secrets, &rec.event_id, ts, body.as_bytes()),
            body,
        };
        match self.sender.send(&cb).await {
            DeliveryOutcome::Delivered | DeliveryOutcome::Gone => {
                self.events
                    .advance(&key, EventState::Applied, EventState::Delivered, None)
                    .await
                    .or_else(|e| match e {
                        StoreError::Conflict(_) => Ok(()),
                        e => Err(e),
                    })?;
                Ok(())
            }
            DeliveryOutcome::Retry(why) => Err(WorkerError::Delivery(why)),
        }
    }

    /// Applies the event's status to the payment, or decides it changes nothing. Returns the
    /// callback body when the change is (or, after a crash, was) made by this event.
    async fn apply(
        &self,
        tenant: &Tenant,
        mut payment: Payment,
        to: PaymentStatus,
        rec: &EventRecord,
    ) -> Result<Option<String>, WorkerError> {
        for _ in 0..5 {
            let mut target = to;
            let refunded: Option<i64> = None;
            if matches!(
                target,
                PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
            ) && refunded.is_some_and(|r| r >= payment.amount.minor())
            {
                target = PaymentStatus::Refunded;
            }
            let mine = payment.last_event.as_deref() == Some(rec.key.as_str());
            if mine {
                return Ok(Some(self.callback_body(rec, &payment)));
            }
            let more_refund = target == PaymentStatus::PartiallyRefunded
                && refunded.is_some_and(|r| r > payment.refunded_amount);
            let allowed =
                payment.status.can_move_to(target) && (target != payment.status || more_refund);
            if !allowed {
                tracing::info!(payment_id = %payment.id, from = %payment.status, to = %target, "event ignored: transition not allowed");
                return Ok(None);
            }
            let mut next = payment.clone();
            next.status = target;
            if let Some(r) = refunded {
                next.refunded_amount = r;
            }
            next.updated_at = self.clock.now();
            next.version += 1;
            next.last_event = Some(rec.key.clone());
            match self.payments.update(&next).await {
                Ok(()) => return Ok(Some(self.callback_body(rec, &next))),
                Err(StoreError::Conflict(_)) => {
                    payment = self
                        .payments
                        .get(&tenant.id, &payment.id)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt("payment vanished".into()))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict("payment kept changing under the worker".into()).into())
    }

    fn callback_body(&self, rec: &EventRecord, p: &Payment) -> String {
        let body = CallbackBody {
            id: &rec.event_id,
            kind: format!("payment.{}", p.status),
            created_at: crate::time_format::render(&self.clock.now()),
            data: view(p),
        };
        serde_json::to_string(&body).unwrap_or_default()
    }
}
