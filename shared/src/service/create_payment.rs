//! `POST /v1/payments`: idempotency claim (with the first gateway's intent), the charge loop
//! (`charge.rs`), payment record and stored response in one commit.

use super::budget::CallBudget;
use super::charge::{ChargeEnd, CreateRun};
use super::create_request::{parse_create, NewPayment};
use super::idempotent::parse_key;
use super::payment_view::render_payment;
use super::Orchestrator;
use crate::domain::{AccountMode, CreateSteps, IdempotencyKey, Payment, PaymentId, PaymentMethod};
use crate::error::ApiError;
use crate::ports::{ErrorClass, Gateway, KeyCompletion, Lease, StoreError, StoredResponse, Tenant};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;

/// Attempt code of a gateway skipped because its breaker is open (or half-open and already
/// being probed).
pub const BREAKER_OPEN: &str = "breaker_open";

/// The path whose requests are fingerprinted.
pub const PAYMENTS_PATH: &str = "/v1/payments";

/// How the create commit went.
enum Commit {
    Done(Reply),
    /// A condition failed: nothing was written.
    NotApplied,
    Failed(StoreError),
    /// No transactional commit is wired (a bare orchestrator): store step by step.
    Unsupported,
}

/// A response to send: fresh or replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// True when served from the idempotency record (`Idempotent-Replayed: true`).
    pub replayed: bool,
}

/// The key a gateway sees for this payment: deterministic, so a retry after a crash or an
/// ambiguous answer reaches the same gateway charge. 26 uppercase alphanumerics plus a
/// gateway-independent prefix keep it valid as an EFI txid (26–35 alphanumerics) too.
pub fn gateway_key(id: &PaymentId) -> String {
    format!("PAY{}", id.ulid_part())
}

impl Orchestrator {
    /// Creates a payment exactly once per (tenant, Idempotency-Key), across crashes: the claim
    /// names the first gateway before it is called, every failover is recorded before the next
    /// gateway is called, and a takeover resumes from those records (`charge.rs`).
    pub async fn create_payment(
        &self,
        tenant: &Tenant,
        idempotency_key: Option<&str>,
        body: &[u8],
        deadline: Option<DateTime<Utc>>,
    ) -> Result<Reply, ApiError> {
        let key = parse_key(idempotency_key)?;
        let new = parse_create(
            body,
            &self.gateways.names(),
            self.config.allow_loopback_callbacks,
        )?;
        let candidates = self.candidates(tenant, &new)?;
        let now = self.clock.now();
        let deadline = self.request_deadline(deadline, now);
        // The gateway budget starts now, with the claim's clock reading: measured from after the
        // claim, a slow claim would let calls run past `in_flight_until`, where a takeover may
        // already be resuming the same create.
        let budget = CallBudget::new(deadline, now, self.config.gateway_reserve);
        // The claim names the first gateway that can be called and the account it will be
        // called at (credentials served from the instance's cache: no extra request in steady
        // state). Gateways before it have no usable credentials: nothing is called there, and
        // the charge loop records them as attempts. None usable: the claim names no intent.
        let mut resolutions = HashMap::new();
        let mut first = CreateSteps::default();
        for g in &candidates {
            let r = self.resolve_for_charge(tenant, g.name()).await;
            let account = r.as_ref().ok().map(|r| r.account.clone());
            resolutions.insert(g.name().to_string(), r);
            if let Some(account) = account {
                first = CreateSteps::first_intent_at(g.name(), now, Some(account));
                break;
            }
        }

        let lease = match self
            .claim_key(tenant, &key, PAYMENTS_PATH, body, Some(deadline), first)
            .await?
        {
            Ok(lease) => lease,
            Err(replay) => return Ok(replay),
        };
        crate::failpoint!("create.after_claim");

        // A takeover whose predecessor got as far as storing the payment only has to finish.
        let existing = if lease.takeover {
            match self.payments.get(&tenant.id, &lease.payment_id).await {
                Ok(p) => p,
                Err(e) => return Err(self.release_key(tenant, &key, &lease, e.into()).await),
            }
        } else {
            None
        };
        let payment = match existing {
            Some(p) => p,
            None => {
                let mut run = CreateRun::new(self, tenant, &key, &lease, &new, budget, resolutions);
                match run.charge(&candidates).await {
                    ChargeEnd::Record(p) => {
                        crate::failpoint!("create.before_commit");
                        let reply = self.commit_created(tenant, &key, &lease, &p).await?;
                        crate::failpoint!("create.after_commit");
                        return Ok(reply);
                    }
                    ChargeEnd::NothingCreated(err, attempts) => {
                        let summary: Vec<String> = attempts
                            .iter()
                            .map(|a| {
                                format!("{} {}", a.gateway, a.code.as_deref().unwrap_or("error"))
                            })
                            .collect();
                        let error = ApiError::Gateway {
                            code: crate::error::gateway_failure_code(
                                crate::error::GatewayOp::Charge,
                                err.class,
                            ),
                            message: format!(
                                "no gateway could take the payment and none created a charge ({}); retrying with the same Idempotency-Key is safe",
                                summary.join(", ")
                            ),
                        };
                        return Err(self.release_refused(tenant, &key, &lease, error).await);
                    }
                    ChargeEnd::Stop {
                        error,
                        nothing_live,
                    } => {
                        if nothing_live {
                            return Err(self.release_proven(tenant, &key, &lease, error).await);
                        }
                        return Err(error);
                    }
                }
            }
        };

        let answer = StoredResponse {
            status: 201,
            body: render_payment(&payment),
        };
        Ok(self.complete_key(tenant, &key, &lease, answer).await)
    }

