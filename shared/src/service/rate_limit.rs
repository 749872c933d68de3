//! Per-tenant rate limits on the `POST` routes: a fixed one-minute window per tenant, shared by
//! every instance because it is counted in the store — by the same atomic write that claims the
//! request's idempotency key (`ClaimRequest::rate`), so a successful request costs no extra
//! request and a refused one stores nothing and calls no gateway. The HTTP API's stage throttle
//! (`template.yaml`) is the global backstop in front of it.

use super::Orchestrator;
use crate::ports::{RateCharge, Tenant};
use chrono::{DateTime, Utc};

/// The window's length.
pub const WINDOW_SECS: u32 = 60;

impl Orchestrator {
    /// The tenant's limit per window (its own, else the deployment's); 0 = unlimited.
    pub fn rate_limit_of(&self, tenant: &Tenant) -> u32 {
        tenant
            .rate_limit_per_minute
            .unwrap_or(self.config.rate_limit_per_minute)
    }

    /// The charge a new request of `tenant` at `now` makes, or `None` when unlimited.
    pub(crate) fn rate_charge(&self, tenant: &Tenant, now: DateTime<Utc>) -> Option<RateCharge> {
        let limit = self.rate_limit_of(tenant);
        if limit == 0 {
            return None;
        }
        let secs = i64::from(WINDOW_SECS);
        let start = now.timestamp().div_euclid(secs) * secs;
        Some(RateCharge {
            window_start: DateTime::from_timestamp(start, 0)?,
            window_secs: WINDOW_SECS,
            limit,
        })
    }

    /// `RateLimit-Policy` for the tenant's answers, so clients can pace themselves.
    pub fn rate_limit_policy(&self, tenant: &Tenant) -> Option<String> {
        let limit = self.rate_limit_of(tenant);
        (limit > 0).then(|| crate::api::rate_limit_policy(limit, WINDOW_SECS))
    }
}
