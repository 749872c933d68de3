//! `GET /v1/payments?gateway_payment_id=…`: the console's search by the id a gateway gave a
//! charge (what a payer or a gateway's dashboard shows). The id does not say which gateway it
//! is from, so each registered gateway's index is asked once — one indexed read per gateway
//! (three today), never a scan — and the other filters of the listing apply to what is found.

use super::Orchestrator;
use crate::adapters::memory::payment_matches as matches;
use crate::domain::Payment;
use crate::error::ApiError;
use crate::ports::{PaymentFilter, Tenant};

/// Longest gateway id accepted (gateways' ids are far shorter).
pub const MAX_GATEWAY_ID_CHARS: usize = 128;

impl Orchestrator {
    /// The tenant's payments (this key's mode only) that some gateway knows as
    /// `gateway_payment_id`, newest first, passing `filter`.
    pub(crate) async fn payments_by_gateway_id(
        &self,
        tenant: &Tenant,
        gateway_payment_id: &str,
        filter: &PaymentFilter,
    ) -> Result<Vec<Payment>, ApiError> {
        let mut found: Vec<Payment> = Vec::new();
        for name in self.gateways.names() {
            if let Some(p) = self
                .payments
                .find_by_gateway_ref(&tenant.id, name, gateway_payment_id)
                .await?
            {
                if matches(&p, filter) && !found.iter().any(|f| f.id == p.id) {
                    found.push(p);
                }
            }
        }
        found.sort_by(|a, b| b.id.as_str().cmp(a.id.as_str()));
        Ok(found)
    }
}
