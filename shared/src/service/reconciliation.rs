//! Gateway reconciliation: list a gateway's charges over a window and compare each with our
//! payment. It repairs only through the writes the rest of the service uses, so it can run at
//! any time, twice at once, or over a window already seen:
//!
//! - a status that differs (a missed webhook) → [`Orchestrator::apply_charge`], the versioned
//!   write with its merchant event (a concurrent run or webhook loses the race and re-reads:
//!   one event);
//! - a charge carrying our payment id with no payment (a holder died and no retry named it
//!   yet) → adopted through its claim: the run sweeps the tenant's stale claims at once (the
//!   sweeper's takeover, conditional on the old lease, so two runs and the scheduled sweeper
//!   settle a claim once), which stores the payment made of the claim's request with its event
//!   and completes the key. Without such a claim nothing proves the charge is this tenant's (a
//!   gateway account may be shared): flagged, never written. A charge holding no money (a Pix
//!   nobody was shown) is the sweeper's to cancel;
//! - an amount or currency that differs, a second charge for a payment that names another one,
//!   or a payment made with other credentials → flagged, nothing written;
//! - fee and net, where the listing reports them → stored on the payment (no event).
//!
//! Charges without our payment id were made elsewhere and are only counted.

use super::payment_write::Step;
use super::{Orchestrator, Principal};
use crate::domain::{GatewayAccount, PaymentId, PaymentMethod, PaymentStatus};
use crate::error::ApiError;
use crate::ports::{
    ChargeWindow, Finding, FindingKind, ListedCharge, ReconciliationRun, RunStatus, RunTrigger,
    Tenant, MAX_LISTED_RUNS, MAX_RUN_FINDINGS,
};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// An unnamed orphan younger than this (by our payment id's time and the gateway's creation
/// time) is reported as still settling rather than as an anomaly: a holder's deadline and the
/// sweeper's grace end well before it.
pub const ADOPT_AFTER: Duration = Duration::minutes(30);
/// The longest window one request may ask for.
pub const MAX_WINDOW: Duration = Duration::days(31);
/// The scheduled pass's window: the two hours that ended 15 minutes ago (overlapping the
/// previous pass, so a pass that did not run is covered by the next).
pub const SCHEDULE_SPAN: Duration = Duration::hours(2);
pub const SCHEDULE_LAG: Duration = Duration::minutes(15);
/// Time a run keeps for storing its result once its budget is spent.
const SAVE_MARGIN: Duration = Duration::seconds(3);

/// What one scheduled pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcilePass {
    pub runs: usize,
    pub findings: usize,
    pub failed: usize,
}

/// The creation time a ULID payment id carries (our clock when the claim was made).
fn id_time(id: &PaymentId) -> Option<DateTime<Utc>> {
    let u = ulid::Ulid::from_string(id.ulid_part()).ok()?;
    DateTime::from_timestamp_millis(i64::try_from(u.timestamp_ms()).ok()?)
}

/// A run being filled in.
struct Run {
    run: ReconciliationRun,
    /// Until when claims may be taken (the run's deadline less a claim's hold).
    deadline: DateTime<Utc>,
    /// The payments this run's sweep of the tenant's stale claims recorded; `None` until it ran.
    swept: Option<Vec<super::sweeper::Named>>,
}

impl Run {
    fn note(
        &mut self,
        kind: FindingKind,
        payment_id: Option<&PaymentId>,
        gid: &str,
        detail: String,
        repaired: bool,
    ) {
        *self.run.counts.entry(kind).or_insert(0) += 1;
        if self.run.findings.len() >= MAX_RUN_FINDINGS {
            self.run.findings_truncated = true;
            return;
        }
        self.run.findings.push(Finding {
            kind,
            payment_id: payment_id.map(|p| p.to_string()),
            gateway_payment_id: gid.to_string(),
            detail,
            repaired,
        });
    }
}

/// The body of `POST /v1/reconciliation/runs` (all optional; empty: the last 24 h of every
/// gateway with credentials).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    #[serde(default)]
    gateway: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    from: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    to: Option<String>,
}

