//! The charge loop of `POST /v1/payments`, as durable steps (see `domain::create_steps` for the
//! table). Before a gateway is called it is the claim's one `intent`, written to the idempotency
//! record; before the next gateway is called, one conditional write settles the previous one as
//! `nothing` (provably nothing created) or `canceled` (its Pix/boleto orphan canceled) and names
//! the next. A takeover after a crash starts from those steps: the gateway that may hold a charge
//! is looked up (never created at) and settled first, and only then may routing continue.
//!
//! The happy path writes nothing here: the first intent rides on the claim and the outcome on
//! the commit, so a successful payment stays at two DynamoDB requests. Each failover costs one
//! write.

use super::breaker::{Admission, Permit};
use super::budget::CallBudget;
use super::create_payment::{class_name, gateway_key, BREAKER_OPEN};
use super::create_request::NewPayment;
use super::orchestrator::Resolved;
use super::Orchestrator;
use crate::domain::{
    Attempt, AttemptOutcome, CreateSteps, Failure, GatewayAccount, IdempotencyKey, Payment,
    PaymentMethod, PaymentStatus, StepState,
};
use crate::error::ApiError;
use crate::ports::{
    ChargeLookup, ChargeRequest, ErrorClass, Gateway, GatewayCharge, GatewayError, Lease,
    StoreError, Tenant,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// How a create's charge loop ended.
pub(crate) enum ChargeEnd {
    /// The payment record to store (charge found or created, declined, or unknown outcome).
    Record(Box<Payment>),
    /// Every candidate failed and provably created nothing.
    NothingCreated(GatewayError, Vec<Attempt>),
    /// Stopped before calling the next gateway: the lease was lost to a takeover, or the step
    /// could not be recorded. `nothing_live` says whether the steps prove no charge exists.
    Stop { error: ApiError, nothing_live: bool },
}

/// Attempt code of an intent whose account could not be read just now (a passing failure of the
/// credential store, not changed credentials).
const ACCOUNT_UNAVAILABLE: &str = "account_unavailable";

/// What the sweeper's look-up made of a stale claim (no create is ever sent by it).
pub(crate) enum SweepEnd {
    /// The charge was found: store this payment (with its merchant event) and complete the key.
    Record(Box<Payment>),
    /// The steps now prove nothing is live (no intent, the orphan canceled, or nothing found
    /// long enough after the call): the key can be released.
    NothingLive,
    /// The gateway could not say yet: leave the claim for a later pass.
    Later(String),
}

/// How a gateway is being called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Routing reached it: breaker admission applies, and `unavailable` or `misconfigured`
    /// prove that nothing was created.
    Fresh,
    /// A takeover re-issues the create a crashed holder may have sent (same gateway, same key).
    /// No breaker: this gateway is the only one that can say where the money is. And no failure
    /// proves "nothing": the earlier call may have created the charge.
    Resumed,
}

enum Next {
    /// Settled: the loop ends with this.
    Done(ChargeEnd),
    /// The gateway provably holds nothing payable: the next may be tried.
    MoveOn(GatewayError),
}

/// One create's charge loop: the request, its lease, the durable steps (mirrored here) and the
/// payment being built.
pub(crate) struct CreateRun<'a> {
    svc: &'a Orchestrator,
    tenant: &'a Tenant,
    key: &'a IdempotencyKey,
    lease: &'a Lease,
    new: &'a NewPayment,
    budget: CallBudget,
    steps: CreateSteps,
    payment: Payment,
    /// Each gateway's implementation and account, resolved once per run (the first one before
    /// the claim, so the claim's intent names its account).
    resolutions: HashMap<String, Result<Resolved, GatewayError>>,
}

