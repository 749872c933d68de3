//! `POST /v1/payments`: idempotency claim, gateway call, payment record, stored response.

use super::breaker::Admission;
use super::create_request::{parse_create, NewPayment};
use super::idempotent::parse_key;
use super::payment_view::render_payment;
use super::Orchestrator;
use crate::domain::{
    Attempt, AttemptOutcome, Failure, IdempotencyKey, Payment, PaymentId, PaymentMethod,
    PaymentStatus,
};
use crate::error::ApiError;
use crate::ports::{
    ChargeRequest, ErrorClass, Gateway, GatewayError, KeyCompletion, Lease, StoreError,
    StoredResponse, Tenant,
};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Instant;

/// Attempt code of a gateway skipped because its breaker is open (or half-open and already
/// being probed).
pub const BREAKER_OPEN: &str = "breaker_open";

/// The path whose requests are fingerprinted.
pub const PAYMENTS_PATH: &str = "/v1/payments";

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

enum GatewayOutcome {
    /// The payment record to store (charge created, declined, or unknown outcome).
    Record(Box<Payment>),
    /// Every candidate failed and provably created nothing.
    NothingCreated(GatewayError, Vec<Attempt>),
}

impl Orchestrator {
    /// Creates a payment exactly once per (tenant, Idempotency-Key).
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

