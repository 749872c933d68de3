//! `POST /v1/payments/{id}/cancel`: cancels a payment that is still waiting on its payer — a
//! `pending` Pix or boleto, a `requires_action` card — at its gateway, then stores it as
//! `canceled` (final) with its `payment.canceled` event and usage delta in the same write.
//!
//! Idempotent like refunds: the key is claimed first, and the answer stored for replay. A
//! payment already canceled is answered as it is, without a gateway call. A gateway that refuses
//! the cancel is asked for the charge (`retrieve`): paid meanwhile → the payment is stored with
//! that status and the answer is 422; canceled there already → stored as canceled, 200.

use super::breaker::Admission;
use super::budget::CallBudget;
use super::idempotent::parse_key;
use super::payment_write::Step;
use super::{Orchestrator, Reply};
use crate::domain::{IdempotencyKey, Payment, PaymentId, PaymentStatus};
use crate::error::ApiError;
use crate::ports::{ErrorClass, Gateway, GatewayError, Lease, StoredResponse, Tenant};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The cancel body: empty or `{}`. There are no options yet; any field is refused, so one can
/// be added later without changing what an old request meant.
fn parse(body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let fields: serde_json::Map<String, serde_json::Value> = super::json_body::parse(body, &[])?;
    match fields.keys().next() {
        None => Ok(()),
        Some(k) => Err(ApiError::invalid(
            "unknown_parameter",
            k.chars().take(64).collect::<String>(),
            format!(
                "unknown field `{}`; a cancel takes no parameters",
                k.chars().take(64).collect::<String>()
            ),
        )),
    }
}

/// Whether a payment in `status` can be canceled at its gateway: it is waiting on the payer.
fn cancelable(status: PaymentStatus) -> bool {
    matches!(
        status,
        PaymentStatus::Pending | PaymentStatus::RequiresAction
    )
}

fn not_cancelable(status: PaymentStatus) -> ApiError {
    ApiError::InvalidState(format!(
        "payment is {status}; only pending or requires_action payments can be canceled"
    ))
}

fn gateway_error(e: GatewayError) -> ApiError {
    ApiError::Gateway {
        code: crate::error::gateway_failure_code(crate::error::GatewayOp::Cancel, e.class),
        message: format!("{} ({})", e.message, e.code),
    }
}

