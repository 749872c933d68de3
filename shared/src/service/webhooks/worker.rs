//! The worker. Two kinds of queue message:
//! - a verified **gateway webhook**: normalize, match the payment (our id first, then the
//!   gateway's), and apply what it reports — the payment change and its merchant events in one
//!   atomic write (the outbox), so a crash can never keep one without the other. A report that
//!   changes nothing (a duplicate, a status the payment already has, a late event) writes
//!   nothing and produces no event;
//! - a **delivery** of one merchant event (handed over by the outbox relay, or a resend): read
//!   it from the outbox, sign it, POST it, and log the attempt.
//!
//! Batches run concurrently and one message's failure never fails another.

use super::{RetrySchedule, TenantCache};
use crate::clock::Clock;
use crate::domain::{
    refund_can_move, EndpointHealth, EndpointPolicy, LatePayment, LateSource, Payment, PaymentId,
    PaymentStatus, Refund, RefundStatus, TenantId, MAX_APPLIED_EVENTS,
};
use crate::gateways::webhooks::{GatewayEvent, GatewayEventKind, RefundReport, WebhookRegistry};
use crate::ports::{
    CallbackSender, ChargeConfirmer, DeliveryMessage, EndpointHealthStore, EndpointKey, EventStore,
    OutboxStore, PaymentStore, StoreError, Tenant, UnmatchedWebhook, WebhookEnvelope, WebhookQueue,
};
use crate::service::outbox::effects_for;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What an unmatched-webhook record says of a failover orphan the payer paid anyway.
pub const PAID_ORPHAN: &str =
    "status:succeeded (a failover orphan was paid: refund it at the gateway)";

/// How long unmatched-webhook records are kept.
pub const EVENT_RETENTION_DAYS: i64 = 30;

/// How long a webhook that matches no payment is retried before it is recorded as unmatched and
/// acknowledged: long enough for a create whose gateway call answered before its commit.
pub const DEFAULT_UNMATCHED_GRACE: std::time::Duration = std::time::Duration::from_secs(300);

/// Why a message could not be finished now; every variant is retried on the schedule.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("message is neither a webhook envelope nor a delivery: {0}")]
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
    #[error("no event {0} in the outbox")]
    EventNotFound(String),
    #[error("tenant has no callback signing secret")]
    NoSigningSecret,
    #[error("callback not delivered: {0}")]
    Delivery(String),
    #[error("the report does not apply to the payment yet: {0}")]
    NotYet(String),
    #[error("the gateway could not confirm the report now: {0}")]
    Unconfirmed(String),
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
    /// The message's `AWSTraceHeader`: the trace of the request that caused it.
    pub trace_header: Option<String>,
}

/// What a queue message holds.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum QueueBody {
    Deliver(DeliveryMessage),
    Webhook(WebhookEnvelope),
}

/// The worker's dependencies, built once per instance.
pub struct WebhookWorker {
    pub(crate) registry: WebhookRegistry,
    pub(crate) tenants: TenantCache,
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) unmatched: Arc<dyn EventStore>,
    pub(crate) outbox: Arc<dyn OutboxStore>,
    pub(crate) sender: Arc<dyn CallbackSender>,
    pub(crate) queue: Arc<dyn WebhookQueue>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) schedule: RetrySchedule,
    pub(crate) unmatched_grace: Duration,
    /// Confirms money an unsigned webhook reports at the gateway (see [`Self::with_confirmer`]).
    pub(crate) confirmer: Option<Arc<dyn ChargeConfirmer>>,
    /// Merchant endpoints' health (`delivery.rs`), and this instance's copies of it.
    pub(crate) endpoints: Arc<dyn EndpointHealthStore>,
    pub(crate) endpoint_policy: EndpointPolicy,
    pub(crate) health_cache: Mutex<HashMap<EndpointKey, (EndpointHealth, std::time::Instant)>>,
    /// Each tenant's share of this instance: deliveries at once.
    pub(crate) tenant_slots: Mutex<HashMap<TenantId, Arc<tokio::sync::Semaphore>>>,
    pub(crate) tenant_share: usize,
}

/// The stores a worker reads and writes.
pub struct WorkerStores {
    pub payments: Arc<dyn PaymentStore>,
    /// Unmatched gateway webhooks.
    pub events: Arc<dyn EventStore>,
    pub outbox: Arc<dyn OutboxStore>,
    /// Merchant callback endpoints' health.
    pub endpoints: Arc<dyn EndpointHealthStore>,
}

