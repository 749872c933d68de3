//! Identifiers: payments (`pay_<ULID>`) and tenants.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A payment id, `pay_` followed by a ULID. ULIDs sort by creation time, which gives listing
/// its newest-first order for free, in memory and in DynamoDB alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PaymentId(String);

/// The string was not a `pay_<ULID>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a payment id (expected pay_ followed by 26 Crockford base32 characters)")]
pub struct BadPaymentId;

impl PaymentId {
    /// A fresh id for a new claim.
    pub fn generate() -> Self {
        Self(format!("pay_{}", ulid::Ulid::new()))
    }

    /// Parses an id that came from outside (a path segment, a cursor).
    pub fn parse(s: &str) -> Result<Self, BadPaymentId> {
        let rest = s.strip_prefix("pay_").ok_or(BadPaymentId)?;
        let u = ulid::Ulid::from_string(rest).map_err(|_| BadPaymentId)?;
        Ok(Self(format!("pay_{u}")))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ULID part as 26 uppercase alphanumerics, the raw material for gateway-side keys.
    pub fn ulid_part(&self) -> &str {
        &self.0[4..]
    }
}

impl TryFrom<String> for PaymentId {
    type Error = BadPaymentId;
    fn try_from(s: String) -> Result<Self, BadPaymentId> {
        PaymentId::parse(&s)
    }
}

impl From<PaymentId> for String {
    fn from(p: PaymentId) -> String {
        p.0
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant (merchant) id. Limited to `[A-Za-z0-9_-]{1,64}` so it can be part of store keys and
/// webhook URLs without escaping — or such an id followed by [`TEST_SUFFIX`]: the tenant's
/// **test-mode twin**, the partition under which every store keeps the tenant's test data
/// (payments, refunds, events, usage, idempotency keys, audit). The `.` is outside the
/// alphabet of a tenant's own id, so no tenant (made by the operator or the tenants file)
/// can ever collide with another's twin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

/// The string was not a valid tenant id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant id must be 1-64 characters of A-Z, a-z, 0-9, _ and -")]
pub struct BadTenantId;

/// What a tenant id ends with in its test-mode twin (`ten_a` → `ten_a.test`).
pub const TEST_SUFFIX: &str = ".test";

fn is_base_tenant_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl TenantId {
    /// Checks the character set and length; accepts a tenant's id or its test twin's.
    pub fn parse(s: &str) -> Result<Self, BadTenantId> {
        let base = s.strip_suffix(TEST_SUFFIX).unwrap_or(s);
        if !is_base_tenant_id(base) {
            return Err(BadTenantId);
        }
        Ok(Self(s.to_string()))
    }

    /// Parses the id of a tenant to be created (operator API, tenants file): a twin's id is
    /// reserved.
    pub fn parse_new(s: &str) -> Result<Self, BadTenantId> {
        if !is_base_tenant_id(s) {
            return Err(BadTenantId);
        }
        Ok(Self(s.to_string()))
    }

    /// Whether this is a test-mode twin's id.
    pub fn is_test(&self) -> bool {
        self.0.ends_with(TEST_SUFFIX)
    }

    /// The tenant's own id (the live partition, and the record holding its configuration).
    pub fn live_id(&self) -> TenantId {
        Self(
            self.0
                .strip_suffix(TEST_SUFFIX)
                .unwrap_or(&self.0)
                .to_string(),
        )
    }

    /// The id of the tenant's test-mode twin.
    pub fn test_id(&self) -> TenantId {
        if self.is_test() {
            self.clone()
        } else {
            Self(format!("{}{TEST_SUFFIX}", self.0))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = BadTenantId;
    fn try_from(s: String) -> Result<Self, BadTenantId> {
        TenantId::parse(&s)
    }
}

impl From<TenantId> for String {
    fn from(t: TenantId) -> String {
        t.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_ids_are_ulids_and_sort_by_time() {
        let a = PaymentId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = PaymentId::generate();
        assert!(a < b);
        assert_eq!(PaymentId::parse(a.as_str()), Ok(a.clone()));
        assert_eq!(a.ulid_part().len(), 26);
    }

    #[test]
    fn bad_payment_ids_are_rejected() {
        for s in [
            "",
            "pay_",
            "pay_123",
            "pi_01J00000000000000000000000",
            "pay_!!",
        ] {
            assert!(PaymentId::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn tenant_ids_are_restricted() {
        assert!(TenantId::parse("ten_demo-a").is_ok());
        assert!(TenantId::parse("").is_err());
        assert!(TenantId::parse("a#b").is_err());
        assert!(TenantId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn a_test_twin_id_is_derived_and_reserved() {
        let a = TenantId::parse("ten_a").unwrap();
        let t = a.test_id();
        assert_eq!(t.as_str(), "ten_a.test");
        assert!(t.is_test() && !a.is_test());
        assert_eq!(t.live_id(), a);
        assert_eq!(a.live_id(), a);
        assert_eq!(t.test_id(), t);
        assert_eq!(TenantId::parse("ten_a.test"), Ok(t.clone()), "webhook URLs");
        let long = "a".repeat(64);
        assert!(TenantId::parse(&format!("{long}.test")).is_ok());
        for bad in ["ten_a.test", ".test", "a.test.test", "a.b"] {
            assert!(TenantId::parse_new(bad).is_err(), "{bad}");
        }
        for bad in [".test", "a.test.test", "a.b", "a.TEST"] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
        assert!(TenantId::parse_new("ten_a").is_ok());
    }
}
