//! Delivering one merchant event: read it from the outbox, ask its endpoint's health and its
//! tenant's share of the worker whether to attempt now, sign, POST, log the attempt, and learn
//! from the outcome.
//!
//! - **Endpoint health** (`domain::endpoint_health`): a failing endpoint is not attempted for
//!   every event; its events wait (new delayed messages, not in flight, no attempt spent) while
//!   one probe at a time tries it on a growing interval (5 s … hourly). A success heals it and the
//!   waiting events go out on their next hop (≤ 15 min). Failing for 5 days disables it: its
//!   events are marked `failed`, `EndpointDisabled` is emitted (`tenant.endpoint_disabled`, the
//!   operator's alarm) and the console shows it until the tenant enables it again, which resends
//!   the backlog (`service::webhook_endpoint`).
//! - **Tenant share**: at most `tenant_share` deliveries of one tenant run at once in a worker
//!   instance; the rest wait a moment. With the endpoint breaker (a timeout is a failure), a
//!   merchant endpoint that hangs holds at most one probe at a time across instances once it
//!   has failed, never the worker's concurrency for everyone.

use super::dispatch::Step;
use super::worker::{QueueMessage, WebhookWorker, WorkerError};
use crate::domain::{DeliveryAttempt, DeliveryState, EndpointHealth, Gate, StoredEvent, TenantId};
use crate::ports::{Callback, DeliveryMessage, DeliveryOutcome, EndpointKey};
use crate::signing::standard_webhooks::{signature_header, CallbackSecret};
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How long an instance trusts its copy of an endpoint's health.
const HEALTH_CACHE_TTL: Duration = Duration::from_secs(2);

/// How long a delivery waits for a slot of its tenant's share of this instance, then how long
/// it steps aside (a new delayed message) if none came free.
const SHARE_PATIENCE: Duration = Duration::from_millis(250);
const SHARE_WAIT: Duration = Duration::from_secs(1);

/// Deliveries of one tenant running at once in one worker instance, by default.
pub const DEFAULT_TENANT_SHARE: usize = 4;

impl WebhookWorker {
    /// One delivery of `m`'s event (see the module doc).
    pub(crate) async fn deliver_step(&self, m: &DeliveryMessage, q: &QueueMessage) -> Step {
        use tracing::Instrument;
        let span = tracing::info_span!("delivery", message_id = %q.message_id, event_id = %m.deliver_event, xray_trace_id = %q.trace_header.as_deref().unwrap_or("-"));
        self.deliver_inner(m).instrument(span).await
    }

