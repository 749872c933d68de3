//! `GET /v1/payments/{id}?refresh=true`: re-syncs a non-final payment from its gateway. It only
//! ever reads: `retrieve` by the gateway's id, or, when an ambiguous create left none, `lookup`
//! by our payment id and deterministic key. It never re-sends a create (a create re-sent after
//! the gateway forgot its idempotency key — Stripe keeps them about 24 h — would charge again).

use super::breaker::Admission;
use super::budget::CallBudget;
use super::create_payment::gateway_key;
use super::payment_write::Step;
use super::Orchestrator;
use crate::domain::{Failure, LatePayment, LateSource, Payment, PaymentStatus};
use crate::error::ApiError;
use crate::ports::{ChargeLookup, GatewayCharge, Tenant};
use chrono::{DateTime, Utc};

/// Failure code of a payment whose gateway holds no charge for it.
pub const CHARGE_NOT_FOUND: &str = "charge_not_found";

impl Orchestrator {
    /// Asks the gateway and applies what it says (only moves the state machine allows).
    pub(crate) async fn reconcile(
        &self,
        tenant: &Tenant,
        payment: Payment,
        deadline: Option<DateTime<Utc>>,
    ) -> Result<Payment, ApiError> {
        // Settled payments are not asked again — except a failed, canceled or expired one
        // without a late payment: its gateway may hold money it confirmed afterwards. That
        // question is best effort: the stored state is final and stays right, so when it cannot
        // be asked (credentials gone, breaker open, gateway down) the payment is answered as
        // stored.
        let settled = payment.status.is_final() || payment.status == PaymentStatus::Succeeded;
        if settled && !payment.takes_late_payment() {
            return Ok(payment);
        }
        if settled {
            let stored = payment.clone();
            return match self.ask_gateway(tenant, payment, deadline).await {
                Err(e) => {
                    tracing::warn!(payment_id = %stored.id, error = %e, "late-payment check not made; the final payment is answered as stored");
                    Ok(stored)
                }
                ok => ok,
            };
        }
        self.ask_gateway(tenant, payment, deadline).await
    }

    /// The gateway's state of the payment's charge, applied (see [`Self::reconcile`]).
    async fn ask_gateway(
        &self,
        tenant: &Tenant,
        payment: Payment,
        deadline: Option<DateTime<Utc>>,
    ) -> Result<Payment, ApiError> {
        let Some(name) = payment.gateway.clone() else {
            return Ok(payment);
        };
        // Exactly the account that holds the charge, or 409: a look-up in another account
        // would find nothing and settle a paid payment as failed.
        let gateway = self.resolve_for_payment(tenant, &payment, &name).await?;
        let now = self.clock.now();
        let budget = CallBudget::new(
            self.request_deadline(deadline, now),
            now,
            self.config.gateway_reserve,
        );
        // The breaker guards reads too: an open one answers at once instead of waiting on a
        // gateway known to be down.
        let permit = match self.breakers.admit(&tenant.id, &name).await {
            Admission::Call(p) => p,
            Admission::Rejected(_) => {
                return Err(ApiError::Gateway {
                    code: crate::error::breaker_open_code(crate::error::GatewayOp::Charge),
                    message: format!(
                        "{name}'s circuit breaker is open; the payment was not refreshed, try again later"
                    ),
                })
            }
        };
        let found: Result<Option<GatewayCharge>, _> = match &payment.gateway_payment_id {
            Some(gid) => budget
                .run(
                    gateway.name(),
                    "retrieve",
                    gateway.retrieve(gid, payment.method),
                )
                .await
                .map(Some),
            None => {
                let q = ChargeLookup {
                    payment_id: payment.id.clone(),
                    gateway_key: gateway_key(&payment.id),
                    method: payment.method,
                    amount: payment.amount,
                };
                budget
                    .run(gateway.name(), "lookup", gateway.lookup(&q))
                    .await
            }
        };
        self.breakers
            .record(permit, found.as_ref().err().map(|e| e.class))
            .await;
        let found = found.map_err(|e| ApiError::Gateway {
            code: crate::error::gateway_failure_code(crate::error::GatewayOp::Charge, e.class),
            message: format!("could not refresh from {name}: {}", e.message),
        })?;
        match found {
            Some(charge) => self.apply_charge(tenant, payment, &charge).await,
            // Nothing there. Young creates may still be in flight (or not yet searchable):
            // only an old enough one is settled as failed.
            None if now - payment.created_at >= self.config.not_found_after => {
                self.settle_not_found(tenant, payment).await
            }
            None => Ok(payment),
        }
    }

    /// Applies a charge's state with a versioned write (re-read and retried on a conflict).
    pub(crate) async fn apply_charge(
        &self,
        tenant: &Tenant,
        payment: Payment,
        charge: &GatewayCharge,
    ) -> Result<Payment, ApiError> {
        Ok(self.apply_charge_wrote(tenant, payment, charge).await?.0)
    }