impl Orchestrator {
    /// Lists `name`'s charges in `window` with the tenant's current credentials for it and
    /// compares each with our payment; the run is stored (when a run store is wired) and
    /// returned. `deadline` bounds the run: past it the run stops as `partial`.
    pub async fn reconcile_gateway(
        &self,
        tenant: &Tenant,
        name: &str,
        window: ChargeWindow,
        trigger: RunTrigger,
        deadline: DateTime<Utc>,
    ) -> Result<ReconciliationRun, ApiError> {
        let started = self.clock.now();
        let mut r = Run {
            run: ReconciliationRun {
                id: format!("recon_{}", ulid::Ulid::new()),
                gateway: name.to_string(),
                from: window.from,
                to: window.to,
                trigger,
                started_at: started,
                finished_at: started,
                status: RunStatus::Completed,
                error: None,
                listed: 0,
                foreign: 0,
                counts: BTreeMap::new(),
                findings: vec![],
                findings_truncated: false,
            },
            deadline,
            swept: None,
        };
        if let Err(why) = self.list_and_compare(tenant, name, window, &mut r).await {
            r.run.status = RunStatus::Failed;
            r.run.error = Some(why);
        }
        r.run.finished_at = self.clock.now();
        let found: u32 = r.run.counts.values().sum();
        let anomalies: u32 = r
            .run
            .counts
            .iter()
            .filter(|(k, _)| k.needs_attention())
            .map(|(_, n)| n)
            .sum();
        crate::telemetry::reconciliation(
            name,
            anomalies as usize,
            r.run.status == RunStatus::Failed,
        );
        tracing::info!(
            tenant = %tenant.id,
            gateway = name,
            run = %r.run.id,
            status = ?r.run.status,
            listed = r.run.listed,
            findings = found,
            "reconciliation run"
        );
        if let Some(store) = &self.reconciliation {
            // The repairs are written already; a run that cannot be kept is logged, and the
            // next run over the window finds the same anomalies again.
            if let Err(e) = store.save(&tenant.id, &r.run).await {
                tracing::error!(tenant = %tenant.id, run = %r.run.id, error = %e, "reconciliation run not stored");
            }
        }
        Ok(r.run)
    }

    /// Lists the gateway's charges with the tenant's current credentials and compares each;
    /// `Err` is why nothing could be listed (the run failed). A listing or a comparison cut
    /// short leaves the run `partial`.
    async fn list_and_compare(
        &self,
        tenant: &Tenant,
        name: &str,
        window: ChargeWindow,
        r: &mut Run,
    ) -> Result<(), String> {
        let resolved = self
            .resolve_for_charge(tenant, name)
            .await
            .map_err(|e| format!("{}: {}", e.code, e.message))?;
        let budget = (r.deadline - SAVE_MARGIN - self.clock.now())
            .to_std()
            .unwrap_or_default();
        let listing = tokio::time::timeout(budget, resolved.imp.list_charges(&window))
            .await
            .map_err(|_| format!("{name} did not finish listing in time; run a narrower window"))?
            .map_err(|e| format!("{}: {}", e.code, e.message))?;
        if !listing.complete {
            r.run.status = RunStatus::Partial;
            r.run.error = Some(format!(
                "{name} listed more than {} charges; run a narrower window for the rest",
                crate::ports::MAX_LISTED_CHARGES
            ));
        }
        r.run.listed = u32::try_from(listing.charges.len()).unwrap_or(u32::MAX);
        for listed in &listing.charges {
            if self.clock.now() >= r.deadline - SAVE_MARGIN {
                r.run.status = RunStatus::Partial;
                r.run.error = Some(
                    "the run's time budget was spent; run a narrower window for the rest".into(),
                );
                break;
            }
            // One charge that cannot be compared now (a store error) does not stop the others;
            // the next run compares it again.
            if let Err(e) = self
                .compare(tenant, name, &resolved.account, listed, r)
                .await
            {
                r.run.status = RunStatus::Partial;
                r.run.error = Some(format!(
                    "{} could not be compared: {e}",
                    listed.charge.gateway_payment_id
                ));
            }
        }
        Ok(())
    }

