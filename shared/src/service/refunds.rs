//! `POST /v1/payments/{id}/refunds`: idempotent full or partial refunds through the gateway
//! that took the payment. The refund id is fixed when the key is claimed and the gateway-side
//! refund key derives from it, so a retry (even after a crash) never refunds twice.

use super::breaker::Admission;
use super::budget::CallBudget;
use super::idempotent::parse_key;
use super::payment_write::Step;
use super::Orchestrator;
use super::Reply;
use crate::domain::RefundStatus;
use crate::domain::{IdempotencyKey, Money, Payment, PaymentId, PaymentStatus, Refund};
use crate::error::ApiError;
use crate::ports::{ErrorClass, Lease, RefundRequest, StoredResponse, Tenant};
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRefund {
    #[serde(default, deserialize_with = "super::json_body::int::opt_i64")]
    amount: Option<i64>,
    #[serde(default)]
    reason: Option<String>,
}

/// An empty body refunds all that is left.
fn parse(body: &[u8]) -> Result<RawRefund, ApiError> {
    let raw: RawRefund = super::json_body::parse_or_default(
        body,
        &[(
            "amount",
            "an integer number of cents (minor units), e.g. 500 for 5.00",
        )],
    )?;
    if raw.amount.is_some_and(|a| a <= 0) {
        return Err(ApiError::invalid(
            "invalid_amount",
            "amount",
            "amount must be a positive integer number of minor units",
        ));
    }
    if raw
        .reason
        .as_ref()
        .is_some_and(|r| r.is_empty() || r.chars().count() > 200 || r.chars().any(char::is_control))
    {
        return Err(ApiError::invalid(
            "parameter_invalid_string",
            "reason",
            "reason must be 1-200 printable characters",
        ));
    }
    Ok(raw)
}

/// The gateway-side refund key for a refund id: 29 alphanumerics (a valid EFI devolução id).
fn refund_key(ulid: &str) -> String {
    format!("REF{ulid}")
}

impl Orchestrator {
    /// Refunds `amount` (default: all that is left) of the tenant's payment `payment_id`.
    pub async fn create_refund(
        &self,
        tenant: &Tenant,
        payment_id: &str,
        idempotency_key: Option<&str>,
        body: &[u8],
        deadline: Option<DateTime<Utc>>,
    ) -> Result<Reply, ApiError> {
        let key = parse_key(idempotency_key)?;
        let raw = parse(body)?;
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
                &format!("/v1/payments/{pid}/refunds"),
                body,
                Some(deadline),
                crate::domain::CreateSteps::default(),
            )
            .await?
        {
            Ok(l) => l,
            Err(replay) => return Ok(replay),
        };
        let refund_id = format!("ref_{}", lease.payment_id.ulid_part());
        crate::failpoint!("refund.after_claim");

