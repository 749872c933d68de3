//! The sweeper: settles create claims whose holder died and whose merchant never retried, so no
//! charge stays unnamed. It finds them through the stale-claims index the claim itself writes
//! (no extra request on the create path), takes each over exactly as a retry would (same
//! payment id, conditional on the old lease), and settles it with a look-up at the intent
//! gateway — never a create: the charge found becomes the payment with its merchant event (one
//! commit), a pending Pix/boleto orphan is canceled, and a claim whose steps prove nothing is
//! live is released. Whatever the gateway cannot say yet is left for the next pass.
//!
//! Runs on a schedule: the sweeper Lambda (`lambdas/sweeper`) on an EventBridge schedule
//! (`template.yaml`), the dev server every 30 s. A pass stops taking new claims after
//! [`SWEEP_PASS_SECONDS`] (the Lambda's timeout is 120 s); the next pass takes the rest. Two sweepers (or a sweeper and a merchant's retry) racing for one claim
//! are decided by the takeover's condition: one wins, the other skips it.

use super::budget::CallBudget;
use super::charge::{CreateRun, SweepEnd};
use super::create_request::parse_create;
use super::payment_view::render_payment;
use super::{Orchestrator, Reply};
use crate::ports::{Adopted, StaleClaim, StoredResponse, Tenant};
use chrono::Duration;

/// How one pass went (logged, and the Lambda's EMF metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Stale claims found.
    pub found: usize,
    /// Settled on a charge found at the gateway: payment stored (or found stored) and the key
    /// completed.
    pub recorded: usize,
    /// Released: the steps prove no charge is live under the payment id.
    pub released: usize,
    /// Left for a later pass (the gateway could not say yet, or a store failed).
    pub left: usize,
    /// Taken by someone else first (a retry, another sweeper).
    pub skipped: usize,
    /// The payments this pass recorded (reconciliation reports which orphans it named).
    pub recorded_ids: Vec<Named>,
}

/// A payment a sweep recorded: its id and the charge it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub payment_id: crate::domain::PaymentId,
    pub gateway: String,
    pub gateway_payment_id: String,
}

impl Named {
    fn of(p: &crate::domain::Payment) -> Self {
        Self {
            payment_id: p.id.clone(),
            gateway: p.gateway.clone().unwrap_or_default(),
            gateway_payment_id: p.gateway_payment_id.clone().unwrap_or_default(),
        }
    }
}

/// How long a claim stays past its holder's deadline before the sweeper takes it: a merchant's
/// own retry (seconds later, from an SDK) settles it first with the answer it is waiting for.
pub const SWEEP_GRACE_SECONDS: i64 = 60;
/// The time one adopted claim is held (its look-up and commit must fit).
pub(crate) const SWEEP_HOLD_SECONDS: i64 = 20;
/// Claims settled per pass at most (the next pass takes the rest).
pub const SWEEP_BATCH: usize = 100;
/// No claim is taken after this long into a pass, so a pass (each claim held for at most
/// `SWEEP_HOLD_SECONDS`) ends well within the Lambda's 120 s.
pub const SWEEP_PASS_SECONDS: u64 = 80;

enum One {
    Recorded(Named),
    Released,
    Left,
    Skipped,
}

impl Orchestrator {
    /// One pass of the sweeper over the stale create claims.
    pub async fn sweep_stale_claims(&self) -> Result<SweepReport, crate::ports::StoreError> {
        self.sweep_claims(None, std::time::Duration::from_secs(SWEEP_PASS_SECONDS))
            .await
    }

    /// A pass over the stale claims of `only` (every tenant's when `None`) that takes no claim
    /// after `take_for` (reconciliation runs one for the tenant it reconciles, within its own
    /// budget).
    pub(crate) async fn sweep_claims(
        &self,
        only: Option<&crate::domain::TenantId>,
        take_for: std::time::Duration,
    ) -> Result<SweepReport, crate::ports::StoreError> {
        let now = self.clock.now();
        let mut stale = self
            .idempotency
            .stale_claims(now - Duration::seconds(SWEEP_GRACE_SECONDS), SWEEP_BATCH)
            .await?;
        if let Some(t) = only {
            stale.retain(|c| &c.tenant_id == t);
        }
        let mut report = SweepReport {
            found: stale.len(),
            ..SweepReport::default()
        };
        let started = std::time::Instant::now();
        for claim in stale {
            if started.elapsed() > take_for {
                report.left += 1;
                continue;
            }
            // Metrics per claim: a pass cut short still reports what it did.
            match self.sweep_one(&claim).await {
                One::Recorded(id) => {
                    report.recorded += 1;
                    report.recorded_ids.push(id);
                    crate::telemetry::sweep(1, 0);
                }
                One::Released => report.released += 1,
                One::Left => {
                    report.left += 1;
                    crate::telemetry::sweep(0, 1);
                }
                One::Skipped => report.skipped += 1,
            }
        }
        if report.found > 0 {
            tracing::info!(
                found = report.found,
                recorded = report.recorded,
                released = report.released,
                left = report.left,
                skipped = report.skipped,
                "sweeper pass"
            );
        }
        Ok(report)
    }

