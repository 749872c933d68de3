//! `GET /v1/payments/{id}?refresh=true`: re-sync a non-final payment from its gateway. A
//! payment whose create was ambiguous has no gateway id yet; re-issuing the create with the same
//! deterministic key returns the charge it made (or makes the one it didn't), never a second one.

use super::create_payment::gateway_key;
use super::Orchestrator;
use crate::domain::{Payment, PaymentStatus};
use crate::error::ApiError;
use crate::ports::{ChargeRequest, GatewayCharge, StoreError, Tenant};

impl Orchestrator {
    /// Asks the gateway and applies what it says (only moves the state machine allows).
    pub(crate) async fn reconcile(
        &self,
        tenant: &Tenant,
        mut payment: Payment,
    ) -> Result<Payment, ApiError> {
        if payment.status.is_final() || payment.status == PaymentStatus::Succeeded {
            return Ok(payment);
        }
        let Some(name) = payment.gateway.clone() else {
            return Ok(payment);
        };
        let gateway = self
            .resolve_gateway(tenant, &name)
            .await
            .map_err(|e| ApiError::Gateway {
                code: e.code,
                message: e.message,
            })?;
        let charge: GatewayCharge = match &payment.gateway_payment_id {
            Some(gid) => gateway.retrieve(gid, payment.method).await,
            None => {
                let req = ChargeRequest {
                    payment_id: payment.id.clone(),
                    gateway_key: gateway_key(&payment.id),
                    amount: payment.amount,
                    method: payment.method,
                    customer: payment.customer.clone(),
                    description: payment.description.clone(),
                    card_token: payment.card_token.clone(),
                };
                gateway.create(&req).await
            }
        }
        .map_err(|e| ApiError::Gateway {
            code: format!("gateway_{}", e.code),
            message: format!("could not refresh from {name}: {}", e.message),
        })?;
        for _ in 0..5 {
            let mut next = payment.clone();
            let moved =
                charge.status != payment.status && payment.status.can_move_to(charge.status);
            let learned = payment.gateway_payment_id.is_none();
            if !moved && !learned {
                return Ok(payment);
            }
            if moved {
                next.status = charge.status;
            }
            next.gateway_payment_id = Some(charge.gateway_payment_id.clone());
            next.pix = next.pix.or(charge.pix.clone());
            next.boleto = next.boleto.or(charge.boleto.clone());
            next.next_action = charge.next_action.clone().or(next.next_action);
            next.updated_at = self.clock.now();
            next.version += 1;
            match self.payments.update(&next).await {
                Ok(()) => return Ok(next),
                Err(StoreError::Conflict(_)) => {
                    payment = self
                        .payments
                        .get(&tenant.id, &payment.id)
                        .await?
                        .ok_or_else(|| ApiError::Internal("payment vanished".into()))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::Unavailable("payment kept changing; retry".into()))
    }
}