    /// Compares one listed charge with our payment and repairs or flags (see the module).
    async fn compare(
        &self,
        tenant: &Tenant,
        name: &str,
        account: &GatewayAccount,
        listed: &ListedCharge,
        r: &mut Run,
    ) -> Result<(), ApiError> {
        let gid = listed.charge.gateway_payment_id.as_str();
        let Some(pid) = &listed.payment_id else {
            r.run.foreign += 1;
            return Ok(());
        };
        let Some(payment) = self.payments.get(&tenant.id, pid).await? else {
            return self.orphan(tenant, name, listed, pid, r).await;
        };
        let same_charge = payment.gateway.as_deref() == Some(name)
            && payment
                .gateway_payment_id
                .as_deref()
                .is_none_or(|g| g == gid);
        if !same_charge {
            // A leftover that holds no money (a failover's canceled orphan) needs nobody.
            if !matches!(
                listed.charge.status,
                PaymentStatus::Succeeded
                    | PaymentStatus::Processing
                    | PaymentStatus::RequiresAction
            ) {
                return Ok(());
            }
            r.note(
                FindingKind::OtherCharge,
                Some(pid),
                gid,
                format!(
                    "{name} holds a {} charge for this payment, which names {} {}",
                    listed.charge.status.as_str(),
                    payment.gateway.as_deref().unwrap_or("no gateway"),
                    payment
                        .gateway_payment_id
                        .as_deref()
                        .unwrap_or("and no charge")
                ),
                false,
            );
            return Ok(());
        }
        if let Some(a) = &payment.account {
            if a.credentials != account.credentials {
                r.note(
                    FindingKind::OtherAccount,
                    Some(pid),
                    gid,
                    "the payment was made with other credentials than the ones listed; compare it with a refresh".into(),
                    false,
                );
                return Ok(());
            }
        }
        let currency_ok = listed
            .currency
            .is_none_or(|c| c == payment.amount.currency());
        if listed.amount_minor != Some(payment.amount.minor()) || !currency_ok {
            r.note(
                FindingKind::AmountMismatch,
                Some(pid),
                gid,
                format!(
                    "{name} holds {} {} for a payment of {} {}",
                    listed
                        .amount_minor
                        .map_or("no amount".into(), |a| a.to_string()),
                    listed.currency.map_or("?", |c| c.code()),
                    payment.amount.minor(),
                    payment.amount.currency().code()
                ),
                false,
            );
            return Ok(());
        }
        let was = payment.status;
        let had_late = payment.late_payment.is_some();
        let (p, wrote) = self
            .apply_charge_wrote(tenant, payment, &listed.charge)
            .await?;
        if p.late_payment.is_some() && !had_late {
            r.note(
                FindingKind::LatePayment,
                Some(pid),
                gid,
                format!("{name} confirmed money for a {} payment", was.as_str()),
                wrote,
            );
        } else if p.status != was {
            r.note(
                FindingKind::StatusRepaired,
                Some(pid),
                gid,
                format!("{} → {} as {name} reports", was.as_str(), p.status.as_str()),
                wrote,
            );
        }
        if let (Some(fee), Some(net)) = (listed.fee, listed.net) {
            if p.fee != Some(fee) || p.net != Some(net) {
                let (_, wrote) = self
                    .write_payment(tenant, p, "fees not recorded", |p| {
                        if p.fee == Some(fee) && p.net == Some(net) {
                            return Ok(Step::Keep(false));
                        }
                        let mut next = p.clone();
                        next.fee = Some(fee);
                        next.net = Some(net);
                        Ok(Step::Write(Box::new(next), true))
                    })
                    .await?;
                r.note(
                    FindingKind::FeesRecorded,
                    Some(pid),
                    gid,
                    format!("fee {fee}, net {net}"),
                    wrote,
                );
            }
        }
        Ok(())
    }

