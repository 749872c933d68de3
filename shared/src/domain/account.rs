//! Which gateway account holds a payment's money (DESIGN §8): the mode the tenant was in when
//! the charge was made, and which credentials made it. Every follow-up (refresh, refund,
//! cancel, a create's takeover) goes to exactly that account or refuses; a live payment is
//! never resolved to a simulator.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A tenant's mode, and so the kind of account its charges are made at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountMode {
    /// The built-in simulators, or credentials the tenant registered for a gateway's sandbox.
    Test,
    /// Only the tenant's registered credentials: never a simulator, never a fallback chosen by
    /// missing credentials.
    Live,
}

/// Prefix of a test-mode API key.
pub const TEST_KEY_PREFIX: &str = "sk_test_";
/// Prefix of a live-mode API key.
pub const LIVE_KEY_PREFIX: &str = "sk_live_";

impl AccountMode {
    /// The mode an API key's prefix names: `sk_test_…` test, `sk_live_…` live; `None` for a
    /// key of neither form (a key listed in a tenants file before modes existed, which keeps
    /// the tenant's own mode).
    pub fn of_key(key: &str) -> Option<Self> {
        if key.starts_with(TEST_KEY_PREFIX) {
            Some(Self::Test)
        } else if key.starts_with(LIVE_KEY_PREFIX) {
            Some(Self::Live)
        } else {
            None
        }
    }

    /// The prefix of this mode's API keys.
    pub fn key_prefix(self) -> &'static str {
        match self {
            Self::Test => TEST_KEY_PREFIX,
            Self::Live => LIVE_KEY_PREFIX,
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "test" => Some(Self::Test),
            "live" => Some(Self::Live),
            _ => None,
        }
    }

    /// The wire name (`test`, `live`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Live => "live",
        }
    }
}

/// The account a charge was made at, pinned on the payment (and on the create's durable step
/// before the gateway is called).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayAccount {
    pub mode: AccountMode,
    /// `None`: the built-in simulator. Otherwise the fingerprint of the credential document the
    /// client was built from (`ports::account_fingerprint`: a salted hash prefix, never the
    /// credential): registering the same credentials again gives the same fingerprint, any other
    /// credentials (another account, a rotated key) a different one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// The credential record's version when the charge was made (for people; never compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_version: Option<u64>,
}

impl GatewayAccount {
    /// A simulator's "account" (test mode only).
    pub fn simulator() -> Self {
        Self {
            mode: AccountMode::Test,
            credentials: None,
            credential_version: None,
        }
    }

    /// Whether the built-in simulator made the charge.
    pub fn is_simulator(&self) -> bool {
        self.credentials.is_none()
    }
}

/// How a late payment became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LateSource {
    /// The gateway's webhook.
    Webhook,
    /// A refresh (`GET /v1/payments/{id}?refresh=true`) asked the gateway.
    Refresh,
}

/// Money the gateway confirmed after the payment reached a final non-success status (`failed`,
/// `canceled`, `expired`): the status stays (it is final), and this record says the money is
/// there and must be handled (refunded or accepted) by the merchant or an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatePayment {
    /// Minor units, in the payment's currency: the charge's amount (every gateway client
    /// refuses a charge whose amount differs from the one requested).
    pub amount: i64,
    /// The gateway's charge.
    pub gateway_payment_id: String,
    pub source: LateSource,
    /// The gateway event that reported it, if a webhook did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_event_id: Option<String>,
    #[serde(with = "crate::time_format")]
    pub received_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_prefix_names_its_mode() {
        assert_eq!(
            AccountMode::of_key("sk_test_0123abcd"),
            Some(AccountMode::Test)
        );
        assert_eq!(
            AccountMode::of_key("sk_live_0123abcd"),
            Some(AccountMode::Live)
        );
        for other in [
            "",
            "sk_",
            "sk_test",
            "sk_live",
            "SK_TEST_x",
            "sk_demo_tenant_a",
            "rk_live_x",
            " sk_test_x",
        ] {
            assert_eq!(AccountMode::of_key(other), None, "{other:?}");
        }
        for m in [AccountMode::Test, AccountMode::Live] {
            assert_eq!(
                AccountMode::of_key(&format!("{}abc", m.key_prefix())),
                Some(m)
            );
            assert_eq!(AccountMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(AccountMode::parse("sandbox"), None);
    }
}