    /// [`Self::apply_charge`], also saying whether this call wrote the change (a concurrent
    /// writer that got there first leaves it `false`).
    pub(crate) async fn apply_charge_wrote(
        &self,
        tenant: &Tenant,
        payment: Payment,
        charge: &GatewayCharge,
    ) -> Result<(Payment, bool), ApiError> {
        let now = self.clock.now();
        let (p, (late, wrote)) = self
            .write_payment(tenant, payment, "gateway state not recorded", |payment| {
                // Paid after a final failure: recorded as a late payment (the status stays).
                if charge.status == PaymentStatus::Succeeded && payment.takes_late_payment() {
                    let mut next = payment.clone();
                    next.late_payment = Some(LatePayment {
                        amount: payment.amount.minor(),
                        gateway_payment_id: charge.gateway_payment_id.clone(),
                        source: LateSource::Refresh,
                        gateway_event_id: None,
                        received_at: now,
                    });
                    if next.gateway_payment_id.is_none() {
                        next.gateway_payment_id = Some(charge.gateway_payment_id.clone());
                    }
                    return Ok(Step::Write(Box::new(next), (true, true)));
                }
                // Refund-driven statuses follow the refund records only (`Payment::settle_refunds`).
                let moved = charge.status != payment.status
                    && payment.status.can_move_to(charge.status)
                    && !matches!(
                        charge.status,
                        PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
                    );
                let learned = payment.gateway_payment_id.is_none();
                let instructions = payment.pix.is_none() && charge.pix.is_some()
                    || payment.boleto.is_none() && charge.boleto.is_some();
                if !moved && !learned && !instructions {
                    return Ok(Step::Keep((false, false)));
                }
                let mut next = payment.clone();
                if moved {
                    next.status = charge.status;
                }
                next.gateway_payment_id = Some(charge.gateway_payment_id.clone());
                next.pix = next.pix.or(charge.pix.clone());
                next.boleto = next.boleto.or(charge.boleto.clone());
                next.next_action = charge.next_action.clone().or(next.next_action);
                Ok(Step::Write(Box::new(next), (false, true)))
            })
            .await?;
        if late {
            super::webhooks::late_payment_alarm(&p, "refresh");
        }
        Ok((p, wrote))
    }

    /// The gateway holds no charge for this payment, long after the create: it failed.
    async fn settle_not_found(
        &self,
        tenant: &Tenant,
        payment: Payment,
    ) -> Result<Payment, ApiError> {
        let (p, ()) = self
            .write_payment(
                tenant,
                payment,
                "charge_not_found not recorded",
                |payment| {
                    if !payment.status.can_move_to(PaymentStatus::Failed)
                        || payment.gateway_payment_id.is_some()
                    {
                        return Ok(Step::Keep(()));
                    }
                    let mut next = payment.clone();
                    next.status = PaymentStatus::Failed;
                    next.failure = Some(Failure {
                        code: CHARGE_NOT_FOUND.into(),
                        message: format!(
                            "{} holds no charge for this payment: the create never reached it",
                            payment.gateway.as_deref().unwrap_or("the gateway")
                        ),
                    });
                    Ok(Step::Write(Box::new(next), ()))
                },
            )
            .await?;
        Ok(p)
    }
}

/// The webhook worker's confirmation of an unsigned gateway's report: a read of the charge at
/// the account that made it (never another account, never a simulator for a live payment),
/// bounded in time.
#[async_trait::async_trait]
impl crate::ports::ChargeConfirmer for Orchestrator {
    async fn charge_at_gateway(
        &self,
        tenant: &Tenant,
        payment: &Payment,
    ) -> Result<Option<GatewayCharge>, String> {
        let name = payment
            .gateway
            .clone()
            .ok_or_else(|| "the payment names no gateway".to_string())?;
        let gateway = self
            .resolve_for_payment(tenant, payment, &name)
            .await
            .map_err(|e| e.to_string())?;
        let read = async {
            match &payment.gateway_payment_id {
                Some(gid) => gateway.retrieve(gid, payment.method).await.map(Some),
                None => {
                    gateway
                        .lookup(&ChargeLookup {
                            payment_id: payment.id.clone(),
                            gateway_key: gateway_key(&payment.id),
                            method: payment.method,
                            amount: payment.amount,
                        })
                        .await
                }
            }
        };
        match tokio::time::timeout(CONFIRM_TIMEOUT, read).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(format!("{name}: {}", e.code)),
            Err(_) => Err(format!("{name} did not answer in time")),
        }
    }
}

/// How long a webhook's confirmation read may take.
const CONFIRM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