    async fn sweep_one(&self, claim: &StaleClaim) -> One {
        let tenant = match self.tenants.get(&claim.tenant_id).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                tracing::error!(tenant = %claim.tenant_id, "stale claim of an unknown tenant; left");
                return One::Left;
            }
            Err(e) => {
                tracing::warn!(error = %e, "sweeper: tenant not read; left");
                return One::Left;
            }
        };
        let now = self.clock.now();
        let until = now + Duration::seconds(SWEEP_HOLD_SECONDS);
        // The call budget starts with this clock reading, before the store calls below: their
        // time counts against the hold, so no gateway call outlives it.
        let budget = CallBudget::new(until, now, self.config.gateway_reserve);
        let adopted = match self
            .idempotency
            .adopt(
                &tenant.id,
                &claim.key,
                now,
                until,
                now + self.config.idempotency_retention,
            )
            .await
        {
            Ok(Some(a)) => a,
            Ok(None) => return One::Skipped,
            Err(e) => {
                tracing::warn!(error = %e, "sweeper: claim not taken over; left");
                return One::Left;
            }
        };
        let Adopted {
            lease,
            body,
            previous_in_flight_until,
        } = adopted;
        let key = &claim.key;
        // The holder got as far as storing the payment: only the key is left to complete.
        match self.payments.get(&tenant.id, &lease.payment_id).await {
            Ok(Some(p)) => {
                let answer = StoredResponse {
                    status: 201,
                    body: render_payment(&p),
                };
                self.complete_key(&tenant, key, &lease, answer).await;
                return One::Recorded(Named::of(&p));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "sweeper: payment not read; left");
                return One::Left;
            }
        }
        let new = match parse_create(
            body.as_bytes(),
            &self.gateways.names(),
            self.config.allow_loopback_callbacks,
        ) {
            Ok(n) => n,
            // Not the parser's message: it may quote the body (a customer's document).
            Err(_) => {
                tracing::error!(payment_id = %lease.payment_id, "sweeper: the claim's request no longer parses; left for an operator");
                return One::Left;
            }
        };
        let mut run = CreateRun::new(
            self,
            &tenant,
            key,
            &lease,
            &new,
            budget,
            std::collections::HashMap::new(),
        );
        match run.sweep(previous_in_flight_until).await {
            SweepEnd::Record(payment) => self.sweep_record(&tenant, key, &lease, &payment).await,
            SweepEnd::NothingLive => {
                self.release_proven(
                    &tenant,
                    key,
                    &lease,
                    crate::error::ApiError::IdempotencyKeyInUse,
                )
                .await;
                tracing::info!(payment_id = %lease.payment_id, "sweeper: nothing live under the stale claim; released");
                One::Released
            }
            SweepEnd::Later(why) => {
                tracing::warn!(payment_id = %lease.payment_id, why = %why, "sweeper: left for a later pass");
                One::Left
            }
        }
    }

    async fn sweep_record(
        &self,
        tenant: &Tenant,
        key: &crate::domain::IdempotencyKey,
        lease: &crate::ports::Lease,
        payment: &crate::domain::Payment,
    ) -> One {
        match self.commit_created(tenant, key, lease, payment).await {
            Ok(Reply { .. }) => {
                tracing::warn!(payment_id = %payment.id, gateway = payment.gateway.as_deref().unwrap_or(""), status = %payment.status, "sweeper: a charge no request had recorded is now a payment");
                One::Recorded(Named::of(payment))
            }
            Err(e) => {
                tracing::warn!(payment_id = %payment.id, error = %e, "sweeper: payment not stored; left");
                One::Left
            }
        }
    }
}
