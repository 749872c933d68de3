//! The one way a use case changes a stored payment: decide the change from the payment as last
//! read, write it with its effects (merchant events, usage) conditional on the version read,
//! and on a lost race re-read and decide again — so a concurrent webhook, refund or cancel is
//! never overwritten and never undone.

use super::Orchestrator;
use crate::domain::Payment;
use crate::error::ApiError;
use crate::ports::{StoreError, Tenant};

/// What a change decides from the payment as read.
pub(crate) enum Step<T> {
    /// Nothing to write: answer with the payment as it is.
    Keep(T),
    /// Store this payment (its `updated_at` and `version` are set by the write).
    Write(Box<Payment>, T),
}

impl Orchestrator {
    /// Applies `decide` to `payment` and stores what it returns (see the module). `what` names
    /// the change in the error log when the store fails for another reason than a lost race.
    pub(crate) async fn write_payment<T>(
        &self,
        tenant: &Tenant,
        mut payment: Payment,
        what: &'static str,
        mut decide: impl FnMut(&Payment) -> Result<Step<T>, ApiError>,
    ) -> Result<(Payment, T), ApiError> {
        for _ in 0..5 {
            let (mut next, out) = match decide(&payment)? {
                Step::Keep(out) => return Ok((payment, out)),
                Step::Write(next, out) => (*next, out),
            };
            let now = self.clock.now();
            next.updated_at = now;
            next.version = payment.version + 1;
            let effects = super::outbox::effects_for(Some(&payment), &next, now);
            match self.payments.update(&next, &effects).await {
                Ok(()) => return Ok((next, out)),
                Err(StoreError::Conflict(_)) => {
                    payment = self
                        .payments
                        .get(&tenant.id, &payment.id)
                        .await?
                        .ok_or_else(|| ApiError::Internal("payment vanished".into()))?;
                }
                Err(e) => {
                    tracing::error!(payment_id = %payment.id, error = %e, "{what}");
                    return Err(e.into());
                }
            }
        }
        Err(ApiError::Unavailable(
            "payment kept changing; retry with the same Idempotency-Key".into(),
        ))
    }
}