        // A takeover whose predecessor already recorded the refund only has to answer.
        let payment = match self.payments.get(&tenant.id, &pid).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err(self.release_key(tenant, &key, &lease, not_found()).await),
            Err(e) => return Err(self.release_key(tenant, &key, &lease, e.into()).await),
        };
        if let Some(done) = payment.refunds.iter().find(|r| r.id == refund_id).cloned() {
            return self
                .finish_refund(tenant, &key, &lease, &payment, &done)
                .await;
        }
        // Pending refunds hold their amount until they settle.
        let refundable = payment.refundable();
        // A takeover of a refund with an explicit amount may find its own refund already
        // recorded by the gateway's webhook without our id (`ref_ext_…`, not yet taken over):
        // the crashed holder refunded, and the webhook came first. That record is this refund,
        // so the checks below must not refuse it for not "fitting" (its amount is already
        // counted): the same refund key makes the gateway answer with that refund, and
        // `record_refund` takes the webhook's record over instead of adding a second one.
        // Anything else is checked like a first attempt — status and what is left — since a
        // refund that completed meanwhile (another key) may have used up the payment.
        let resume = lease.takeover
            && raw.amount.is_some_and(|a| {
                payment.refunds.iter().any(|r| {
                    r.id.starts_with("ref_ext_")
                        && r.replaces.is_none()
                        && r.amount == a
                        && r.status != RefundStatus::Failed
                })
            });
        if !resume
            && (!matches!(
                payment.status,
                PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded
            ) || refundable <= 0)
        {
            let e = ApiError::InvalidState(format!(
                "payment is {}; only succeeded or partially refunded payments can be refunded",
                payment.status
            ));
            return Err(self.release_key(tenant, &key, &lease, e).await);
        }
        let amount = raw.amount.unwrap_or(refundable);
        if amount > refundable && !resume {
            // The body is fine; the refunds made so far refuse it (422, as every refusal that
            // depends on state rather than on the input).
            let e = ApiError::Unprocessable {
                code: "amount_exceeds_refundable",
                param: "amount",
                message: format!("amount must be at most {refundable}, what is left to refund"),
            };
            return Err(self.release_key(tenant, &key, &lease, e).await);
        }
        let (Some(gateway_name), Some(gid)) =
            (payment.gateway.clone(), payment.gateway_payment_id.clone())
        else {
            let e = ApiError::InvalidState("the payment has no gateway charge to refund".into());
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
        let money = Money::new(amount, payment.amount.currency())
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let req = RefundRequest {
            gateway_payment_id: gid,
            method: payment.method,
            refund_key: refund_key(lease.payment_id.ulid_part()),
            amount: money,
        };
        let budget = CallBudget::new(deadline, self.clock.now(), self.config.gateway_reserve);
        // An open breaker refuses at once; nothing was sent, so the key is freed.
        let permit = match self.breakers.admit(&tenant.id, &gateway_name).await {
            Admission::Call(p) => p,
            Admission::Rejected(_) => {
                let err = ApiError::Gateway {
                    code: crate::error::breaker_open_code(crate::error::GatewayOp::Refund),
                    message: format!(
                        "{gateway_name}'s circuit breaker is open; nothing was refunded, retry later"
                    ),
                };
                return Err(self.release_key(tenant, &key, &lease, err).await);
            }
        };
        if budget.exhausted() {
            self.breakers.release(permit).await;
            let err = ApiError::Unavailable("too little time left to call the gateway".into());
            return Err(self.release_key(tenant, &key, &lease, err).await);
        }
        crate::failpoint!("refund.before_gateway_call");
        let result = budget
            .run(gateway.name(), "refund", gateway.refund(&req))
            .await;
        crate::failpoint!("refund.after_gateway_call");
        self.breakers
            .record(permit, result.as_ref().err().map(|e| e.class))
            .await;
        let done = match result {
            Ok(r) => Refund {
                id: refund_id,
                amount,
                status: r.status,
                gateway_refund_id: Some(r.gateway_refund_id),
                reason: raw.reason,
                created_at: self.clock.now(),
                replaces: None,
            },
            Err(e) if e.class == ErrorClass::Ambiguous => {
                // The refund may exist: keep the claim; the retry reuses this refund id and key.
                tracing::warn!(payment_id = %payment.id, code = %e.code, "refund outcome unknown");
                return Err(ApiError::Unavailable(format!(
                    "refund outcome unknown ({}); retry with the same Idempotency-Key",
                    e.code
                )));
            }
            Err(e) => {
                let err = ApiError::Gateway {
                    code: crate::error::gateway_failure_code(
                        crate::error::GatewayOp::Refund,
                        e.class,
                    ),
                    message: format!("{} ({})", e.message, e.code),
                };
                return Err(self.release_key(tenant, &key, &lease, err).await);
            }
        };
        let (updated, done) = self.record_refund(tenant, payment, &done).await?;
        crate::failpoint!("refund.after_record");
        self.finish_refund(tenant, &key, &lease, &updated, &done)
            .await
    }

    /// Adds the refund to the payment and derives the refunded amount and status from the
    /// refund records, writing the `refund.*`/`payment.*` events in the same write (versioned,
    /// re-read on conflict). A refund already recorded — by a retry, or by the gateway's webhook
    /// racing this request — is never added twice.
    async fn record_refund(
        &self,
        tenant: &Tenant,
        payment: Payment,
        refund: &Refund,
    ) -> Result<(Payment, Refund), ApiError> {
        // The gateway refunded: a store failure keeps the claim until it expires, and the retry
        // records it (same refund key, so the gateway answers with this refund).
        self.write_payment(
            tenant,
            payment,
            "refund not recorded after the gateway refunded",
            |payment| {
                let known = payment.refunds.iter().find(|r| {
                    r.id == refund.id
                        || (refund.gateway_refund_id.is_some()
                            && r.gateway_refund_id == refund.gateway_refund_id)
                });
                if let Some(r) = known.cloned() {
                    return Ok(Step::Keep(r));
                }
                let mut next = payment.clone();
                let mut ours = refund.clone();
                let counts = ours.status != RefundStatus::Failed;
                if counts && ours.amount > payment.refundable() {
                    // The gateway refunded, yet the records leave no room: the gateway's webhook
                    // recorded this refund first without our id (`ref_ext_…`, e.g. Asaas "refunded
                    // in full"). Take that record over — the same refund, counted once.
                    let Some(i) = next.refunds.iter().position(|r| {
                        r.id.starts_with("ref_ext_") && r.amount == ours.amount && r.replaces.is_none()
                    }) else {
                        tracing::error!(payment_id = %payment.id, refund_id = %ours.id, "the gateway refunded more than the records leave; not recorded, needs an operator");
                        return Err(ApiError::Unavailable(
                            "the refund could not be reconciled with the payment's refunds; retry later".into(),
                        ));
                    };
                    let ext = next.refunds.remove(i);
                    ours.replaces = Some(ext.id);
                    if ext.status == RefundStatus::Succeeded {
                        ours.status = RefundStatus::Succeeded;
                    }
                }
                next.refunds.push(ours.clone());
                next.settle_refunds();
                Ok(Step::Write(Box::new(next), ours))
            },
        )
        .await
    }

    async fn finish_refund(
        &self,
        tenant: &Tenant,
        key: &IdempotencyKey,
        lease: &Lease,
        p: &Payment,
        r: &Refund,
    ) -> Result<Reply, ApiError> {
        let body = serde_json::to_string(&crate::service::payment_view::refund_view(p, r))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(self
            .complete_key(tenant, key, lease, StoredResponse { status: 201, body })
            .await)
    }
}