impl WebhookWorker {
    /// Wires the worker.
    pub fn new(
        registry: WebhookRegistry,
        tenants: TenantCache,
        stores: WorkerStores,
        sender: Arc<dyn CallbackSender>,
        queue: Arc<dyn WebhookQueue>,
        clock: Arc<dyn Clock>,
        schedule: RetrySchedule,
    ) -> Self {
        Self {
            registry,
            tenants,
            payments: stores.payments,
            unmatched: stores.events,
            outbox: stores.outbox,
            sender,
            queue,
            clock,
            schedule,
            unmatched_grace: Duration::from_std(DEFAULT_UNMATCHED_GRACE)
                .unwrap_or_else(|_| Duration::minutes(5)),
            confirmer: None,
            endpoints: stores.endpoints,
            endpoint_policy: EndpointPolicy::default(),
            health_cache: Mutex::new(HashMap::new()),
            tenant_slots: Mutex::new(HashMap::new()),
            tenant_share: super::delivery::DEFAULT_TENANT_SHARE,
        }
    }

    /// Paces failing endpoints by `policy` instead of the default.
    pub fn with_endpoint_policy(mut self, policy: EndpointPolicy) -> Self {
        self.endpoint_policy = policy;
        self
    }

    /// At most `n` deliveries of one tenant at once in this instance.
    pub fn with_tenant_share(mut self, n: usize) -> Self {
        self.tenant_share = n.max(1);
        self
    }

    /// Treats unsigned gateway webhooks (EFI, Asaas: a static shared value authenticates them,
    /// the body is not signed) as hints: before a report that a live payment was paid is
    /// applied, the charge is read at the account that made it, and only a charge the gateway
    /// says is paid moves the payment. The Lambda and the dev server wire it; test-mode
    /// (simulator) payments move no money and are applied as reported.
    pub fn with_confirmer(mut self, confirmer: Arc<dyn ChargeConfirmer>) -> Self {
        self.confirmer = Some(confirmer);
        self
    }

    /// Sets how long an unmatched webhook is retried before it is acknowledged.
    pub fn with_unmatched_grace(mut self, grace: std::time::Duration) -> Self {
        self.unmatched_grace = Duration::from_std(grace).unwrap_or(self.unmatched_grace);
        self
    }

    /// The schedule in force (its `max_attempts` is the queue's `maxReceiveCount`).
    pub fn schedule(&self) -> &RetrySchedule {
        &self.schedule
    }

    /// Processes one message once, with no queue action (tests; `process_batch` is the queue's
    /// entry).
    pub async fn process(&self, msg: &QueueMessage) -> Result<(), WorkerError> {
        match serde_json::from_str::<QueueBody>(&msg.body)
            .map_err(|e| WorkerError::BadEnvelope(e.to_string()))?
        {
            QueueBody::Deliver(d) => match self.deliver_step(&d, msg).await {
                super::dispatch::Step::Done => Ok(()),
                super::dispatch::Step::Wait(d) => {
                    Err(WorkerError::Delivery(format!("held for {} s", d.as_secs())))
                }
                super::dispatch::Step::Failed(e) => Err(e),
                super::dispatch::Step::Spent(why) => Err(WorkerError::Delivery(why)),
            },
            QueueBody::Webhook(env) => self.process_envelope(&env, msg).await,
        }
    }

    /// One gateway webhook. Every log line of its handling carries the message id and the
    /// trace of the request that caused it (`xray_trace_id`).
    pub(crate) async fn process_envelope(
        &self,
        env: &WebhookEnvelope,
        msg: &QueueMessage,
    ) -> Result<(), WorkerError> {
        use tracing::Instrument;
        let trace = msg
            .trace_header
            .as_deref()
            .filter(|t| crate::telemetry::valid_trace_header(t))
            .unwrap_or("-");
        let span = tracing::info_span!("queue_message", message_id = %msg.message_id, xray_trace_id = %trace);
        self.process_webhook(env).instrument(span).await
    }