    async fn deliver_inner(&self, m: &DeliveryMessage) -> Step {
        let stored = match self.outbox.get(&m.tenant_id, &m.deliver_event).await {
            Ok(Some(s)) => s,
            Ok(None) => return Step::Failed(WorkerError::EventNotFound(m.deliver_event.clone())),
            Err(e) => return Step::Failed(e.into()),
        };
        if stored.state == DeliveryState::Delivered && !m.resend {
            return Step::Done;
        }
        let tenant = match self.tenants.get(&m.tenant_id).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                return Step::Failed(WorkerError::UnknownSource(
                    "delivery".into(),
                    m.tenant_id.to_string(),
                ))
            }
            Err(e) => return Step::Failed(e.into()),
        };
        let StoredEvent { event, .. } = stored;
        // "No URL" is final for this event (`no_endpoint`), so it is never decided on a cached
        // copy of the tenant: a URL set moments ago (another instance's cache) must be seen.
        let tenant = if event.callback_url.is_none() && tenant.callback_url.is_none() {
            match self.tenants.get_fresh(&m.tenant_id).await {
                Ok(Some(t)) => t,
                Ok(None) => tenant,
                Err(e) => return Step::Failed(e.into()),
            }
        } else {
            tenant
        };
        let Some(url) = event
            .callback_url
            .clone()
            .or_else(|| tenant.callback_url.as_ref().map(|u| u.as_str().to_string()))
        else {
            tracing::info!(event_id = %event.id, "no callback URL configured; nothing to deliver");
            return match self
                .outbox
                .record_attempt(&tenant.id, &event.id, None, DeliveryState::NoEndpoint)
                .await
            {
                Ok(()) => Step::Done,
                Err(e) => Step::Failed(e.into()),
            };
        };
        let secrets: Vec<CallbackSecret> = tenant
            .active_callback_secrets(self.clock.now())
            .into_iter()
            .filter_map(|s| CallbackSecret::parse(s).ok())
            .collect();
        if secrets.is_empty() {
            self.mark_failed(m, "the tenant has no callback signing secret")
                .await;
            return Step::Failed(WorkerError::NoSigningSecret);
        }

        // May this endpoint be attempted now?
        let key = EndpointKey::new(&tenant.id, &url);
        let paced = self.endpoint_policy.paced;
        let mut health = if paced {
            self.endpoint_health(&key).await
        } else {
            EndpointHealth::default()
        };
        if health.disabled_at.is_some() {
            // The tenant may have enabled it since this instance cached it: never fail an event
            // on a stale copy.
            self.health_cache_drop(&key);
            health = self.endpoint_health(&key).await;
        }
        let now = self.clock.now();
        let based_on = match health.gate(now) {
            Gate::Send => health.version,
            Gate::Disabled(at) => {
                let why = format!(
                    "not attempted: the endpoint was disabled on {} after failing for days; enable it to resend",
                    at.format("%Y-%m-%d %H:%M UTC")
                );
                self.mark_failed(m, &why).await;
                return Step::Done;
            }
            Gate::Wait(until) => {
                self.note_held(m, &health).await;
                return Step::Wait(wait_until(until, now));
            }
            Gate::Probe => {
                let claimed = health.probe_claimed(now, &self.endpoint_policy);
                match self.save_health(&key, health.version, &claimed).await {
                    Some(true) => claimed.version,
                    // Another instance probes (or the store cannot say): wait for its lease.
                    _ => {
                        self.note_held(m, &health).await;
                        return Step::Wait(wait_until(claimed.retry_at.unwrap_or(now), now));
                    }
                }
            }
        };
        // A healthy endpoint frees a slot within milliseconds; one that hangs holds it, and
        // the tenant's other deliveries step aside instead of holding this worker too.
        let slot =
            tokio::time::timeout(SHARE_PATIENCE, self.tenant_slot(&tenant.id).acquire_owned());
        let Ok(Ok(_slot)) = slot.await else {
            return Step::Wait(SHARE_WAIT);
        };

        let at = self.clock.now();
        let ts = at.timestamp();
        let cb = Callback {
            url,
            webhook_id: event.id.clone(),
            timestamp: ts,
            signature: signature_header(&secrets, &event.id, ts, event.payload.as_bytes()),
            body: event.payload.clone(),
        };
        let started = Instant::now();
        let report = self.sender.send(&cb).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        crate::telemetry::latency(crate::telemetry::CALLBACK_LATENCY, None, ms);
        let delivered = report.outcome == DeliveryOutcome::Delivered;
        if delivered {
            crate::telemetry::count(crate::telemetry::WEBHOOK_DELIVERED, None);
        }
        let attempt_no = m.attempt + 1;
        tracing::info!(
            event_id = %event.id,
            payment_id = %event.payment_id,
            tenant = %tenant.id,
            http_status = report.http_status.unwrap_or(0),
            delivered,
            attempt = attempt_no,
            duration_ms = ms.round() as u64,
            "callback"
        );
        match &report.outcome {
            _ if !paced => {}
            // 410 is an answer: the endpoint is up.
            DeliveryOutcome::Delivered | DeliveryOutcome::Gone => {
                self.endpoint_healed(&key).await;
            }
            DeliveryOutcome::Retry(why) => self.endpoint_failed(&key, based_on, why).await,
        }
        let attempt = DeliveryAttempt {
            at,
            http_status: report.http_status,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            error: match &report.outcome {
                DeliveryOutcome::Retry(why) => Some(why.clone()),
                DeliveryOutcome::Gone => Some("merchant answered 410 Gone; not retried".into()),
                DeliveryOutcome::Delivered => None,
            },
            response_excerpt: report.response_excerpt.clone(),
        };
        let last = attempt_no >= self.schedule.max_attempts();
        let (state, step) = match report.outcome {
            DeliveryOutcome::Delivered => (DeliveryState::Delivered, Step::Done),
            DeliveryOutcome::Gone => (DeliveryState::Failed, Step::Done),
            DeliveryOutcome::Retry(why) if last => (
                DeliveryState::Failed,
                Step::Spent(format!("{attempt_no} attempts failed; last: {why}")),
            ),
            DeliveryOutcome::Retry(why) => (
                DeliveryState::Pending,
                Step::Failed(WorkerError::Delivery(why)),
            ),
        };
        // The log is for people; a failure to write it never turns a delivery into a retry.
        if let Err(e) = self
            .outbox
            .record_attempt(&tenant.id, &event.id, Some(&attempt), state)
            .await
        {
            tracing::warn!(event_id = %event.id, error = %e, "delivery attempt not logged");
        }
        step
    }

    /// The first time an event is held for its failing endpoint (a message fresh from the relay
    /// or a resend: no attempt, no due time), its log says so — once, not on every hop — so the
    /// merchant sees why it waits, and the relay audit sees an event that reached the worker.
    async fn note_held(&self, m: &DeliveryMessage, health: &EndpointHealth) {
        if m.attempt > 0 || m.due_at_ms.is_some() {
            return;
        }
        let since = health
            .failing_since
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        let why = format!(
            "not attempted yet: the endpoint has been failing since {since}; waiting for its next probe"
        );
        self.log_line(m, &why, DeliveryState::Pending).await;
    }

    /// Marks the event of `m` `failed` with `why` in its log (a dead-lettered delivery shows
    /// failed, never pending). Never over a delivered event (the store's write is conditional).
    pub(crate) async fn mark_failed(&self, m: &DeliveryMessage, why: &str) {
        self.log_line(m, why, DeliveryState::Failed).await;
    }

    /// One line in the event's delivery log that is not an HTTP attempt, with its state; a
    /// failure to write it is logged, never retried (the log is for people).
    async fn log_line(&self, m: &DeliveryMessage, why: &str, state: DeliveryState) {
        let line = DeliveryAttempt {
            at: self.clock.now(),
            http_status: None,
            duration_ms: 0,
            error: Some(why.chars().take(200).collect()),
            response_excerpt: None,
        };
        if let Err(e) = self
            .outbox
            .record_attempt(&m.tenant_id, &m.deliver_event, Some(&line), state)
            .await
        {
            tracing::warn!(event_id = %m.deliver_event, error = %e, "delivery log line not written");
        }
    }

    /// This tenant's slots in this instance.
    fn tenant_slot(&self, tenant: &TenantId) -> Arc<Semaphore> {
        let mut slots = self.tenant_slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .entry(tenant.live_id())
            .or_insert_with(|| Arc::new(Semaphore::new(self.tenant_share)))
            .clone()
    }

    /// The endpoint's health, from this instance's copy when fresh. A store that cannot be read
    /// reads as healthy: endpoint health protects the worker, never money.
    async fn endpoint_health(&self, key: &EndpointKey) -> EndpointHealth {
        if let Some((h, at)) = self.health_cache_get(key) {
            if at.elapsed() < HEALTH_CACHE_TTL {
                return h;
            }
        }
        match self.endpoints.load(key).await {
            Ok(h) => {
                self.health_cache_put(key, &h);
                h
            }
            Err(e) => {
                tracing::warn!(error = %e, "endpoint health unreadable; attempting");
                EndpointHealth::default()
            }
        }
    }

    /// Conditional write; `None` when the store failed.
    async fn save_health(
        &self,
        key: &EndpointKey,
        expected: u64,
        next: &EndpointHealth,
    ) -> Option<bool> {
        match self.endpoints.save(key, expected, next).await {
            Ok(true) => {
                self.health_cache_put(key, next);
                Some(true)
            }
            Ok(false) => {
                self.health_cache_drop(key);
                Some(false)
            }
            Err(e) => {
                tracing::warn!(error = %e, "endpoint health not written");
                None
            }
        }
    }

    /// A success heals the endpoint whatever others wrote meanwhile (it is proof it works).
    async fn endpoint_healed(&self, key: &EndpointKey) {
        for _ in 0..3 {
            let h = self.endpoint_health(key).await;
            if h.is_healthy() {
                return;
            }
            if h.disabled_at.is_some() {
                return; // only the tenant enables a disabled endpoint
            }
            if self.save_health(key, h.version, &h.after_success()).await != Some(false) {
                return;
            }
        }
    }

    /// A failure counts once per state it was attempted in: if another writer moved the record
    /// since (another failure of the same burst), this one is dropped, so a burst of concurrent
    /// failures is one step of the backoff, not ten.
    async fn endpoint_failed(&self, key: &EndpointKey, based_on: u64, why: &str) {
        let h = match self.endpoints.load(key).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "endpoint health unreadable; failure not counted");
                return;
            }
        };
        if h.version != based_on {
            self.health_cache_put(key, &h);
            return;
        }
        let next = h.after_failure(self.clock.now(), why, &self.endpoint_policy);
        if self.save_health(key, h.version, &next).await == Some(true)
            && next.disabled_at.is_some()
            && h.disabled_at.is_none()
        {
            crate::telemetry::count(crate::telemetry::ENDPOINT_DISABLED, None);
            tracing::error!(
                tenant = %key.tenant_id,
                url = %key.url,
                failing_since = ?next.failing_since,
                signal = "tenant.endpoint_disabled",
                "ENDPOINT DISABLED: the merchant's callback endpoint failed for days; its events are marked failed until the tenant enables it"
            );
        }
    }

    fn health_cache_get(&self, key: &EndpointKey) -> Option<(EndpointHealth, Instant)> {
        self.health_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn health_cache_put(&self, key: &EndpointKey, h: &EndpointHealth) {
        self.health_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), (h.clone(), Instant::now()));
    }

    fn health_cache_drop(&self, key: &EndpointKey) {
        self.health_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// The wait until `until`, spread by up to 10 % (at least 1 s) so a backlog does not arrive at
/// the probe's end all at once.
fn wait_until(
    until: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Duration {
    let base = (until - now).to_std().unwrap_or(Duration::ZERO);
    let spread = (base / 10).max(Duration::from_secs(1));
    base + spread.mul_f64(rand::rng().random_range(0.0..1.0))
}
