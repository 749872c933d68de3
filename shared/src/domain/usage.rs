//! Billing usage: what each payment contributes to its tenant's monthly counters, and the delta
//! a change of a payment adds. The counters are written in the same atomic write as the change
//! (never a separate best-effort increment, never read back from metrics), so each transition
//! counts exactly once; `contribution` being a pure function of the stored payment is what lets
//! a recount from the payments prove the counters right.
//!
//! Basis: a payment counts in the UTC day (and so month) it was **created**; its status, volume
//! and refund counters follow it there as it changes. A callback counts on the day of its
//! event; an unmatched webhook on the day it was received.

use super::{Payment, PaymentId, PaymentStatus, RefundStatus, TenantId};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

/// How many counter items a tenant's day is spread over, so concurrent payments of one tenant
/// rarely touch the same item in their transactions (a payment always uses the same one).
pub const USAGE_SHARDS: u32 = 32;

/// Named counters. Names are flat (`status.succeeded`, `volume.created.BRL`) so a DynamoDB
/// `ADD` creates each on first use; zero counters are never kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(BTreeMap<String, i64>);

impl Counters {
    /// Adds `n` to `name` (dropping it when it reaches zero).
    pub fn add(&mut self, name: impl Into<String>, n: i64) {
        if n == 0 {
            return;
        }
        let name = name.into();
        let v = self.0.entry(name.clone()).or_insert(0);
        *v = v.saturating_add(n);
        if *v == 0 {
            self.0.remove(&name);
        }
    }

    /// The value of `name` (0 when absent).
    pub fn get(&self, name: &str) -> i64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Adds every counter of `other`.
    pub fn merge(&mut self, other: &Counters) {
        for (k, v) in &other.0 {
            self.add(k.clone(), *v);
        }
    }

    /// `self - other`, keeping only what differs.
    pub fn minus(&self, other: &Counters) -> Counters {
        let mut out = self.clone();
        for (k, v) in &other.0 {
            out.add(k.clone(), -v);
        }
        out
    }

    /// True when nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The counters, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

impl FromIterator<(String, i64)> for Counters {
    fn from_iter<I: IntoIterator<Item = (String, i64)>>(iter: I) -> Self {
        let mut c = Counters::default();
        for (k, v) in iter {
            c.add(k, v);
        }
        c
    }
}

/// Counter names, in one place so writers, the API and the recount agree.
pub mod names {
    /// Payments created.
    pub const PAYMENTS: &str = "payments";
    /// Payments whose charge landed on another gateway than the first one tried.
    /// Creates refused because no gateway could take them (the 502 `gateway_*` answers): no
    /// payment is stored, so this counter — written in the same request that releases the
    /// refused request's idempotency claim — is the only trace in usage.
    pub const REFUSED: &str = "payments.refused";
    pub const FAILOVERS: &str = "failovers";
    /// Refunds that succeeded.
    pub const REFUNDS: &str = "refunds.succeeded";
    /// Gateway webhooks that changed a payment.
    pub const WEBHOOKS_APPLIED: &str = "webhooks.applied";
    /// Gateway webhooks for no known charge, recorded after the grace period.
    pub const WEBHOOKS_UNMATCHED: &str = "webhooks.unmatched";
    /// Merchant events delivered (the first 2xx).
    pub const CALLBACKS_DELIVERED: &str = "callbacks.delivered";
    /// Merchant events whose retries ran out (each time one does).
    pub const CALLBACKS_FAILED: &str = "callbacks.failed";
    /// Payments holding money a gateway confirmed after a final non-success status.
    pub const LATE_PAYMENTS: &str = "late_payments";
    /// `status.<status>`: payments by current status.
    pub const STATUS: &str = "status.";
    /// `method.<gateway>.<method>`: payments by gateway and method.
    pub const METHOD: &str = "method.";
    /// `volume.<created|succeeded|refunded|late>.<CUR>`: amounts in minor units.
    pub const VOLUME: &str = "volume.";
}

/// Whether a payment was paid (it may have been refunded since).
fn was_paid(s: PaymentStatus) -> bool {
    matches!(
        s,
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
    )
}

/// What one payment, as stored, contributes to its tenant's usage.
pub fn contribution(p: &Payment) -> Counters {
    let mut c = Counters::default();
    let cur = p.amount.currency().code();
    let amount = p.amount.minor();
    c.add(names::PAYMENTS, 1);
    c.add(format!("{}{}", names::STATUS, p.status.as_str()), 1);
    c.add(
        format!(
            "{}{}.{}",
            names::METHOD,
            p.gateway.as_deref().unwrap_or("none"),
            p.method.as_str()
        ),
        1,
    );
    c.add(format!("{}created.{cur}", names::VOLUME), amount);
    if was_paid(p.status) {
        c.add(format!("{}succeeded.{cur}", names::VOLUME), amount);
    }
    c.add(
        format!("{}refunded.{cur}", names::VOLUME),
        p.refunded_amount,
    );
    // Money that arrived after a final failure is counted on its own, never as `succeeded`:
    // the payment did not succeed, yet the money is there to bill and to settle.
    if let Some(late) = &p.late_payment {
        c.add(names::LATE_PAYMENTS, 1);
        c.add(format!("{}late.{cur}", names::VOLUME), late.amount);
    }
    let refunds = p
        .refunds
        .iter()
        .filter(|r| r.status == RefundStatus::Succeeded)
        .count();
    c.add(names::REFUNDS, i64::try_from(refunds).unwrap_or(i64::MAX));
    if failed_over(p) {
        c.add(names::FAILOVERS, 1);
    }
    c.add(names::WEBHOOKS_APPLIED, i64::from(p.webhooks_applied));
    c
}

/// Whether the payment's gateway is not the first one tried.
fn failed_over(p: &Payment) -> bool {
    match (p.attempts.first(), &p.gateway) {
        (Some(first), Some(g)) => &first.gateway != g,
        _ => false,
    }
}

/// Which counter item a change lands on: the tenant, a UTC day and a shard.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsageBucket {
    pub tenant_id: TenantId,
    pub day: NaiveDate,
    pub shard: u32,
}