impl<'a> CreateRun<'a> {
    /// A run from the lease's durable steps. After a takeover, the gateways the crashed holder
    /// settled reappear as attempts so the record keeps its history.
    pub(crate) fn new(
        svc: &'a Orchestrator,
        tenant: &'a Tenant,
        key: &'a IdempotencyKey,
        lease: &'a Lease,
        new: &'a NewPayment,
        budget: CallBudget,
        resolutions: HashMap<String, Result<Resolved, GatewayError>>,
    ) -> Self {
        let now = svc.clock.now();
        let attempts = if lease.takeover {
            lease
                .steps
                .steps()
                .iter()
                .filter(|s| s.state != StepState::Intent)
                .map(|s| Attempt {
                    gateway: s.gateway.clone(),
                    outcome: if s.state == StepState::Canceled {
                        AttemptOutcome::Ambiguous
                    } else {
                        AttemptOutcome::Unavailable
                    },
                    code: s.code.clone(),
                    duration_ms: 0,
                })
                .collect()
        } else {
            Vec::new()
        };
        let payment = Payment {
            id: lease.payment_id.clone(),
            tenant_id: tenant.id.clone(),
            status: PaymentStatus::Processing,
            amount: new.amount,
            method: new.method,
            gateway: None,
            gateway_payment_id: None,
            reference: new.reference.clone(),
            description: new.description.clone(),
            metadata: new.metadata.clone(),
            customer: new.customer.clone(),
            card_token: None,
            // Only the payment's own URL is kept: without one, each delivery goes to the
            // tenant's callback URL as it is then (`webhooks::delivery`), so a changed URL
            // reaches the events of payments made before the change too.
            callback_url: new.callback_url.clone(),
            pix: None,
            boleto: None,
            next_action: None,
            failure: None,
            refunded_amount: 0,
            refunds: vec![],
            attempts,
            created_at: now,
            updated_at: now,
            version: 1,
            applied_events: vec![],
            webhooks_applied: 0,
            account: None,
            late_payment: None,
            fee: None,
            net: None,
            overdue_at: None,
        };
        Self {
            svc,
            tenant,
            key,
            lease,
            new,
            budget,
            steps: lease.steps.clone(),
            payment,
            resolutions,
        }
    }

    /// The implementation and account of `name` for this run (resolved once).
    async fn resolve(&mut self, name: &str) -> Result<Resolved, GatewayError> {
        if let Some(r) = self.resolutions.get(name) {
            return r.clone();
        }
        let r = self.svc.resolve_for_charge(self.tenant, name).await;
        self.resolutions.insert(name.to_string(), r.clone());
        r
    }

    /// The account `gateway` was (or is about to be) called at: its durable step's, else this
    /// run's resolution.
    fn account_of(&self, gateway: &str) -> Option<GatewayAccount> {
        self.steps
            .steps()
            .iter()
            .find(|s| s.gateway == gateway)
            .and_then(|s| s.account.clone())
            .or_else(|| {
                self.resolutions
                    .get(gateway)
                    .and_then(|r| r.as_ref().ok())
                    .map(|r| r.account.clone())
            })
    }

    /// The payment is settled at `gateway`: it names the gateway and the account.
    fn settle_at(&mut self, gateway: &str) {
        self.payment.gateway = Some(gateway.to_string());
        self.payment.account = self.account_of(gateway);
    }