    /// Gateways to try, in order: the pinned one, or the tenant's routing for the method,
    /// skipping gateways that lack the method, the currency or (cards) a token.
    fn candidates(
        &self,
        tenant: &Tenant,
        new: &NewPayment,
    ) -> Result<Vec<Arc<dyn Gateway>>, ApiError> {
        let names: Vec<String> = match &new.gateway {
            Some(g) => vec![g.clone()],
            None => tenant.routing.get(&new.method).cloned().unwrap_or_default(),
        };
        let currency = new.amount.currency();
        let list: Vec<Arc<dyn Gateway>> = names
            .iter()
            .filter_map(|n| self.gateways.get(n))
            .filter(|g| g.supports(new.method) && g.supports_currency(currency))
            .filter(|g| new.method != PaymentMethod::Card || new.card_tokens.contains_key(g.name()))
            .cloned()
            .collect();
        // Live mode: only gateways with the tenant's credentials; a gateway without them is
        // not a candidate, whatever routing says (never a simulator, never a fallback).
        if tenant.mode() == AccountMode::Live && !list.is_empty() {
            let live: Vec<Arc<dyn Gateway>> = list
                .iter()
                .filter(|g| tenant.uses_credentials(g.name()))
                .cloned()
                .collect();
            if live.is_empty() {
                let (param, message) = match &new.gateway {
                    Some(g) => ("gateway", format!(
                        "gateway `{g}` has no credentials on this live account; register them with PUT /v1/gateways/{g}/credentials"
                    )),
                    None => ("method", format!(
                        "no gateway in this live account's routing for {} has credentials; register them with PUT /v1/gateways/{{gateway}}/credentials",
                        new.method
                    )),
                };
                return Err(ApiError::GatewayNotConfigured { message, param });
            }
            return Ok(live);
        }
        if list.is_empty() {
            let pinned = new.gateway.as_deref().and_then(|g| self.gateways.get(g));
            let why = match (&new.gateway, pinned) {
                (Some(g), Some(gw)) if !gw.supports(new.method) => {
                    format!("gateway `{g}` does not support {}", new.method)
                }
                (Some(g), Some(gw)) if !gw.supports_currency(currency) => {
                    format!("gateway `{g}` does not charge in {}", currency.code())
                }
                (Some(g), _) if new.method == PaymentMethod::Card => {
                    format!("gateway `{g}` needs a card token in card.tokens.{g}")
                }
                (Some(g), _) => format!("gateway `{g}` cannot take this payment"),
                (None, _) => format!(
                    "no gateway in this account's routing can take {} in {} with the given card tokens",
                    new.method,
                    currency.code()
                ),
            };
            return Err(ApiError::Unprocessable {
                code: "no_gateway_for_method",
                param: if new.gateway.is_some() {
                    "gateway"
                } else {
                    "method"
                },
                message: why,
            });
        }
        Ok(list)
    }