impl Orchestrator {
    /// Cancels the tenant's payment `payment_id` (see the module documentation).
    pub async fn cancel_payment(
        &self,
        tenant: &Tenant,
        payment_id: &str,
        idempotency_key: Option<&str>,
        body: &[u8],
        deadline: Option<DateTime<Utc>>,
    ) -> Result<Reply, ApiError> {
        let key = parse_key(idempotency_key)?;
        parse(body)?;
        let not_found = || super::queries::payment_not_found(payment_id);
        let pid = PaymentId::parse(payment_id).map_err(|_| not_found())?;
        // One deadline for the claim's in-flight time and the gateway budget: recomputed later
        // from a later clock reading (no deadline on the dev server), the budget would outlive
        // the claim, and a retry's takeover could call the gateway while this call still runs.
        let deadline = self.request_deadline(deadline, self.clock.now());
        let lease = match self
            .claim_key(
                tenant,
                &key,
                &format!("/v1/payments/{pid}/cancel"),
                body,
                Some(deadline),
                crate::domain::CreateSteps::default(),
            )
            .await?
        {
            Ok(l) => l,
            Err(replay) => return Ok(replay),
        };
        let payment = match self.payments.get(&tenant.id, &pid).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err(self.release_key(tenant, &key, &lease, not_found()).await),
            Err(e) => return Err(self.release_key(tenant, &key, &lease, e.into()).await),
        };
        // Done already (by this key's crashed holder, another key, or the gateway's webhook).
        if payment.status == PaymentStatus::Canceled {
            return self.finish_cancel(tenant, &key, &lease, &payment).await;
        }
        if !cancelable(payment.status) {
            let e = not_cancelable(payment.status);
            return Err(self.release_key(tenant, &key, &lease, e).await);
        }
        let (Some(gateway_name), Some(gid)) =
            (payment.gateway.clone(), payment.gateway_payment_id.clone())
        else {
            let e = ApiError::InvalidState("the payment has no gateway charge to cancel".into());
            return Err(self.release_key(tenant, &key, &lease, e).await);
        };
        // Exactly the account that holds the charge, or 409 (nothing sent: the key is freed).
        let gateway = match self
            .resolve_for_payment(tenant, &payment, &gateway_name)
            .await
        {
            Ok(g) => g,
            Err(e) => return Err(self.release_key(tenant, &key, &lease, e).await),
        };
        let budget = CallBudget::new(deadline, self.clock.now(), self.config.gateway_reserve);
        let result = match self
            .call_gateway(
                tenant,
                &gateway,
                &budget,
                "cancel",
                gateway.cancel(&gid, payment.method),
            )
            .await
        {
            Ok(r) => r,
            // Nothing was sent: the key is freed.
            Err(e) => return Err(self.release_key(tenant, &key, &lease, e).await),
        };
        match result {
            Ok(()) => {}
            Err(e) if e.class == ErrorClass::Ambiguous => {
                // The cancel may have happened: the payment is left as it is, and the claim is
                // kept (it expires) like a refund's; a retry cancels again, which gateways
                // answer without effect (or refuse, and the charge is read back).
                tracing::warn!(payment_id = %payment.id, code = %e.code, "cancel outcome unknown");
                return Err(ApiError::Unavailable(format!(
                    "cancel outcome unknown ({}); retry with the same Idempotency-Key",
                    e.code
                )));
            }
            Err(e) if e.class == ErrorClass::Invalid => {
                return self
                    .cancel_refused(tenant, &key, &lease, payment, &gateway, &budget, e)
                    .await;
            }
            Err(e) => {
                return Err(self
                    .release_key(tenant, &key, &lease, gateway_error(e))
                    .await)
            }
        }
        let canceled = self.record_cancel(tenant, payment).await;
        match canceled {
            Ok(p) => self.finish_cancel(tenant, &key, &lease, &p).await,
            Err(e @ ApiError::InvalidState(_)) => {
                Err(self.release_key(tenant, &key, &lease, e).await)
            }
            // The gateway canceled; the claim stays until it expires and the retry records it.
            Err(e) => Err(e),
        }
    }

    /// One gateway call of a cancel, through the breaker (open → 502 without a call) and the
    /// request's time budget. The outer error means the call was not made.
    async fn call_gateway<T>(
        &self,
        tenant: &Tenant,
        gateway: &Arc<dyn Gateway>,
        budget: &CallBudget,
        op: &'static str,
        call: impl std::future::Future<Output = Result<T, GatewayError>>,
    ) -> Result<Result<T, GatewayError>, ApiError> {
        let permit = match self.breakers.admit(&tenant.id, gateway.name()).await {
            Admission::Call(p) => p,
            Admission::Rejected(_) => {
                return Err(ApiError::Gateway {
                    code: crate::error::breaker_open_code(crate::error::GatewayOp::Cancel),
                    message: format!(
                        "{}'s circuit breaker is open; nothing was canceled, retry later",
                        gateway.name()
                    ),
                })
            }
        };
        if budget.exhausted() {
            self.breakers.release(permit).await;
            return Err(ApiError::Unavailable(
                "too little time left to call the gateway".into(),
            ));
        }
        let result = budget.run(gateway.name(), op, call).await;
        self.breakers
            .record(permit, result.as_ref().err().map(|e| e.class))
            .await;
        Ok(result)
    }

    /// The gateway refused the cancel. Its charge says why: canceled there already (stored as
    /// canceled, 200), paid or otherwise settled meanwhile (stored with that status, 422), or
    /// still waiting on the payer (a refusal for another reason: 502, nothing stored).
    #[allow(clippy::too_many_arguments)]
    async fn cancel_refused(
        &self,
        tenant: &Tenant,
        key: &IdempotencyKey,
        lease: &Lease,
        payment: Payment,
        gateway: &Arc<dyn Gateway>,
        budget: &CallBudget,
        refusal: GatewayError,
    ) -> Result<Reply, ApiError> {
        let Some(gid) = payment.gateway_payment_id.clone() else {
            return Err(self
                .release_key(tenant, key, lease, gateway_error(refusal))
                .await);
        };
        let read = self
            .call_gateway(
                tenant,
                gateway,
                budget,
                "retrieve",
                gateway.retrieve(&gid, payment.method),
            )
            .await;
        let charge = match read {
            Ok(Ok(c)) => c,
            Ok(Err(_)) | Err(_) => {
                return Err(self
                    .release_key(tenant, key, lease, gateway_error(refusal))
                    .await)
            }
        };
        tracing::info!(payment_id = %payment.id, code = %refusal.code, at_gateway = %charge.status, "cancel refused by the gateway");
        if charge.status == PaymentStatus::Canceled {
            return match self.record_cancel(tenant, payment).await {
                Ok(p) => self.finish_cancel(tenant, key, lease, &p).await,
                Err(e @ ApiError::InvalidState(_)) => {
                    Err(self.release_key(tenant, key, lease, e).await)
                }
                Err(e) => Err(e),
            };
        }
        if cancelable(charge.status) {
            return Err(self
                .release_key(tenant, key, lease, gateway_error(refusal))
                .await);
        }
        // Paid (or otherwise settled) meanwhile: the payment learns it, with its events, in the
        // same kind of versioned write a refresh makes.
        if let Err(e) = self.apply_charge(tenant, payment, &charge).await {
            return Err(self.release_key(tenant, key, lease, e).await);
        }
        let e = ApiError::InvalidState(format!(
            "payment is {} at {}; it can no longer be canceled",
            charge.status,
            gateway.name()
        ));
        Err(self.release_key(tenant, key, lease, e).await)
    }

    /// Stores the payment as `canceled` with its `payment.canceled` event and usage delta in
    /// the same write (versioned; re-read on a conflict). One already canceled (the gateway's
    /// webhook was first) is returned as it is; one that moved where canceling is not allowed
    /// (paid meanwhile) is an `InvalidState`.
    async fn record_cancel(&self, tenant: &Tenant, payment: Payment) -> Result<Payment, ApiError> {
        let (p, ()) = self
            .write_payment(
                tenant,
                payment,
                "cancel not recorded after the gateway canceled",
                |payment| {
                    if payment.status == PaymentStatus::Canceled {
                        return Ok(Step::Keep(()));
                    }
                    if !payment.status.can_move_to(PaymentStatus::Canceled) {
                        return Err(not_cancelable(payment.status));
                    }
                    let mut next = payment.clone();
                    next.status = PaymentStatus::Canceled;
                    // Nothing is left for the payer to do.
                    next.next_action = None;
                    Ok(Step::Write(Box::new(next), ()))
                },
            )
            .await?;
        Ok(p)
    }

    async fn finish_cancel(
        &self,
        tenant: &Tenant,
        key: &IdempotencyKey,
        lease: &Lease,
        p: &Payment,
    ) -> Result<Reply, ApiError> {
        let body = super::payment_view::render_payment(p);
        Ok(self
            .complete_key(tenant, key, lease, StoredResponse { status: 200, body })
            .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_empty_body_or_an_empty_object() {
        assert!(parse(b"").is_ok());
        assert!(parse(b" \n").is_ok());
        assert!(parse(b"{}").is_ok());
        for (body, code) in [
            (&b"{\"reason\": \"x\"}"[..], "unknown_parameter"),
            (b"[]", "body_not_object"),
            (b"{oops", "body_not_json"),
        ] {
            match parse(body) {
                Err(ApiError::Invalid { code: c, .. }) => assert_eq!(c, code),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn only_payments_waiting_on_the_payer_are_cancelable() {
        for s in PaymentStatus::ALL {
            let waiting = matches!(s, PaymentStatus::Pending | PaymentStatus::RequiresAction);
            assert_eq!(cancelable(s), waiting, "{s}");
            // Every cancelable status may move to canceled in the transition table.
            assert!(!waiting || s.can_move_to(PaymentStatus::Canceled), "{s}");
        }
    }
}