    /// Runs the loop: a takeover first settles the gateway that may hold a charge, then the
    /// candidates are tried in order, moving on only from a gateway that provably holds nothing
    /// payable.
    pub(crate) async fn charge(&mut self, candidates: &[Arc<dyn Gateway>]) -> ChargeEnd {
        let mut order: Vec<(Arc<dyn Gateway>, Mode)> = Vec::new();
        if let Some(intent) = self.steps.intent().cloned().filter(|_| self.lease.takeover) {
            let Some(g) = self.svc.gateways.get(&intent.gateway).cloned() else {
                return self.processing_at(&intent.gateway, "gateway_not_registered");
            };
            // Exactly the account the crashed holder named before its call; if those
            // credentials are gone, nothing is asked anywhere: the payment waits, processing,
            // pinned to that account (its follow-ups answer 409 until they are back).
            let resolved = match self.resolve_intent(&intent, &g).await {
                Ok(r) => r,
                Err(code) => return self.processing_at(g.name(), &code),
            };
            match self.look_up_intent(&g, &resolved.imp).await {
                Some(end) => return end,
                // Past ~a day the gateway may have forgotten its idempotency key (Stripe keeps
                // them 24 h): re-sending could charge again, so the payment waits for a refresh.
                None if self.steps.state_of(g.name()) == Some(StepState::Intent)
                    && self.svc.clock.now() - intent.at > chrono::Duration::hours(23) =>
                {
                    return self.processing_at(g.name(), "resume_too_late");
                }
                // A gateway without idempotency keys may still be processing the first send:
                // re-sending could charge twice, so it is only looked up again later.
                None if self.steps.state_of(g.name()) == Some(StepState::Intent)
                    && !resolved.imp.create_is_idempotent() =>
                {
                    return self.processing_at(g.name(), "resume_not_idempotent");
                }
                None if self.steps.state_of(g.name()) == Some(StepState::Intent) => {
                    order.push((g, Mode::Resumed));
                }
                None => {}
            }
        }
        for g in candidates {
            let reached = order.iter().any(|(o, _)| o.name() == g.name());
            if !reached && self.steps.state_of(g.name()) != Some(StepState::Canceled) {
                order.push((g.clone(), Mode::Fresh));
            }
        }
        let mut last_error = None;
        for (g, mode) in order {
            match self.attempt(&g, mode).await {
                Next::Done(end) => return end,
                Next::MoveOn(e) => last_error = Some(e),
            }
        }
        let err = last_error.unwrap_or_else(|| GatewayError {
            class: ErrorClass::Unavailable,
            code: "no_gateway".into(),
            message: "no gateway was tried".into(),
        });
        ChargeEnd::NothingCreated(err, std::mem::take(&mut self.payment.attempts))
    }

    /// The sweeper's settlement of a stale claim whose holder never came back: the intent
    /// gateway is asked for the charge (a look-up, never a create). A charge that moved or may
    /// move money becomes the payment; a pending Pix/boleto nobody was shown is canceled; a
    /// charge not found `not_found_after` past the intent (a create still on the wire, or a
    /// lagging search index, must not read as "none") proves nothing is live.
    ///
    /// `last_send` is the latest moment any holder could have sent the create (the previous
    /// holder's deadline): "not found" counts only `not_found_after` past it (and past the
    /// intent), since a takeover may have re-sent the create long after the intent was written,
    /// and a gateway's search (Stripe's) may not show a fresh charge yet.
    pub(crate) async fn sweep(&mut self, last_send: chrono::DateTime<chrono::Utc>) -> SweepEnd {
        let Some(intent) = self.steps.intent().cloned() else {
            return SweepEnd::NothingLive;
        };
        self.payment.created_at = intent.at;
        let name = intent.gateway.clone();
        let Some(g) = self.svc.gateways.get(&name).cloned() else {
            return SweepEnd::Later(format!("gateway {name} is not registered"));
        };
        // Exactly the account the holder named; gone or replaced: the payment is recorded
        // processing, pinned to it (named, and settled once those credentials are back).
        let imp = match self.resolve_intent(&intent, &g).await {
            Ok(r) => r.imp,
            // A passing failure (the credential store): ask again on the next pass.
            Err(code) if code == ACCOUNT_UNAVAILABLE => {
                return SweepEnd::Later(format!("{name}: {code}"))
            }
            Err(code) => {
                return SweepEnd::Record(Box::new(match self.processing_at(&name, &code) {
                    ChargeEnd::Record(p) => *p,
                    _ => return SweepEnd::Later(format!("{name}: {code}")),
                }))
            }
        };
        let req = self.request(g.as_ref());
        let found = self
            .budget
            .run(&name, "lookup", imp.lookup(&ChargeLookup::from(&req)))
            .await;
        let charge = match found {
            Ok(Some(c)) => c,
            Ok(None)
                if self.svc.clock.now() - intent.at.max(last_send)
                    >= self.svc.config.not_found_after =>
            {
                return self.settled_nothing(&name, "not_found_by_sweeper");
            }
            Ok(None) => return SweepEnd::Later(format!("{name}: not found yet")),
            Err(e) => return SweepEnd::Later(format!("{name}: {}", e.code)),
        };
        let orphan = self.new.method != PaymentMethod::Card;
        if !payable_or_paid(charge.status) {
            return self.settled_nothing(&name, "found_final_by_sweeper");
        }
        if orphan && charge.status == PaymentStatus::Pending {
            // Its holder died before answering: nobody was shown the QR code or boleto.
            let id = charge.gateway_payment_id.clone();
            return match self
                .budget
                .run(&name, "cancel", imp.cancel(&id, req.method))
                .await
            {
                Ok(()) => match self.steps.settle(
                    &name,
                    StepState::Canceled,
                    Some("orphan_canceled_by_sweeper".into()),
                ) {
                    Ok(()) => SweepEnd::NothingLive,
                    Err(e) => SweepEnd::Later(e.to_string()),
                },
                Err(e) => SweepEnd::Later(format!("{name}: orphan cancel {}", e.code)),
            };
        }
        self.payment.card_token = req.card_token.clone();
        self.payment.attempts.push(Attempt {
            gateway: name.clone(),
            outcome: AttemptOutcome::Succeeded,
            code: Some("found_by_sweeper".into()),
            duration_ms: 0,
        });
        self.apply(&name, charge);
        SweepEnd::Record(Box::new(self.payment.clone()))
    }