    /// The one-request path: payment and key completion in a single atomic write, conditional
    /// on the lease and on the payment id being new.
    async fn commit_new(
        &self,
        tenant: &Tenant,
        key: &IdempotencyKey,
        lease: &Lease,
        payment: &Payment,
    ) -> Commit {
        let Some(commit) = self.commit.as_ref() else {
            return Commit::Unsupported;
        };
        let answer = StoredResponse {
            status: 201,
            body: render_payment(payment),
        };
        let completion = KeyCompletion {
            tenant_id: &tenant.id,
            key,
            lease,
            response: &answer,
            expires_at: self.clock.now() + self.config.idempotency_retention,
        };
        let effects = super::outbox::effects_for(None, payment, self.clock.now());
        match commit
            .insert_completing(payment, &effects, &completion)
            .await
        {
            Ok(true) => Commit::Done(Reply {
                status: answer.status,
                body: answer.body,
                replayed: false,
            }),
            Ok(false) => Commit::NotApplied,
            Err(e) => {
                tracing::error!(payment_id = %payment.id, error = %e, "create commit failed after the gateway call; the claim is kept for the retry");
                Commit::Failed(e)
            }
        }
    }

    /// Stores a new payment and completes the key (the create path and the sweeper): the one
    /// commit when wired, else store then complete. Not applied: either another holder stored
    /// this payment first (it wins and is answered), or the lease was lost to a takeover, which
    /// will store its own outcome (409) — never insert without the lease. A failed commit keeps
    /// the claim: the gateway may hold a charge, and the retry (or the sweeper) takes over and
    /// settles on it through the steps.
    pub(crate) async fn commit_created(
        &self,
        tenant: &Tenant,
        key: &IdempotencyKey,
        lease: &Lease,
        payment: &Payment,
    ) -> Result<Reply, ApiError> {
        let stored = match self.commit_new(tenant, key, lease, payment).await {
            Commit::Done(reply) => return Ok(reply),
            Commit::NotApplied => match self.payments.get(&tenant.id, &lease.payment_id).await? {
                Some(stored) => stored,
                None => return Err(ApiError::IdempotencyKeyInUse),
            },
            Commit::Failed(e) => return Err(e.into()),
            Commit::Unsupported => self.store_new(payment.clone()).await?,
        };
        let answer = StoredResponse {
            status: 201,
            body: render_payment(&stored),
        };
        Ok(self.complete_key(tenant, key, lease, answer).await)
    }

    /// Stores a new payment. If another holder of the same key stored it first (a takeover
    /// race), that record wins and is returned.
    async fn store_new(&self, payment: Payment) -> Result<Payment, ApiError> {
        let effects = super::outbox::effects_for(None, &payment, self.clock.now());
        match self.payments.insert(&payment, &effects).await {
            Ok(()) => Ok(payment),
            Err(StoreError::Conflict(_)) => self
                .payments
                .get(&payment.tenant_id, &payment.id)
                .await?
                .ok_or_else(|| {
                    ApiError::Internal("payment vanished after a conflicting insert".into())
                }),
            // The gateway may hold a charge: keep the claim (it expires) so a retry takes over
            // with the same payment id and reaches the same charge.
            Err(e) => {
                tracing::error!(payment_id = %payment.id, error = %e, "payment not stored after gateway call");
                Err(e.into())
            }
        }
    }
}

pub(crate) fn class_name(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Declined => "declined",
        ErrorClass::Invalid => "invalid",
        ErrorClass::Unavailable => "unavailable",
        ErrorClass::Ambiguous => "ambiguous",
        ErrorClass::Misconfigured => "misconfigured",
    }
}