impl UsageBucket {
    /// A payment's bucket: its creation day, and a shard fixed by its id.
    pub fn of_payment(p: &Payment) -> Self {
        Self::new(&p.tenant_id, p.created_at, p.id.as_str())
    }

    /// The bucket for something of `tenant_id` that happened at `at`, spread by `key`.
    pub fn new(tenant_id: &TenantId, at: DateTime<Utc>, key: &str) -> Self {
        let spread = key
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        Self {
            tenant_id: tenant_id.clone(),
            day: at.date_naive(),
            shard: spread % USAGE_SHARDS,
        }
    }
}

/// Counters to add to one bucket, in the same write as the change they count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    pub bucket: UsageBucket,
    pub counters: Counters,
}

impl UsageDelta {
    /// What moving a payment from `before` (`None`: just created) to `after` adds; `None`
    /// when nothing counted changes.
    pub fn for_change(before: Option<&Payment>, after: &Payment) -> Option<Self> {
        let was = before.map(contribution).unwrap_or_default();
        let counters = contribution(after).minus(&was);
        (!counters.is_empty()).then(|| Self {
            bucket: UsageBucket::of_payment(after),
            counters,
        })
    }

    /// One count of `name` for something of `tenant_id` that happened at `at`.
    pub fn one(tenant_id: &TenantId, at: DateTime<Utc>, key: &str, name: &str) -> Self {
        let mut counters = Counters::default();
        counters.add(name, 1);
        Self {
            bucket: UsageBucket::new(tenant_id, at, key),
            counters,
        }
    }
}

/// When a payment id was minted (its ULID's time), for ids whose record is gone.
pub fn minted_at(id: &PaymentId) -> Option<DateTime<Utc>> {
    ulid_time(id.as_str().trim_start_matches("pay_"))
}

/// The time inside a ULID string.
pub fn ulid_time(ulid: &str) -> Option<DateTime<Utc>> {
    let u = ulid::Ulid::from_string(ulid).ok()?;
    DateTime::from_timestamp_millis(i64::try_from(u.timestamp_ms()).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_drop_zeroes_and_subtract() {
        let mut a = Counters::default();
        a.add("x", 2);
        a.add("y", 1);
        let mut b = Counters::default();
        b.add("x", 2);
        b.add("z", 5);
        let d = a.minus(&b);
        assert_eq!(d.get("x"), 0);
        assert_eq!(d.get("y"), 1);
        assert_eq!(d.get("z"), -5);
        assert_eq!(d.iter().count(), 2);
        let mut back = b.clone();
        back.merge(&d);
        assert_eq!(back, a);
    }

    #[test]
    fn buckets_are_stable_and_within_the_shards() {
        let t = TenantId::parse("t_1").expect("tenant");
        let at = Utc::now();
        let a = UsageBucket::new(&t, at, "pay_01J0000000000000000000000A");
        let b = UsageBucket::new(&t, at, "pay_01J0000000000000000000000A");
        assert_eq!(a, b);
        assert!(a.shard < USAGE_SHARDS);
        let spread: std::collections::BTreeSet<u32> = (0..64)
            .map(|i| UsageBucket::new(&t, at, &format!("pay_{i}")).shard)
            .collect();
        assert!(spread.len() > 1, "keys spread over shards");
    }
}