    fn settled_nothing(&mut self, gateway: &str, code: &str) -> SweepEnd {
        match self
            .steps
            .settle(gateway, StepState::Nothing, Some(code.to_string()))
        {
            Ok(()) => SweepEnd::NothingLive,
            Err(e) => SweepEnd::Later(e.to_string()),
        }
    }

    fn request(&self, g: &dyn Gateway) -> ChargeRequest {
        ChargeRequest {
            payment_id: self.payment.id.clone(),
            gateway_key: gateway_key(&self.payment.id),
            amount: self.new.amount,
            method: self.new.method,
            customer: self.new.customer.clone(),
            description: self.new.description.clone(),
            card_token: self.new.card_tokens.get(g.name()).cloned(),
            expires_in: self.new.expires_in,
        }
    }

    /// The account a crashed holder's intent named (or, for an intent recorded before accounts
    /// were pinned, the account as resolved now — in live mode never a simulator); the error
    /// is the attempt code to record when it cannot be used.
    async fn resolve_intent(
        &mut self,
        intent: &crate::domain::GatewayStep,
        g: &Arc<dyn Gateway>,
    ) -> Result<Resolved, String> {
        let resolved = match &intent.account {
            Some(account) => self
                .svc
                .resolve_account(self.tenant, g.name(), account)
                .await
                .map(|imp| Resolved {
                    imp,
                    account: account.clone(),
                })
                .map_err(|e| match e {
                    ApiError::GatewayCredentialsChanged(_) => {
                        "gateway_credentials_changed".to_string()
                    }
                    ApiError::Gateway { code, .. } => code.to_string(),
                    _ => ACCOUNT_UNAVAILABLE.to_string(),
                }),
            None => self
                .svc
                .resolve_for_charge(self.tenant, g.name())
                .await
                .map_err(|e| e.code),
        }?;
        self.resolutions
            .insert(g.name().to_string(), Ok(resolved.clone()));
        Ok(resolved)
    }

    /// After a takeover: asks the intent gateway for the charge the crashed holder may have made
    /// (a look-up, never a create). `Some` ends the loop on what was found; `None` with the step
    /// still `intent` means the gateway could not say, so its create is re-issued (same key).
    async fn look_up_intent(
        &mut self,
        g: &Arc<dyn Gateway>,
        imp: &Arc<dyn Gateway>,
    ) -> Option<ChargeEnd> {
        let name = g.name().to_string();
        let req = self.request(g.as_ref());
        let found = self
            .budget
            .run(&name, "lookup", imp.lookup(&ChargeLookup::from(&req)))
            .await;
        match found {
            Ok(Some(c)) if self.new.method != PaymentMethod::Card && !payable_or_paid(c.status) => {
                // A Pix/boleto orphan the crashed holder had canceled (or that lapsed).
                self.payment.attempts.push(Attempt {
                    gateway: name.clone(),
                    outcome: AttemptOutcome::Ambiguous,
                    code: Some("found_after_takeover+orphan_canceled".into()),
                    duration_ms: 0,
                });
                if let Err(e) = self.steps.settle(&name, StepState::Canceled, None) {
                    return Some(self.bug(e));
                }
                None
            }
            Ok(Some(c)) => {
                self.payment.card_token = req.card_token.clone();
                self.payment.attempts.push(Attempt {
                    gateway: name.clone(),
                    outcome: AttemptOutcome::Succeeded,
                    code: Some("found_after_takeover".into()),
                    duration_ms: 0,
                });
                self.apply(&name, c);
                Some(ChargeEnd::Record(Box::new(self.payment.clone())))
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(payment_id = %self.payment.id, gateway = %name, code = %e.code, "takeover look-up failed; re-issuing the same create");
                None
            }
        }
    }