    /// Every event of one gateway webhook (an EFI notification may carry several).
    async fn process_webhook(&self, env: &WebhookEnvelope) -> Result<(), WorkerError> {
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
        let last_attempt = env.attempt + 1 >= self.schedule.max_attempts();
        // Every event is tried, so one that cannot apply yet never holds back the others of
        // the same notification (an EFI notification carries several Pix); the first failure
        // is returned and the whole body retried — the ones applied are no-ops then.
        let mut first_error = None;
        for ev in &events {
            if let Err(e) = self
                .handle_event(
                    &tenant,
                    (module.name(), module.body_is_signed()),
                    ev,
                    env.received_at,
                    last_attempt,
                )
                .await
            {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The payment a gateway event is about: by our payment id when the gateway echoes it
    /// (and the payment is at this gateway, on this charge or on none yet), else by the
    /// gateway's charge id.
    async fn find_payment(
        &self,
        tenant: &Tenant,
        gateway: &str,
        ev: &GatewayEvent,
    ) -> Result<Match, StoreError> {
        if let Some(pid) = &ev.payment_id {
            if let Some(p) = self.payments.get(&tenant.id, pid).await? {
                let same_gateway = p.gateway.as_deref() == Some(gateway);
                let same_charge = p
                    .gateway_payment_id
                    .as_deref()
                    .is_none_or(|g| g == ev.gateway_payment_id);
                if same_gateway && same_charge {
                    return Ok(Match::Found(Box::new(p)));
                }
                // An orphan of a failover (canceled at this gateway) names our payment too;
                // it never moves the payment that settled elsewhere.
                return Ok(Match::NotThisCharge);
            }
        }
        // The index is eventually consistent: decide on the payment as it is now.
        match self
            .payments
            .find_by_gateway_ref(&tenant.id, gateway, &ev.gateway_payment_id)
            .await?
        {
            Some(p) => Ok(match self.payments.get(&tenant.id, &p.id).await? {
                Some(p) => Match::Found(Box::new(p)),
                None => Match::Nothing,
            }),
            None => Ok(Match::Nothing),
        }
    }

    async fn handle_event(
        &self,
        tenant: &Tenant,
        (gateway, signed): (&str, bool),
        ev: &GatewayEvent,
        received_at: DateTime<Utc>,
        last_attempt: bool,
    ) -> Result<(), WorkerError> {
        let mut payment = match self.find_payment(tenant, gateway, ev).await? {
            Match::Found(p) => *p,
            // A failover orphan paid anyway (the payer paid the first Pix before its cancel
            // landed): money that belongs to no payment. Listed for people at once, alarmed;
            // never applied to the payment that settled elsewhere.
            Match::NotThisCharge
                if matches!(ev.kind, GatewayEventKind::Status(PaymentStatus::Succeeded)) =>
            {
                let now = self.clock.now();
                let w = UnmatchedWebhook {
                    tenant_id: tenant.id.clone(),
                    gateway: gateway.to_string(),
                    gateway_event_id: ev.dedupe_id.clone(),
                    gateway_payment_id: ev.gateway_payment_id.clone(),
                    payment_id: ev.payment_id.as_ref().map(PaymentId::to_string),
                    reported: PAID_ORPHAN.into(),
                    received_at,
                };
                self.unmatched
                    .record_unmatched(&w, now + Duration::days(EVENT_RETENTION_DAYS))
                    .await?;
                crate::telemetry::count(crate::telemetry::LATE_PAYMENT_RECEIVED, None);
                tracing::error!(payment_id = ?ev.payment_id, tenant = %tenant.id, gateway, gateway_payment_id = %ev.gateway_payment_id, "PAID ORPHAN: a failover orphan was paid; refund it at the gateway");
                return Ok(());
            }
            Match::NotThisCharge => {
                tracing::info!(payment_id = ?ev.payment_id, gateway, event = %ev.dedupe_id, "event for a charge that is not the payment's (a failover orphan); ignored");
                return Ok(());
            }
            Match::Nothing => {
                return self
                    .unmatched(tenant, gateway, ev, received_at, "no such payment")
                    .await
            }
        };
        if !signed
            && self
                .unconfirmed(tenant, gateway, &payment, ev, (received_at, last_attempt))
                .await?
        {
            return Ok(());
        }
        for _ in 0..5 {
            let next = match self.next_state(&payment, ev) {
                Next::Change(p) => *p,
                Next::NoChange => {
                    tracing::info!(payment_id = %payment.id, gateway, event = %ev.dedupe_id, "event changes nothing; ignored");
                    return Ok(());
                }
                Next::NotYet(why) => {
                    // E.g. a refund reported before the payment's success was applied (two
                    // events of one batch run concurrently, or the success webhook still on its
                    // way). While the payment can still succeed it is retried on the whole
                    // schedule — a late success is applied first, then this — and only a report
                    // that still does not fit on its last attempt is kept for people.
                    tracing::warn!(payment_id = %payment.id, gateway, event = %ev.dedupe_id, why, "event does not apply yet");
                    if payment.status.may_still_succeed() && !last_attempt {
                        return Err(WorkerError::NotYet(why.to_string()));
                    }
                    return self.unmatched(tenant, gateway, ev, received_at, why).await;
                }
            };
            let effects = effects_for(Some(&payment), &next, self.clock.now());
            match self.payments.update(&next, &effects).await {
                Ok(()) => {
                    crate::failpoint!("worker.after_apply");
                    if next.late_payment.is_some() && payment.late_payment.is_none() {
                        late_payment_alarm(&next, "webhook");
                    }
                    tracing::info!(payment_id = %next.id, from = %payment.status, to = %next.status, events = effects.events.len(), "gateway event applied");
                    return Ok(());
                }
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

    /// Whether an unsigned report of money must be refused: it says a live payment was paid,
    /// or that a refund of it succeeded (one refund, or "refunded in full"), and the gateway,
    /// asked through the payment's own account, does not say so. A refused report changes
    /// nothing, sends no callback, and is recorded for people (unmatched webhooks, with what
    /// the gateway said). A gateway that cannot answer now: retried.
    async fn unconfirmed(
        &self,
        tenant: &Tenant,
        gateway: &str,
        payment: &Payment,
        ev: &GatewayEvent,
        (received_at, last_attempt): (DateTime<Utc>, bool),
    ) -> Result<bool, WorkerError> {
        let Some(confirmer) = &self.confirmer else {
            return Ok(false);
        };
        if payment.applied_events.iter().any(|e| e == &ev.dedupe_id) {
            return Ok(false);
        }
        let Some(claim) = self.claim_of(payment, ev) else {
            return Ok(false);
        };
        let live = match &payment.account {
            Some(a) => !a.is_simulator(),
            None => tenant.uses_credentials(gateway),
        };
        if !live {
            return Ok(false);
        }
        let said = confirmer
            .charge_at_gateway(tenant, payment)
            .await
            .map_err(WorkerError::Unconfirmed)?;
        let confirmed = said.as_ref().is_some_and(|c| match claim {
            Claim::Paid => matches!(
                c.status,
                PaymentStatus::Succeeded
                    | PaymentStatus::PartiallyRefunded
                    | PaymentStatus::Refunded
            ),
            // Refunded in full there covers any refund; otherwise the gateway must show at
            // least what the payment would then record as refunded (a partial refund status
            // without an amount, where a read says no more, is taken at its word).
            Claim::Refunded { total, .. } => {
                c.status == PaymentStatus::Refunded
                    || match c.refunded_minor {
                        Some(shown) => shown >= total,
                        None => c.status == PaymentStatus::PartiallyRefunded,
                    }
            }
            // A refund that failed must not be done there: the gateway shows no more refunded
            // than the payment would still count (succeeded and pending) without it. A forged
            // "failed" would otherwise free the amount for a second, real refund.
            Claim::RefundFailed { total } => match c.refunded_minor {
                Some(shown) => shown <= total,
                None => !matches!(
                    c.status,
                    PaymentStatus::Refunded | PaymentStatus::PartiallyRefunded
                ),
            },
            // A payment reported failed, canceled or expired must have ended there too: a
            // forged one would tell the merchant a payable (or paid) charge is dead.
            Claim::Ended => matches!(
                c.status,
                PaymentStatus::Failed | PaymentStatus::Canceled | PaymentStatus::Expired
            ),
        });
        if confirmed {
            return Ok(false);
        }
        // The gateway shows what succeeded refunds need but not yet our pending ones: a real
        // report may be ahead of another refund still processing there. Asked again on the
        // schedule; only a report still unconfirmed on its last attempt is refused.
        let plausible = match (claim, said.as_ref().and_then(|c| c.refunded_minor)) {
            (Claim::Refunded { done, .. }, Some(shown)) => shown >= done,
            (Claim::RefundFailed { .. }, Some(_)) => true,
            _ => false,
        };
        if plausible && !last_attempt {
            return Err(WorkerError::Unconfirmed(
                "the gateway's refunded total does not cover the payment's refunds yet".into(),
            ));
        }
        let there = match &said {
            None => "there is no such charge".to_string(),
            Some(c) => match (claim, c.refunded_minor) {
                (Claim::Refunded { .. }, Some(shown)) => {
                    format!("{} with {shown} refunded", c.status.as_str())
                }
                _ => c.status.as_str().to_string(),
            },
        };
        let reported = match claim {
            Claim::Paid => format!("unconfirmed: reported paid, but {gateway} says {there}"),
            Claim::Refunded { total, .. } => format!(
                "unconfirmed: reported refunded ({total} refunded or pending in all), but {gateway} says {there}"
            ),
            Claim::RefundFailed { total } => format!(
                "unconfirmed: reported a refund failed ({total} would stay refunded or pending), but {gateway} says {there}"
            ),
            Claim::Ended => format!(
                "unconfirmed: reported {}, but {gateway} says {there}",
                match &ev.kind {
                    GatewayEventKind::Status(s) => s.as_str(),
                    _ => "ended",
                }
            ),
        };
        let w = UnmatchedWebhook {
            tenant_id: tenant.id.clone(),
            gateway: gateway.to_string(),
            gateway_event_id: ev.dedupe_id.clone(),
            gateway_payment_id: ev.gateway_payment_id.clone(),
            payment_id: Some(payment.id.to_string()),
            reported,
            received_at,
        };
        let now = self.clock.now();
        self.unmatched
            .record_unmatched(&w, now + Duration::days(EVENT_RETENTION_DAYS))
            .await?;
        crate::telemetry::count(crate::telemetry::WEBHOOK_UNCONFIRMED, None);
        tracing::error!(payment_id = %payment.id, tenant = %tenant.id, gateway, event = %ev.dedupe_id, "UNCONFIRMED WEBHOOK: a report of money the gateway does not confirm was refused (a forged or premature webhook)");
        Ok(true)
    }

    /// What money `ev` claims moved, if it needs the gateway's word before it is applied: the
    /// charge paid, or refunds that succeeded — then with the payment's refunded total once
    /// applied. A refund report that would change nothing (or does not fit yet) claims
    /// nothing here: it writes nothing either way.
    fn claim_of(&self, payment: &Payment, ev: &GatewayEvent) -> Option<Claim> {
        match &ev.kind {
            GatewayEventKind::Status(PaymentStatus::Succeeded) => Some(Claim::Paid),
            GatewayEventKind::Refund(RefundReport {
                status: RefundStatus::Succeeded,
                ..
            })
            | GatewayEventKind::RefundedInFull => match self.next_state(payment, ev) {
                // Pending refunds count too: the gateway's total includes returns we still
                // hold as pending, so a forged refund could otherwise borrow a real one's money.
                Next::Change(after) => {
                    let (done, pending) = after.refund_totals();
                    Some(Claim::Refunded {
                        total: done + pending,
                        done,
                    })
                }
                Next::NoChange | Next::NotYet(_) => None,
            },
            GatewayEventKind::Refund(RefundReport {
                status: RefundStatus::Failed,
                ..
            }) => match self.next_state(payment, ev) {
                Next::Change(after) => {
                    let (done, pending) = after.refund_totals();
                    Some(Claim::RefundFailed {
                        total: done + pending,
                    })
                }
                Next::NoChange | Next::NotYet(_) => None,
            },
            GatewayEventKind::Status(
                PaymentStatus::Failed | PaymentStatus::Canceled | PaymentStatus::Expired,
            ) => match self.next_state(payment, ev) {
                Next::Change(after) if after.status != payment.status => Some(Claim::Ended),
                _ => None,
            },
            _ => None,
        }
    }

    /// The payment after `ev`: a change, nothing (duplicate, stale, refused move), or "not
    /// yet" (a refund that does not fit the payment as it stands).
    fn next_state(&self, p: &Payment, ev: &GatewayEvent) -> Next {
        if p.applied_events.iter().any(|e| e == &ev.dedupe_id) {
            return Next::NoChange; // this very event changed the payment already
        }
        let now = self.clock.now();
        let mut next = p.clone();
        if next.gateway_payment_id.is_none() {
            // Created with an unknown outcome: the gateway's webhook names the charge.
            next.gateway_payment_id = Some(ev.gateway_payment_id.clone());
        }
        match &ev.kind {
            // Money confirmed for a payment already failed, canceled or expired (a boleto
            // paid at the bank before the cancel reached the gateway, a charge a wrong
            // account could not see): the status is final and stays, and the money is
            // recorded — evented, counted and alarmed with this very write — never dropped.
            GatewayEventKind::Status(PaymentStatus::Succeeded) if p.takes_late_payment() => {
                next.late_payment = Some(LatePayment {
                    amount: p.amount.minor(),
                    gateway_payment_id: ev.gateway_payment_id.clone(),
                    source: LateSource::Webhook,
                    gateway_event_id: Some(ev.dedupe_id.clone()),
                    received_at: now,
                });
            }
            GatewayEventKind::Status(to) => {
                let to = *to;
                let refund_driven = matches!(
                    to,
                    PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
                );
                if to != p.status && p.status.can_move_to(to) && !refund_driven {
                    next.status = to;
                }
            }
            GatewayEventKind::Overdue => {
                if p.status == PaymentStatus::Pending && p.overdue_at.is_none() {
                    next.overdue_at = Some(now);
                }
            }
            GatewayEventKind::Refund(r) => {
                if let Err(why) = apply_refund(&mut next, r, now) {
                    return Next::NotYet(why);
                }
            }
            GatewayEventKind::RefundedInFull => {
                if let Err(why) = apply_full_refund(&mut next, &ev.gateway_payment_id, now) {
                    return Next::NotYet(why);
                }
            }
        }
        if next == *p {
            return Next::NoChange;
        }
        next.updated_at = now;
        next.version += 1;
        next.webhooks_applied = next.webhooks_applied.saturating_add(1);
        next.applied_events.push(ev.dedupe_id.clone());
        if next.applied_events.len() > MAX_APPLIED_EVENTS {
            let extra = next.applied_events.len() - MAX_APPLIED_EVENTS;
            next.applied_events.drain(..extra);
        }
        Next::Change(Box::new(next))
    }

    /// No payment matches (or the event does not apply to it yet): retried while a create or
    /// an earlier event may still be committing, then recorded and acknowledged (never retried
    /// into the dead-letter queue).
    async fn unmatched(
        &self,
        tenant: &Tenant,
        gateway: &str,
        ev: &GatewayEvent,
        received_at: DateTime<Utc>,
        why: &'static str,
    ) -> Result<(), WorkerError> {
        let now = self.clock.now();
        if now - received_at < self.unmatched_grace {
            return Err(WorkerError::PaymentNotFound {
                gateway: gateway.to_string(),
                gateway_payment_id: ev.gateway_payment_id.clone(),
            });
        }
        let reported = match &ev.kind {
            GatewayEventKind::Status(s) => format!("status:{s}"),
            GatewayEventKind::Overdue => "overdue".to_string(),
            GatewayEventKind::Refund(r) => format!("refund:{:?}", r.status).to_lowercase(),
            GatewayEventKind::RefundedInFull => "refunded_in_full".to_string(),
        };
        let reported = if why == "no such payment" {
            reported
        } else {
            format!("{reported} ({why})")
        };
        let w = UnmatchedWebhook {
            tenant_id: tenant.id.clone(),
            gateway: gateway.to_string(),
            gateway_event_id: ev.dedupe_id.clone(),
            gateway_payment_id: ev.gateway_payment_id.clone(),
            payment_id: ev.payment_id.as_ref().map(PaymentId::to_string),
            reported,
            received_at,
        };
        self.unmatched
            .record_unmatched(&w, now + Duration::days(EVENT_RETENTION_DAYS))
            .await?;
        tracing::warn!(tenant = %tenant.id, gateway, gateway_payment_id = %ev.gateway_payment_id, "webhook matches no payment; recorded as unmatched and acknowledged");
        Ok(())
    }
}

/// A late payment was recorded: the metric its alarm watches, and an error line for people.
pub(crate) fn late_payment_alarm(p: &Payment, source: &str) {
    crate::telemetry::count(crate::telemetry::LATE_PAYMENT_RECEIVED, None);
    tracing::error!(
        payment_id = %p.id,
        tenant = %p.tenant_id,
        gateway = p.gateway.as_deref().unwrap_or("-"),
        status = %p.status,
        amount = p.amount.minor(),
        source,
        "LATE PAYMENT: the gateway confirmed money for a {} payment; refund it or settle it with the merchant",
        p.status
    );
}

/// Which payment a gateway event is about.
enum Match {
    Found(Box<Payment>),
    /// Our payment, but another charge of it (a failover orphan): nothing to do.
    NotThisCharge,
    Nothing,
}

/// What money an unsigned report claims moved (see `WebhookWorker::unconfirmed`).
#[derive(Clone, Copy)]
enum Claim {
    /// The charge was paid.
    Paid,
    /// Refunds succeeded: what the payment then counts as refunded or pending, and as
    /// refunded only (minor units).
    Refunded { total: i64, done: i64 },
    /// A refund failed: what the payment would still count as refunded or pending without it.
    RefundFailed { total: i64 },
    /// The payment failed, was canceled or expired.
    Ended,
}

/// What a gateway event does to a payment.
enum Next {
    Change(Box<Payment>),
    NoChange,
    /// It cannot apply to the payment as it stands (yet).
    NotYet(&'static str),
}

/// Applies one refund report to the payment's refund records (never twice, never backwards),
/// then derives the refunded amount and status from them. `Err` when the report does not fit
/// the payment as it stands (not refundable yet, or more than is left).
fn apply_refund(p: &mut Payment, r: &RefundReport, now: DateTime<Utc>) -> Result<(), &'static str> {
    let idx = p.refunds.iter().position(|x| {
        r.refund_id.as_deref() == Some(x.id.as_str())
            || x.gateway_refund_id.as_deref() == Some(r.gateway_refund_id.as_str())
    });
    match idx {
        Some(i) => {
            let rec = &mut p.refunds[i];
            if rec.gateway_refund_id.is_none() {
                rec.gateway_refund_id = Some(r.gateway_refund_id.clone());
            }
            if refund_can_move(rec.status, r.status) {
                rec.status = r.status;
            }
        }
        None => {
            // A refund this orchestrator has not recorded: made at the gateway directly, or
            // ours whose API call has not recorded it yet (then it carries our id, and that
            // call finds it here). Only while the payment can be refunded and the amount fits.
            let refundable_status = matches!(
                p.status,
                PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded
            );
            let counts = r.status != RefundStatus::Failed;
            if r.amount <= 0 {
                return Err("refund report without an amount");
            }
            if !refundable_status {
                return Err("refund reported for a payment that is not refundable");
            }
            if counts && r.amount > p.refundable() {
                return Err("refund reported for more than is left");
            }
            p.refunds.push(Refund {
                id: r
                    .refund_id
                    .clone()
                    .unwrap_or_else(|| external_refund_id(&r.gateway_refund_id)),
                amount: r.amount,
                status: r.status,
                gateway_refund_id: Some(r.gateway_refund_id.clone()),
                reason: None,
                created_at: now,
                replaces: None,
            });
        }
    }
    p.settle_refunds();
    Ok(())
}

/// The gateway says the charge is refunded in full without naming refunds: every pending
/// refund succeeded, and what no record covers yet was refunded at the gateway directly.
fn apply_full_refund(
    p: &mut Payment,
    gateway_payment_id: &str,
    now: DateTime<Utc>,
) -> Result<(), &'static str> {
    if p.status == PaymentStatus::Refunded {
        return Ok(());
    }
    if !matches!(
        p.status,
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded
    ) {
        return Err("refund reported for a payment that is not refundable");
    }
    for r in p.refunds.iter_mut() {
        if refund_can_move(r.status, RefundStatus::Succeeded) {
            r.status = RefundStatus::Succeeded;
        }
    }
    let (done, _) = p.refund_totals();
    let rest = p.amount.minor() - done;
    if rest > 0 {
        let gid = format!("{gateway_payment_id}:rest");
        p.refunds.push(Refund {
            id: external_refund_id(&gid),
            amount: rest,
            status: RefundStatus::Succeeded,
            gateway_refund_id: Some(gid),
            reason: None,
            created_at: now,
            replaces: None,
        });
    }
    p.settle_refunds();
    Ok(())
}

/// A stable id for a refund made at the gateway directly.
fn external_refund_id(gateway_refund_id: &str) -> String {
    let h = hex::encode(Sha256::digest(gateway_refund_id.as_bytes()));
    format!("ref_ext_{}", &h[..24])
}