        let lease = match self
            .claim_key(tenant, &key, PAYMENTS_PATH, body, deadline)
            .await?
        {
            Ok(lease) => lease,
            Err(replay) => return Ok(replay),
        };

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
            None => match self
                .charge(tenant, &new, &lease.payment_id, &candidates)
                .await
            {
                GatewayOutcome::Record(p) => {
                    if let Some(reply) = self.commit_new(tenant, &key, &lease, &p).await {
                        return Ok(reply);
                    }
                    self.store_new(*p).await?
                }
                GatewayOutcome::NothingCreated(err, attempts) => {
                    let summary: Vec<String> = attempts
                        .iter()
                        .map(|a| format!("{} {}", a.gateway, a.code.as_deref().unwrap_or("error")))
                        .collect();
                    let error = ApiError::Gateway {
                        code: format!("gateway_{}", class_name(err.class)),
                        message: format!(
                            "no gateway could take the payment and none created a charge ({}); retrying with the same Idempotency-Key is safe",
                            summary.join(", ")
                        ),
                    };
                    return Err(self.release_key(tenant, &key, &lease, error).await);
                }
            },
        };

        let answer = StoredResponse {
            status: 201,
            body: render_payment(&payment),
        };
        Ok(self.complete_key(tenant, &key, &lease, answer).await)
    }

    /// Gateways to try, in order: the pinned one, or the tenant's routing for the method,
    /// skipping gateways that lack the method or (cards) a token.
    fn candidates(
        &self,
        tenant: &Tenant,
        new: &NewPayment,
    ) -> Result<Vec<Arc<dyn Gateway>>, ApiError> {
        let names: Vec<String> = match &new.gateway {
            Some(g) => vec![g.clone()],
            None => tenant.routing.get(&new.method).cloned().unwrap_or_default(),
        };
        let list: Vec<Arc<dyn Gateway>> = names
            .iter()
            .filter_map(|n| self.gateways.get(n))
            .filter(|g| g.supports(new.method))
            .filter(|g| new.method != PaymentMethod::Card || new.card_tokens.contains_key(g.name()))
            .cloned()
            .collect();
        if list.is_empty() {
            let why = match &new.gateway {
                Some(g)
                    if new.method == PaymentMethod::Card && !new.card_tokens.contains_key(g) =>
                {
                    format!("gateway `{g}` needs a card token in card.tokens.{g}")
                }
                Some(g) => format!("gateway `{g}` does not support {}", new.method),
                None => format!(
                    "no gateway in this account's routing can take {} with the given card tokens",
                    new.method
                ),
            };
            return Err(ApiError::invalid(
                "no_gateway_for_method",
                if new.gateway.is_some() {
                    "gateway"
                } else {
                    "method"
                },
                why,
            ));
        }
        Ok(list)
    }

    /// Calls the candidates in order. Moves to the next only when the previous attempt
    /// provably created no charge; an ambiguous outcome stops here as `processing`.
    async fn charge(
        &self,
        tenant: &Tenant,
        new: &NewPayment,
        id: &PaymentId,
        candidates: &[Arc<dyn Gateway>],
    ) -> GatewayOutcome {
        let now = self.clock.now();
        let mut payment = Payment {
            id: id.clone(),
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
            callback_url: new
                .callback_url
                .clone()
                .or_else(|| tenant.callback_url.clone()),
            pix: None,
            boleto: None,
            next_action: None,
            failure: None,
            refunded_amount: 0,
            refunds: vec![],
            attempts: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 1,
            last_event: None,
        };
        let mut last_error = None;
        // A gateway that may hold a charge we could not cancel: the payment is then
        // `processing` there (reconciled later) rather than "nothing created".
        let mut uncanceled: Option<String> = None;
        for g in candidates {
            let req = ChargeRequest {
                payment_id: id.clone(),
                gateway_key: gateway_key(id),
                amount: new.amount,
                method: new.method,
                customer: new.customer.clone(),
                description: new.description.clone(),
                card_token: new.card_tokens.get(g.name()).cloned(),
            };
            // An open breaker is a failure that provably created nothing: move on uncalled.
            let permit = match self.breakers.admit(&tenant.id, g.name()).await {
                Admission::Call(permit) => permit,
                Admission::Rejected(state) => {
                    tracing::info!(payment_id = %id, gateway = g.name(), state = ?state, "breaker open: gateway skipped");
                    payment.attempts.push(Attempt {
                        gateway: g.name().to_string(),
                        outcome: AttemptOutcome::Unavailable,
                        code: Some(BREAKER_OPEN.into()),
                        duration_ms: 0,
                    });
                    last_error = Some(GatewayError {
                        class: ErrorClass::Unavailable,
                        code: BREAKER_OPEN.into(),
                        message: format!("the circuit breaker for {} is open", g.name()),
                    });
                    continue;
                }
            };
            let started = Instant::now();
            let (imp, result) = match self.resolve_gateway(tenant, g.name()).await {
                Ok(imp) => {
                    let r = imp.create(&req).await;
                    (Some(imp), r)
                }
                Err(e) => (None, Err(e)),
            };
            let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.breakers
                .record(permit, result.as_ref().err().map(|e| e.class))
                .await;
            let attempt = |outcome, code: Option<String>| Attempt {
                gateway: g.name().to_string(),
                outcome,
                code,
                duration_ms,
            };
            payment.gateway = Some(g.name().to_string());
            payment.card_token = req.card_token.clone();
            match result {
                Ok(charge) => {
                    payment
                        .attempts
                        .push(attempt(AttemptOutcome::Succeeded, None));
                    payment.status = charge.status;
                    payment.gateway_payment_id = Some(charge.gateway_payment_id);
                    payment.pix = charge.pix;
                    payment.boleto = charge.boleto;
                    payment.next_action = charge.next_action;
                    return GatewayOutcome::Record(Box::new(payment));
                }
                Err(e) => {
                    tracing::info!(payment_id = %id, gateway = g.name(), class = class_name(e.class), code = %e.code, "gateway attempt failed");
                    payment
                        .attempts
                        .push(attempt(outcome_of(e.class), Some(e.code.clone())));
                    match e.class {
                        ErrorClass::Declined | ErrorClass::Invalid => {
                            payment.status = PaymentStatus::Failed;
                            payment.failure = Some(Failure {
                                code: e.code,
                                message: e.message,
                            });
                            return GatewayOutcome::Record(Box::new(payment));
                        }
                        // A card charge may have moved money: never a second gateway.
                        ErrorClass::Ambiguous if new.method == PaymentMethod::Card => {
                            payment.status = PaymentStatus::Processing;
                            return GatewayOutcome::Record(Box::new(payment));
                        }
                        // Pix and boleto move no money when created: cancel the orphan (best
                        // effort), then the next gateway may issue the one payable charge.
                        ErrorClass::Ambiguous => {
                            let canceled = match &imp {
                                Some(imp) => cancel_orphan(imp.as_ref(), &req).await,
                                None => false,
                            };
                            if let Some(last) = payment.attempts.last_mut() {
                                let what = if canceled {
                                    "orphan_canceled"
                                } else {
                                    "orphan_cancel_failed"
                                };
                                last.code = Some(format!("{}+{what}", e.code));
                            }
                            if !canceled {
                                tracing::warn!(payment_id = %id, gateway = g.name(), "orphan charge could not be canceled");
                                uncanceled = Some(g.name().to_string());
                            }
                            last_error = Some(e);
                        }
                        ErrorClass::Unavailable | ErrorClass::Misconfigured => last_error = Some(e),
                    }
                }
            }
        }
        if let Some(g) = uncanceled {
            payment.gateway = Some(g);
            payment.status = PaymentStatus::Processing;
            return GatewayOutcome::Record(Box::new(payment));
        }
        let err = last_error.unwrap_or_else(|| GatewayError {
            class: ErrorClass::Unavailable,
            code: "no_gateway".into(),
            message: "no gateway was tried".into(),
        });
        GatewayOutcome::NothingCreated(err, payment.attempts)
    }

    /// The one-request path: payment and key completion in a single atomic write. `None` when
    /// there is no such path or it did not apply; the caller then stores step by step (which
    /// also settles a takeover race or a lost lease the same way as always).
    async fn commit_new(
        &self,
        tenant: &Tenant,
        key: &IdempotencyKey,
        lease: &Lease,
        payment: &Payment,
    ) -> Option<Reply> {
        let commit = self.commit.as_ref()?;
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
        match commit.insert_completing(payment, &completion).await {
            Ok(true) => Some(Reply {
                status: answer.status,
                body: answer.body,
                replayed: false,
            }),
            Ok(false) => None,
            Err(e) => {
                tracing::warn!(payment_id = %payment.id, error = %e, "create commit failed; storing step by step");
                None
            }
        }
    }

    /// Stores a new payment. If another holder of the same key stored it first (a takeover
    /// race), that record wins and is returned.
    async fn store_new(&self, payment: Payment) -> Result<Payment, ApiError> {
        match self.payments.insert(&payment).await {
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

/// Finds the charge an ambiguous create may have left (the create is idempotent on the gateway
/// key, so re-issuing it returns that charge) and cancels it. True only when it is canceled.
async fn cancel_orphan(g: &dyn Gateway, req: &ChargeRequest) -> bool {
    match g.create(req).await {
        Ok(orphan) => g
            .cancel(&orphan.gateway_payment_id, req.method)
            .await
            .is_ok(),
        Err(_) => false,
    }
}

fn outcome_of(class: ErrorClass) -> AttemptOutcome {
    match class {
        ErrorClass::Declined => AttemptOutcome::Declined,
        ErrorClass::Invalid => AttemptOutcome::Invalid,
        ErrorClass::Unavailable => AttemptOutcome::Unavailable,
        ErrorClass::Ambiguous => AttemptOutcome::Ambiguous,
        ErrorClass::Misconfigured => AttemptOutcome::Misconfigured,
    }
}

fn class_name(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Declined => "declined",
        ErrorClass::Invalid => "invalid",
        ErrorClass::Unavailable => "unavailable",
        ErrorClass::Ambiguous => "ambiguous",
        ErrorClass::Misconfigured => "misconfigured",
    }
}