    /// One gateway: breaker, durable intent, call, and what its outcome allows next.
    async fn attempt(&mut self, g: &Arc<dyn Gateway>, mode: Mode) -> Next {
        let name = g.name().to_string();
        let req = self.request(g.as_ref());
        // A gateway the breaker keeps shut is never called, so it needs no intent.
        let permit = match mode {
            Mode::Resumed => None,
            Mode::Fresh => match self.svc.breakers.admit(&self.tenant.id, &name).await {
                Admission::Call(p) => Some(p),
                Admission::Rejected(state) => {
                    tracing::info!(payment_id = %self.payment.id, gateway = %name, state = ?state, "breaker open: gateway skipped");
                    let e = GatewayError {
                        class: ErrorClass::Unavailable,
                        code: BREAKER_OPEN.into(),
                        message: format!("the circuit breaker for {name} is open"),
                    };
                    return self.nothing_at(&name, e, 0);
                }
            },
        };
        if self.budget.exhausted() {
            self.release_breaker(permit).await;
            if mode == Mode::Resumed {
                return Next::Done(ChargeEnd::Stop {
                    error: ApiError::Unavailable(
                        "too little time was left to settle the earlier attempt; retry with the same Idempotency-Key".into(),
                    ),
                    nothing_live: false,
                });
            }
            return self.nothing_at(&name, CallBudget::no_time_left(), 0);
        }
        // Resolved before the intent is written, so the intent names the account called.
        let resolved = match self.resolve(&name).await {
            Ok(r) => r,
            Err(e) => {
                self.record_breaker(permit, Some(e.class)).await;
                if mode == Mode::Resumed {
                    return Next::Done(self.processing_at(&name, &e.code));
                }
                return self.nothing_at(&name, e, 0);
            }
        };
        if mode == Mode::Fresh {
            if let Err(end) = self.begin(&name, resolved.account.clone()).await {
                self.release_breaker(permit).await;
                return Next::Done(end);
            }
        }
        let imp = resolved.imp;
        crate::failpoint!("create.before_gateway_call");
        let started = Instant::now();
        let result = self.budget.run(&name, "create", imp.create(&req)).await;
        crate::failpoint!("create.after_gateway_call");
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.record_breaker(permit, result.as_ref().err().map(|e| e.class))
            .await;
        self.payment.card_token = req.card_token.clone();
        let e = match result {
            Ok(charge) => {
                crate::telemetry::count(crate::telemetry::PAYMENT_PROCESSED, Some(&name));
                if self
                    .payment
                    .attempts
                    .first()
                    .is_some_and(|a| a.gateway != name)
                {
                    crate::telemetry::count(crate::telemetry::FAILOVER_COUNT, None);
                }
                self.payment.attempts.push(Attempt {
                    gateway: name.clone(),
                    outcome: AttemptOutcome::Succeeded,
                    code: None,
                    duration_ms,
                });
                self.apply(&name, charge);
                return Next::Done(ChargeEnd::Record(Box::new(self.payment.clone())));
            }
            Err(e) => e,
        };
        tracing::info!(payment_id = %self.payment.id, gateway = %name, class = class_name(e.class), code = %e.code, "gateway attempt failed");
        crate::telemetry::count(crate::telemetry::PAYMENT_FAILED, Some(&name));
        match (e.class, mode) {
            // A resumed create refused as invalid says nothing about the earlier call (a
            // single-use card token already spent by it, a key the gateway forgot): unknown.
            (ErrorClass::Invalid, Mode::Resumed) => {
                self.push_attempt(&name, &e, duration_ms);
                Next::Done(self.processing_at(&name, ""))
            }
            (ErrorClass::Declined | ErrorClass::Invalid, _) => {
                self.push_attempt(&name, &e, duration_ms);
                self.settle_at(&name);
                self.payment.status = PaymentStatus::Failed;
                self.payment.failure = Some(Failure {
                    code: e.code,
                    message: e.message,
                });
                Next::Done(ChargeEnd::Record(Box::new(self.payment.clone())))
            }
            (ErrorClass::Unavailable | ErrorClass::Misconfigured, Mode::Fresh) => {
                self.nothing_at(&name, e, duration_ms)
            }
            // Ambiguous, or any failure of a resumed create: a charge may exist here.
            _ => {
                self.push_attempt(&name, &e, duration_ms);
                if self.new.method == PaymentMethod::Card {
                    // A card charge may have moved money: never a second gateway.
                    return Next::Done(self.processing_at(&name, ""));
                }
                self.settle_orphan(&imp, &req, e).await
            }
        }
    }