    /// A charge with our payment id and no payment (see the module). Only this tenant's own
    /// unsettled claim proves the charge is ours — a gateway account shared with another tenant
    /// or deployment lists their charges too — and it holds the request the payment is made of
    /// (customer, reference, callback URL). So an orphan is named through its claim: one sweep
    /// of the tenant's stale claims per run (the sweeper's takeover, conditional on the old
    /// lease, so overlapping runs and the scheduled sweeper name it once), then read again.
    async fn orphan(
        &self,
        tenant: &Tenant,
        name: &str,
        listed: &ListedCharge,
        pid: &PaymentId,
        r: &mut Run,
    ) -> Result<(), ApiError> {
        let gid = listed.charge.gateway_payment_id.as_str();
        // Only a charge that holds (or may yet hold) money needs a payment: a card in any live
        // state (the sweeper records those too), another method once paid or processing. A Pix
        // or boleto nobody was shown is the sweeper's to cancel.
        let holds_money = match listed.charge.status {
            PaymentStatus::Succeeded | PaymentStatus::Processing => true,
            PaymentStatus::RequiresAction | PaymentStatus::Pending => {
                listed.method == Some(PaymentMethod::Card)
            }
            _ => false,
        };
        if !holds_money {
            r.note(
                FindingKind::OrphanUnpaid,
                Some(pid),
                gid,
                format!(
                    "{name} holds a {} charge no payment named, with no money: not adopted",
                    listed.charge.status.as_str()
                ),
                false,
            );
            return Ok(());
        }
        if r.swept.is_none() {
            let hold = Duration::seconds(super::sweeper::SWEEP_HOLD_SECONDS) + SAVE_MARGIN;
            let take_for = (r.deadline - hold - self.clock.now())
                .to_std()
                .unwrap_or_default();
            let named = match self.sweep_claims(Some(&tenant.id), take_for).await {
                Ok(report) => report.recorded_ids,
                Err(e) => {
                    tracing::warn!(tenant = %tenant.id, error = %e, "reconciliation: stale claims not read; the sweeper names them");
                    vec![]
                }
            };
            // Every payment the sweep recorded is this run's repair, whichever gateway holds
            // it (that gateway's run will find the payment stored).
            for n in &named {
                r.note(
                    FindingKind::OrphanAdopted,
                    Some(&n.payment_id),
                    &n.gateway_payment_id,
                    format!(
                        "{} held a charge no payment named; its claim was settled on it",
                        n.gateway
                    ),
                    true,
                );
            }
            r.swept = Some(named);
        }
        if self.payments.get(&tenant.id, pid).await?.is_some() {
            let ours = r
                .swept
                .as_ref()
                .is_some_and(|n| n.iter().any(|n| &n.payment_id == pid));
            if !ours {
                r.note(
                    FindingKind::OrphanAdopted,
                    Some(pid),
                    gid,
                    format!("{name}'s charge was named meanwhile (its retry, the sweeper or another run)"),
                    false,
                );
            }
            return Ok(());
        }
        let now = self.clock.now();
        let newest = match (id_time(pid), listed.created_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if newest.is_none_or(|t| now - t < ADOPT_AFTER) {
            r.note(
                FindingKind::OrphanInFlight,
                Some(pid),
                gid,
                "no payment yet; its request is still settling (its retry or the sweeper names it)"
                    .into(),
                false,
            );
        } else {
            r.note(
                FindingKind::OrphanUnnamed,
                Some(pid),
                gid,
                format!(
                    "{name} holds a {} charge with a payment id no settled claim of this account names (another account's charge, a claim released, or one the sweeper keeps leaving)",
                    listed.charge.status.as_str()
                ),
                false,
            );
        }
        Ok(())
    }

    /// The scheduled pass: every tenant, each gateway it has credentials for, over the window
    /// [`SCHEDULE_SPAN`] ending [`SCHEDULE_LAG`] ago. A tenant or gateway that fails is
    /// recorded as a failed run and the pass goes on.
    /// The pass starts no run after `budget` (measured on the service clock).
    pub async fn reconcile_all(
        &self,
        budget: std::time::Duration,
    ) -> Result<ReconcilePass, ApiError> {
        let now = self.clock.now();
        let deadline = now + Duration::from_std(budget).unwrap_or(Duration::minutes(2));
        let window = ChargeWindow {
            from: now - SCHEDULE_LAG - SCHEDULE_SPAN,
            to: now - SCHEDULE_LAG,
        };
        let mut pass = ReconcilePass::default();
        // Each pass starts one tenant further, so a pass cut by its budget leaves a different
        // tail each hour.
        let mut tenants = self.tenants.list().await?;
        if !tenants.is_empty() {
            let start =
                usize::try_from(now.timestamp().div_euclid(3600)).unwrap_or(0) % tenants.len();
            tenants.rotate_left(start);
        }
        for tenant in tenants {
            if tenant.disabled {
                continue;
            }
            for name in tenant.live_gateways.clone() {
                if self.clock.now() >= deadline {
                    return Ok(pass);
                }
                let run = self
                    .reconcile_gateway(&tenant, &name, window, RunTrigger::Schedule, deadline)
                    .await?;
                pass.runs += 1;
                pass.findings += run.counts.values().sum::<u32>() as usize;
                if run.status == RunStatus::Failed {
                    pass.failed += 1;
                }
            }
        }
        Ok(pass)
    }

    /// `POST /v1/reconciliation/runs`: `{"gateway"?, "from"?, "to"?}` (RFC 3339; default the
    /// last 24 h). One run per gateway (the named one, or each with credentials), answered
    /// when done.
    pub async fn create_reconciliation_runs(
        &self,
        who: &Principal,
        body: &[u8],
        deadline: Option<DateTime<Utc>>,
    ) -> Result<String, ApiError> {
        let tenant = &who.tenant;
        let now = self.clock.now();
        let req: RunRequest = super::json_body::parse_or_default(body, &[])?;
        let time = |k: &'static str, v: Option<&str>| -> Result<Option<DateTime<Utc>>, ApiError> {
            v.map(|s| {
                DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        ApiError::invalid(
                            "parameter_invalid_format",
                            k,
                            format!("{k} must be an RFC 3339 time, like 2026-12-01T00:00:00Z"),
                        )
                    })
            })
            .transpose()
        };
        let to = time("to", req.to.as_deref())?.unwrap_or(now);
        let from = time("from", req.from.as_deref())?.unwrap_or(to - Duration::hours(24));
        if from >= to {
            return Err(ApiError::invalid(
                "parameter_conflict",
                "from",
                "from must be before to",
            ));
        }
        if to - from > MAX_WINDOW {
            return Err(ApiError::invalid(
                "parameter_out_of_range",
                "from",
                "a window spans at most 31 days",
            ));
        }
        if to > now + Duration::minutes(5) {
            return Err(ApiError::invalid(
                "parameter_out_of_range",
                "to",
                "to must not be in the future",
            ));
        }
        let gateways: Vec<String> = match req.gateway {
            None => tenant.live_gateways.clone(),
            Some(g) => {
                if self.gateways.get(&g).is_none() {
                    return Err(ApiError::invalid(
                        "unknown_gateway",
                        "gateway",
                        format!(
                            "gateway must be one of {}",
                            self.gateways.names().join(", ")
                        ),
                    ));
                }
                vec![g]
            }
        };
        if gateways.is_empty() {
            return Err(ApiError::InvalidState(
                "this account has no gateway credentials; reconciliation lists the gateways it charges with its own credentials".into(),
            ));
        }
        let deadline = self.request_deadline(deadline, now);
        let mut data = Vec::new();
        for g in gateways {
            let run = self
                .reconcile_gateway(
                    tenant,
                    &g,
                    ChargeWindow { from, to },
                    RunTrigger::Api,
                    deadline,
                )
                .await?;
            data.push(run_view(&run));
        }
        Ok(json!({"object": "list", "data": data}).to_string())
    }

    /// `GET /v1/reconciliation/runs?limit=`: the newest runs, without their findings.
    pub async fn list_reconciliation_runs(
        &self,
        who: &Principal,
        query: Option<&str>,
    ) -> Result<String, ApiError> {
        let mut limit = super::queries::DEFAULT_LIMIT;
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "limit" => limit = super::queries::parse_limit(&v)?,
                other => {
                    return Err(ApiError::invalid(
                        "unknown_parameter",
                        other.chars().take(40).collect::<String>(),
                        format!(
                            "unknown query parameter {}; use limit",
                            other.chars().take(40).collect::<String>()
                        ),
                    ))
                }
            }
        }
        let runs = match &self.reconciliation {
            Some(s) => s.list(&who.tenant.id, limit.min(MAX_LISTED_RUNS)).await?,
            None => vec![],
        };
        let data: Vec<Value> = runs.iter().map(run_view).collect();
        Ok(json!({"object": "list", "data": data, "has_more": false}).to_string())
    }

    /// `GET /v1/reconciliation/runs/{id}`: one run with its findings.
    pub async fn get_reconciliation_run(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<String, ApiError> {
        let not_found = || {
            ApiError::NotFound(format!(
                "no reconciliation run {}",
                id.chars().take(40).collect::<String>()
            ))
        };
        if !id.starts_with("recon_") || id.len() > 40 {
            return Err(not_found());
        }
        let store = self.reconciliation.as_ref().ok_or_else(not_found)?;
        let run = store.get(&who.tenant.id, id).await?.ok_or_else(not_found)?;
        Ok(run_view(&run).to_string())
    }
}

/// The public form of a run.
pub fn run_view(run: &ReconciliationRun) -> Value {
    let mut v = serde_json::to_value(run).unwrap_or_else(|_| json!({}));
    if let Some(o) = v.as_object_mut() {
        o.insert("object".into(), json!("reconciliation_run"));
    }
    v
}
