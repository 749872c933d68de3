//! The relay audit: the safety net under the stream relay. The outbox table's stream keeps a
//! record 24 h; if the relay cannot hand records over for longer than that (SQS, KMS or IAM
//! failing), the records expire and their events would sit `pending` forever. The audit looks,
//! per tenant (and its test twin), at the events written in a window already older than the
//! stream's retention — by default between 28 h and 25 h ago on the service clock — and hands
//! every one still `pending` **with no delivery attempt logged** to the delivery queue, as the
//! relay would have. An event the relay did hand over has an attempt (or a final state) by
//! then; a duplicate hand-over is harmless anyway (delivery skips a delivered event, the
//! merchant dedupes on `webhook-id`).
//!
//! The window is read through `OutboxStore::list` (newest first by event id): event ids are
//! `evt_<ULID>`, so the listing starts below the smallest id of the window's end instant and
//! stops at the first id below the window's start. The id's time is the writer's clock.

use crate::clock::Clock;
use crate::domain::{DeliveryState, TenantId};
use crate::ports::{
    DeliveryMessage, EventFilter, OutboxStore, StoreError, TenantStore, WebhookQueue,
};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;
use std::sync::Arc;

/// How far behind the clock the default window ends: past the stream's 24 h retention, with an
/// hour's margin for records the relay is still retrying at the edge.
pub const RELAY_AUDIT_LAG: Duration = Duration::hours(25);
/// How long the default window is: three hours for an hourly schedule, so runs that start
/// late or fail (up to two in a row) leave no gap; a second hand-over is harmless.
pub const RELAY_AUDIT_SPAN: Duration = Duration::hours(3);
/// Events read per listing request.
const PAGE: usize = 200;

/// The events written in `[from, to)` (by the time in their id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl AuditWindow {
    /// The scheduled window at `now`: from `now − 28 h` to `now − 25 h`.
    pub fn scheduled(now: DateTime<Utc>) -> Self {
        Self {
            from: now - RELAY_AUDIT_LAG - RELAY_AUDIT_SPAN,
            to: now - RELAY_AUDIT_LAG,
        }
    }
}

/// The smallest event id of the instant `t`: every event written before `t` sorts below it,
/// every one written at or after `t` at or above it.
fn id_floor(t: DateTime<Utc>) -> String {
    let ms = u64::try_from(t.timestamp_millis()).unwrap_or(0);
    format!("evt_{}", ulid::Ulid::from_parts(ms, 0))
}

/// What one audit did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RelayAuditReport {
    /// Tenant ids audited (each tenant and its test twin).
    pub tenants: usize,
    /// Events in the window.
    pub examined: usize,
    /// Events handed to the delivery queue (pending, no attempt logged).
    pub requeued: usize,
    /// Tenant ids whose audit stopped on a store or queue error (logged; the rest went on).
    pub failed: usize,
}

/// Re-enqueues the merchant events the stream relay lost.
#[derive(Clone)]
pub struct RelayAudit {
    tenants: Arc<dyn TenantStore>,
    outbox: Arc<dyn OutboxStore>,
    queue: Arc<dyn WebhookQueue>,
    clock: Arc<dyn Clock>,
}

impl RelayAudit {
    /// Over the tenants, their outbox and the delivery queue, with the service clock.
    pub fn new(
        tenants: Arc<dyn TenantStore>,
        outbox: Arc<dyn OutboxStore>,
        queue: Arc<dyn WebhookQueue>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            tenants,
            outbox,
            queue,
            clock,
        }
    }

    /// The scheduled audit: the window [`AuditWindow::scheduled`] at the clock's now. Emits
    /// `RelayAuditRequeued` when it handed anything over.
    pub async fn run(&self) -> Result<RelayAuditReport, StoreError> {
        self.run_window(AuditWindow::scheduled(self.clock.now()))
            .await
    }

    /// Audits one window over every tenant id. Fails only if the tenants cannot be listed; a
    /// tenant whose events cannot be read (or queue refuses) is counted in `failed`.
    pub async fn run_window(&self, window: AuditWindow) -> Result<RelayAuditReport, StoreError> {
        let mut ids = BTreeSet::new();
        for t in self.tenants.list().await? {
            ids.insert(t.id.test_id());
            ids.insert(t.id);
        }
        let mut report = RelayAuditReport::default();
        for tenant_id in ids {
            report.tenants += 1;
            if let Err(e) = self.audit_tenant(&tenant_id, window, &mut report).await {
                report.failed += 1;
                tracing::warn!(tenant = %tenant_id, error = %e, "relay audit of a tenant stopped");
            }
        }
        crate::telemetry::relay_audit(report.requeued);
        if report.requeued > 0 {
            tracing::warn!(
                requeued = report.requeued,
                examined = report.examined,
                from = %window.from,
                to = %window.to,
                "relay audit handed over events the stream relay never did"
            );
        }
        Ok(report)
    }

    async fn audit_tenant(
        &self,
        tenant_id: &TenantId,
        window: AuditWindow,
        report: &mut RelayAuditReport,
    ) -> Result<(), StoreError> {
        let floor = id_floor(window.from);
        let mut after = Some(id_floor(window.to));
        let filter = EventFilter::default();
        while let Some(cursor) = after.take() {
            let page = self
                .outbox
                .list(tenant_id, &filter, PAGE, Some(&cursor))
                .await?;
            for e in &page.items {
                if e.event.id < floor {
                    return Ok(());
                }
                report.examined += 1;
                if e.state == DeliveryState::Pending && e.attempts.is_empty() {
                    let msg = DeliveryMessage::new(e.event.id.clone(), e.event.tenant_id.clone());
                    self.queue.send_delivery(&msg).await?;
                    report.requeued += 1;
                }
            }
            // A cursor that does not move down would list the same page for ever.
            after = page.next_cursor.filter(|next| *next < cursor);
        }
        Ok(())
    }
}

impl crate::service::Orchestrator {
    /// The relay audit over this orchestrator's tenants, outbox and delivery queue, on its
    /// clock (the sweeper Lambda's `{"task": "relay_audit"}`, the dev server's timer).
    pub async fn relay_audit(&self) -> Result<RelayAuditReport, StoreError> {
        let (Some(outbox), Some(queue)) = (self.outbox.clone(), self.delivery_queue.clone()) else {
            return Err(StoreError::Unavailable(
                "relay audit: no outbox or delivery queue configured".into(),
            ));
        };
        RelayAudit::new(self.tenants.clone(), outbox, queue, self.clock.clone())
            .run()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_scheduled_window_is_older_than_the_stream_retention() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 7, 12, 0, 0)
            .single()
            .unwrap_or_default();
        let w = AuditWindow::scheduled(now);
        assert_eq!(w.to, now - Duration::hours(25));
        assert_eq!(w.from, now - Duration::hours(28));
    }

    #[test]
    fn the_id_floor_splits_ids_by_their_time() {
        let t = Utc
            .with_ymd_and_hms(2026, 12, 7, 12, 0, 0)
            .single()
            .unwrap_or_default();
        let ms = u64::try_from(t.timestamp_millis()).unwrap_or(0);
        let at = |ms: u64, r: u128| format!("evt_{}", ulid::Ulid::from_parts(ms, r));
        let floor = id_floor(t);
        assert!(at(ms - 1, u128::MAX >> 48) < floor, "just before: below");
        assert!(
            at(ms, 0) >= floor && at(ms, 1) > floor,
            "at the instant: not below"
        );
        // Before 1970 is clamped, not a panic.
        assert_eq!(id_floor(DateTime::<Utc>::MIN_UTC), at(0, 0));
    }
}