    /// Pix and boleto move no money when created: an orphan the ambiguous attempt may have left
    /// is looked up and canceled, and only then may the next gateway issue the one payable
    /// charge. If it cannot be found or canceled, the payment stays `processing` here.
    async fn settle_orphan(
        &mut self,
        imp: &Arc<dyn Gateway>,
        req: &ChargeRequest,
        e: GatewayError,
    ) -> Next {
        let name = imp.name().to_string();
        let found = self
            .budget
            .run(imp.name(), "lookup", imp.lookup(&ChargeLookup::from(req)))
            .await;
        let outcome = match found {
            Ok(Some(c)) if payable_or_paid(c.status) && c.status != PaymentStatus::Pending => {
                // Paid (or being paid) already: this is the payment's charge.
                self.mark_last("found");
                self.apply(&name, c);
                return Next::Done(ChargeEnd::Record(Box::new(self.payment.clone())));
            }
            Ok(Some(c)) if c.status == PaymentStatus::Pending => {
                let id = c.gateway_payment_id.clone();
                match self
                    .budget
                    .run(imp.name(), "cancel", imp.cancel(&id, req.method))
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(err) => {
                        tracing::warn!(payment_id = %self.payment.id, gateway = %name, code = %err.code, "orphan charge could not be canceled");
                        self.payment.gateway_payment_id = Some(id);
                        Err("orphan_cancel_failed")
                    }
                }
            }
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err("orphan_not_found"),
            Err(_) => Err("orphan_cancel_failed"),
        };
        match outcome {
            Ok(()) => {
                self.mark_last("orphan_canceled");
                if let Err(err) = self
                    .steps
                    .settle(&name, StepState::Canceled, self.last_code())
                {
                    return Next::Done(self.bug(err));
                }
                crate::failpoint!("create.after_orphan_cancel");
                Next::MoveOn(e)
            }
            Err(what) => {
                self.mark_last(what);
                Next::Done(self.processing_at(&name, ""))
            }
        }
    }

    /// Records `gateway` as the one about to be called, durably, before the call. A no-op for
    /// the claim's own first intent.
    async fn begin(&mut self, gateway: &str, account: GatewayAccount) -> Result<(), ChargeEnd> {
        if self.steps.intent().is_some_and(|i| i.gateway == gateway) {
            return Ok(());
        }
        let before = self.steps.clone();
        if let Err(e) = self
            .steps
            .begin_at(gateway, self.svc.clock.now(), Some(account))
        {
            return Err(self.bug(e));
        }
        match self
            .svc
            .idempotency
            .record_steps(&self.tenant.id, self.key, self.lease, &self.steps)
            .await
        {
            Ok(()) => {
                crate::failpoint!("create.after_step_write");
                Ok(())
            }
            Err(e) => {
                self.steps = before;
                tracing::warn!(payment_id = %self.payment.id, gateway, error = %e, "failover step not recorded; no further gateway is called");
                Err(match e {
                    StoreError::Conflict(_) => ChargeEnd::Stop {
                        error: ApiError::IdempotencyKeyInUse,
                        nothing_live: false,
                    },
                    other => ChargeEnd::Stop {
                        error: other.into(),
                        nothing_live: self.steps.nothing_live(),
                    },
                })
            }
        }
    }

    /// The gateway provably created nothing: recorded as an attempt and, if it was the intent,
    /// settled as `nothing` (written with the next gateway's intent).
    fn nothing_at(&mut self, gateway: &str, e: GatewayError, duration_ms: u64) -> Next {
        self.push_attempt(gateway, &e, duration_ms);
        if self.steps.state_of(gateway) == Some(StepState::Intent) {
            if let Err(err) = self
                .steps
                .settle(gateway, StepState::Nothing, Some(e.code.clone()))
            {
                return Next::Done(self.bug(err));
            }
        }
        Next::MoveOn(e)
    }

    /// Ends as `processing` at `gateway`: the charge there is unknown, and reconciliation (or
    /// the gateway's webhook) settles it. `code`, if any, is added as an attempt.
    fn processing_at(&mut self, gateway: &str, code: &str) -> ChargeEnd {
        if !code.is_empty() {
            self.payment.attempts.push(Attempt {
                gateway: gateway.to_string(),
                outcome: AttemptOutcome::Ambiguous,
                code: Some(code.to_string()),
                duration_ms: 0,
            });
        }
        self.settle_at(gateway);
        self.payment.status = PaymentStatus::Processing;
        ChargeEnd::Record(Box::new(self.payment.clone()))
    }

    fn apply(&mut self, gateway: &str, charge: GatewayCharge) {
        self.settle_at(gateway);
        self.payment.status = charge.status;
        self.payment.gateway_payment_id = Some(charge.gateway_payment_id);
        self.payment.pix = charge.pix;
        self.payment.boleto = charge.boleto;
        self.payment.next_action = charge.next_action;
    }

    fn push_attempt(&mut self, gateway: &str, e: &GatewayError, duration_ms: u64) {
        self.payment.attempts.push(Attempt {
            gateway: gateway.to_string(),
            outcome: outcome_of(e.class),
            code: Some(e.code.clone()),
            duration_ms,
        });
    }

    fn mark_last(&mut self, what: &str) {
        if let Some(last) = self.payment.attempts.last_mut() {
            last.code = Some(match &last.code {
                Some(c) => format!("{c}+{what}"),
                None => what.to_string(),
            });
        }
    }

    fn last_code(&self) -> Option<String> {
        self.payment.attempts.last().and_then(|a| a.code.clone())
    }

    async fn record_breaker(&self, permit: Option<Permit>, class: Option<ErrorClass>) {
        if let Some(p) = permit {
            self.svc.breakers.record(p, class).await;
        }
    }

    /// Gives back a permit whose call is not made (a probe's slot is freed for the next caller).
    async fn release_breaker(&self, permit: Option<Permit>) {
        if let Some(p) = permit {
            self.svc.breakers.release(p).await;
        }
    }

    /// A step move the table forbids: a bug. Nothing more is called; the claim is kept unless
    /// the steps prove nothing is live.
    fn bug(&self, e: crate::domain::StepError) -> ChargeEnd {
        tracing::error!(payment_id = %self.payment.id, error = %e, "create step refused");
        ChargeEnd::Stop {
            error: ApiError::Internal(e.to_string()),
            nothing_live: false,
        }
    }
}

/// A charge that can still be paid or has been: not canceled, expired or failed.
fn payable_or_paid(s: PaymentStatus) -> bool {
    !matches!(
        s,
        PaymentStatus::Canceled | PaymentStatus::Expired | PaymentStatus::Failed
    )
}

/// The attempt outcome of an error class.
pub(crate) fn outcome_of(class: ErrorClass) -> AttemptOutcome {
    match class {
        ErrorClass::Declined => AttemptOutcome::Declined,
        ErrorClass::Invalid => AttemptOutcome::Invalid,
        ErrorClass::Unavailable => AttemptOutcome::Unavailable,
        ErrorClass::Ambiguous => AttemptOutcome::Ambiguous,
        ErrorClass::Misconfigured => AttemptOutcome::Misconfigured,
    }
}
