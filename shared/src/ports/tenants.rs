//! Tenants (merchants) and their API keys.

use super::StoreError;
use crate::domain::{AccountMode, CallbackUrl, PaymentMethod, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A merchant's configuration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// SHA-256 (hex) of each active API key. Keys are 128-bit random strings, so a plain hash is
    /// enough; no plaintext key is ever stored or logged.
    pub api_key_sha256: Vec<String>,
    /// Ordered gateways per method, primary first.
    #[serde(default)]
    pub routing: BTreeMap<PaymentMethod, Vec<String>>,
    /// Default callback URL for this tenant's events.
    #[serde(default)]
    pub callback_url: Option<CallbackUrl>,
    /// Callback signing secrets (`whsec_…`), current first; during rotation several are active
    /// and every callback carries one signature per secret.
    #[serde(default)]
    pub callback_secrets: Vec<String>,
    /// Gateways this tenant uses for real (credentials from the credential store); the others
    /// are the built-in simulators.
    #[serde(default)]
    pub live_gateways: Vec<String>,
    /// Test or live (see [`Tenant::mode`]). Set to `live` by the first credentials registered
    /// through the API, and kept when they are deleted: a live tenant whose credentials are
    /// gone has no gateway, never a simulator. `None` on tenants stored before modes existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<AccountMode>,
    /// Secrets that authenticate this tenant's inbound gateway webhooks.
    #[serde(default)]
    pub webhook_secrets: WebhookSecrets,
    /// What is known of each key created through the API (keys from the tenants file have
    /// none): id, prefix and last 4 for listing, expiry for overlapping rotations.
    #[serde(default)]
    pub api_keys: Vec<ApiKeyInfo>,
    /// A disabled tenant's keys answer 401 and its gateway webhooks 404 (operator API).
    #[serde(default)]
    pub disabled: bool,
    /// Requests per minute on the `POST` routes; `None`: the deployment's default.
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    /// When a callback secret stops being used, by the secret's fingerprint
    /// ([`secret_fingerprint`]): set for the old secret by a rotation, so both sign meanwhile.
    #[serde(default)]
    pub callback_secret_expiry: BTreeMap<String, DateTime<Utc>>,
    /// Incremented by every [`TenantStore::replace`]; a change read from an older version is
    /// refused, so concurrent changes (a revoke and a routing switch) never undo each other.
    #[serde(default)]
    pub version: u64,
}

/// An API key as listed: never the key, nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    /// `key_<ULID>`
    pub id: String,
    /// The key's hash (the index's key); not shown by the API.
    pub sha256: String,
    /// The key's first characters (`sk_live_`) and last four, to recognize it.
    pub prefix: String,
    pub last4: String,
    #[serde(with = "crate::time_format")]
    pub created_at: DateTime<Utc>,
    /// After this instant the key answers 401.
    #[serde(default, with = "crate::time_format::opt")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A short, stable, non-reversible name for a secret (its SHA-256's first 12 hex digits).
pub fn secret_fingerprint(secret: &str) -> String {
    hash_api_key(secret).chars().take(12).collect()
}

/// Per-gateway webhook credentials of a tenant.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSecrets {
    /// Stripe endpoint secrets (`whsec_…`), newest first; several while Stripe rolls the secret.
    #[serde(default)]
    pub stripe: Vec<String>,
    /// Until when the secrets after the first one are still accepted (Unix seconds). Set by a
    /// rotation through the credentials API (24 h by default, or as asked; a time in the past
    /// drops them at once), so a leaked previous secret stops working. `None`: every listed
    /// secret is accepted (a tenants file listing several, or secrets set before expiries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_previous_until: Option<i64>,
    /// The `asaas-access-token` the tenant configured on its Asaas webhook.
    #[serde(default)]
    pub asaas_token: Option<String>,
    /// The `hmac` query secret of the tenant's EFI webhook URL.
    #[serde(default)]
    pub efi_hmac: Option<String>,
    /// Source IPs EFI may call from; empty means any.
    #[serde(default)]
    pub efi_allowed_ips: Vec<std::net::IpAddr>,
}

impl WebhookSecrets {
    /// The Stripe endpoint secrets accepted at `now` (Unix seconds): the current one, and the
    /// previous ones while their expiry has not passed.
    pub fn stripe_at(&self, now: i64) -> &[String] {
        match self.stripe_previous_until {
            Some(until) if now >= until => &self.stripe[..self.stripe.len().min(1)],
            _ => &self.stripe,
        }
    }
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("stripe", &self.stripe.len())
            .field("stripe_previous_until", &self.stripe_previous_until)
            .field("asaas_token", &self.asaas_token.is_some())
            .field("efi_hmac", &self.efi_hmac.is_some())
            .field("efi_allowed_ips", &self.efi_allowed_ips)
            .finish()
    }
}

/// A configured secret that cannot authenticate anything, or too little: empty or whitespace
/// only (an empty shared secret would accept an empty header, or a signature anyone can
/// compute), or — for the static shared values of Asaas and EFI, which are all that
/// authenticates their webhooks — shorter than [`MIN_SHARED_SECRET_CHARS`] (what the
/// credentials API and Asaas itself require). Such a tenant is refused when it is loaded. The
/// error names the tenant and the field, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant {tenant}: {field} {problem}")]
pub struct WeakSecretError {
    /// The tenant's id.
    pub tenant: String,
    /// Where the secret sits, e.g. `webhook_secrets.stripe[0]`.
    pub field: String,
    /// What is wrong with it.
    pub problem: WeakSecret,
}

/// What makes a configured secret unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakSecret {
    #[error("is empty or blank (a blank secret would authenticate anyone)")]
    Blank,
    #[error("is shorter than {min} characters (a short static secret can be guessed)")]
    TooShort { min: usize },
}

/// The fewest characters of a static shared webhook secret (Asaas `asaas_token`, EFI
/// `efi_hmac`), wherever it comes from: the tenants file here, the credentials API
/// ([`crate::gateways::credential_form::MIN_WEBHOOK_SECRET_CHARS`]).
pub const MIN_SHARED_SECRET_CHARS: usize =
    crate::gateways::credential_form::MIN_WEBHOOK_SECRET_CHARS;

/// True for a secret that is empty or only whitespace.
pub fn is_blank_secret(secret: &str) -> bool {
    secret.trim().is_empty()
}

impl Tenant {
    /// The tenant's mode: as set, or, for a tenant stored before modes existed, `live` when it
    /// uses any gateway live (a real merchant) and `test` otherwise (demo and test tenants).
    /// In live mode only the gateways in `live_gateways` take payments, with their registered
    /// credentials; in test mode the others are the built-in simulators.
    pub fn mode(&self) -> AccountMode {
        self.mode.unwrap_or(if self.live_gateways.is_empty() {
            AccountMode::Test
        } else {
            AccountMode::Live
        })
    }

    /// The tenant as a request in `mode` sees it. Test: the **test twin** — id `<id>.test`
    /// (the partition holding the tenant's test data in every store), mode test, no
    /// credentials (simulators only); configuration (routing, callback URL and secrets, webhook
    /// secrets, keys) is the tenant's own. Live: the tenant itself in live mode (its registered
    /// credentials only, never a simulator).
    pub fn in_mode(&self, mode: AccountMode) -> Tenant {
        let mut t = self.clone();
        match mode {
            AccountMode::Test => {
                t.id = self.id.test_id();
                t.live_gateways.clear();
            }
            AccountMode::Live => t.id = self.id.live_id(),
        }
        t.mode = Some(mode);
        t
    }

    /// `true` when this tenant serves live-mode requests (what `livemode` says in answers).
    pub fn livemode(&self) -> bool {
        self.mode() == AccountMode::Live
    }

    /// Whether `gateway` uses the tenant's registered credentials (else: its simulator, in test
    /// mode; not configured, in live mode).
    pub fn uses_credentials(&self, gateway: &str) -> bool {
        self.live_gateways.iter().any(|g| g == gateway)
    }

    /// The callback secrets still in use at `now`: a rotated-out secret until its grace ends.
    pub fn active_callback_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        self.callback_secrets
            .iter()
            .filter(|s| {
                self.callback_secret_expiry
                    .get(&secret_fingerprint(s))
                    .is_none_or(|until| *until > now)
            })
            .map(String::as_str)
            .collect()
    }

    /// Whether `hash` is one of the tenant's keys and usable at `now` (not expired).
    pub fn key_is_valid(&self, hash: &str, now: DateTime<Utc>) -> bool {
        self.api_key_sha256.iter().any(|h| h == hash)
            && self
                .api_keys
                .iter()
                .find(|k| k.sha256 == hash)
                .is_none_or(|k| k.expires_at.is_none_or(|e| e > now))
    }

    /// The id of the key with this hash (`key_…`), or a stable name for a key from the tenants
    /// file; audit entries name the key that made a change.
    pub fn key_id(&self, hash: &str) -> String {
        self.api_keys
            .iter()
            .find(|k| k.sha256 == hash)
            .map(|k| k.id.clone())
            .unwrap_or_else(|| format!("key_file_{}", &hash[..hash.len().min(8)]))
    }

    /// Refuses blank webhook and callback secrets, and Asaas and EFI webhook secrets shorter
    /// than [`MIN_SHARED_SECRET_CHARS`] (see [`WeakSecretError`]). A secret that is absent
    /// (`None`, or an empty list) is not an error: that gateway's webhooks are then refused as
    /// unconfigured.
    pub fn validate_secrets(&self) -> Result<(), WeakSecretError> {
        let weak = |field: String, problem| WeakSecretError {
            tenant: self.id.as_str().to_string(),
            field,
            problem,
        };
        let w = &self.webhook_secrets;
        if let Some(i) = w.stripe.iter().position(|s| is_blank_secret(s)) {
            return Err(weak(
                format!("webhook_secrets.stripe[{i}]"),
                WeakSecret::Blank,
            ));
        }
        for (field, secret) in [
            ("webhook_secrets.asaas_token", &w.asaas_token),
            ("webhook_secrets.efi_hmac", &w.efi_hmac),
        ] {
            let Some(secret) = secret.as_deref() else {
                continue;
            };
            if is_blank_secret(secret) {
                return Err(weak(field.into(), WeakSecret::Blank));
            }
            if secret.chars().count() < MIN_SHARED_SECRET_CHARS {
                return Err(weak(
                    field.into(),
                    WeakSecret::TooShort {
                        min: MIN_SHARED_SECRET_CHARS,
                    },
                ));
            }
        }
        if let Some(i) = self
            .callback_secrets
            .iter()
            .position(|s| is_blank_secret(s))
        {
            return Err(weak(format!("callback_secrets[{i}]"), WeakSecret::Blank));
        }
        Ok(())
    }
}

/// A test twin is derived from its tenant, never written (see [`Tenant::in_mode`]): the
/// stores' write methods refuse one.
pub fn refuse_twin(tenant: &Tenant) -> Result<(), StoreError> {
    if tenant.id.is_test() {
        return Err(StoreError::Corrupt(format!(
            "{} is a test twin: write the tenant {} instead",
            tenant.id,
            tenant.id.live_id()
        )));
    }
    Ok(())
}

/// Hashes an API key the way tenants store them.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Looks tenants up by id and by API key hash.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// The tenant owning this API key hash.
    async fn by_api_key_hash(&self, hash: &str) -> Result<Option<Tenant>, StoreError>;

    /// The tenant with this id; for a test twin's id (`<id>.test`), the tenant `<id>` as
    /// [`Tenant::in_mode`] test (twins are derived, never stored).
    async fn get(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;

    /// Creates or replaces a tenant and its key index unconditionally (seeding from a file).
    async fn put(&self, tenant: &Tenant) -> Result<(), StoreError>;

    /// Creates a tenant and its key index only if no tenant has its id (a conditional write):
    /// `Ok(false)`, and nothing written, if one exists — so of two concurrent creations of one
    /// id exactly one wins.
    async fn create(&self, tenant: &Tenant) -> Result<bool, StoreError>;

    /// Stores a changed tenant if the stored one is still at `tenant.version` (the version it
    /// was read at), as `tenant.version + 1`; `StoreError::Conflict` otherwise (re-read and
    /// redo the change).
    async fn replace(&self, tenant: &Tenant) -> Result<(), StoreError>;

    /// [`Self::replace`] for a change that leaves the key list (`api_key_sha256`) as it was at
    /// `tenant.version` — a callback URL, routing, a name, secrets: the tenant record alone, in
    /// one conditional write, with no key index write (the keys did not move, and the version
    /// condition proves the stored list is the one the caller read). `Conflict` as `replace`.
    /// The default is `replace` itself, which is always correct, only dearer.
    async fn replace_keeping_keys(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.replace(tenant).await
    }

    /// Every tenant (the operator's listing; a scan, not for request paths).
    async fn list(&self) -> Result<Vec<Tenant>, StoreError>;

    /// Records that the key with this hash was used on `day` (kept per key; the newest day
    /// wins). Best effort: the caller sends it at most once per key, instance and day.
    async fn touch_key(&self, hash: &str, day: NaiveDate) -> Result<(), StoreError>;

    /// The last day the key with this hash was used, if recorded.
    async fn key_last_used(&self, hash: &str) -> Result<Option<NaiveDate>, StoreError>;
}

/// Secrets and key hashes stay out of debug output (and so out of logs and test failures).
impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("api_keys", &self.api_key_sha256.len())
            .field("routing", &self.routing)
            .field("callback_url", &self.callback_url)
            .field("live_gateways", &self.live_gateways)
            .field("mode", &self.mode)
            .field("callback_secrets", &self.callback_secrets.len())
            .field("webhook_secrets", &self.webhook_secrets)
            .field("disabled", &self.disabled)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_without_a_mode_is_live_when_it_uses_a_gateway_live() {
        let mut t: Tenant = serde_json::from_value(serde_json::json!({
            "id": "ten_a", "name": "A", "api_key_sha256": []
        }))
        .unwrap();
        assert_eq!(t.mode(), AccountMode::Test, "demo and test tenants");
        t.live_gateways = vec!["stripe".into()];
        assert_eq!(
            t.mode(),
            AccountMode::Live,
            "a real merchant stored before modes"
        );
        t.mode = Some(AccountMode::Test);
        assert_eq!(
            t.mode(),
            AccountMode::Test,
            "sandbox credentials in test mode"
        );
        t.live_gateways.clear();
        t.mode = Some(AccountMode::Live);
        assert_eq!(
            t.mode(),
            AccountMode::Live,
            "stays live without credentials"
        );
        assert!(!serde_json::to_string(&Tenant {
            mode: None,
            ..t.clone()
        })
        .unwrap()
        .contains("\"mode\""));
    }

    fn tenant(secrets: serde_json::Value, callback: serde_json::Value) -> Tenant {
        serde_json::from_value(serde_json::json!({
            "id": "ten_blank", "name": "T", "api_key_sha256": [],
            "callback_secrets": callback, "webhook_secrets": secrets
        }))
        .unwrap()
    }

    #[test]
    fn the_test_twin_is_a_separate_partition_with_simulators_only() {
        let mut t: Tenant = serde_json::from_value(serde_json::json!({
            "id": "ten_a", "name": "A", "api_key_sha256": ["h"],
            "live_gateways": ["stripe"], "mode": "live"
        }))
        .unwrap();
        let twin = t.in_mode(AccountMode::Test);
        assert_eq!(twin.id.as_str(), "ten_a.test");
        assert_eq!(twin.mode(), AccountMode::Test);
        assert!(!twin.livemode() && twin.live_gateways.is_empty());
        assert_eq!(
            twin.api_key_sha256, t.api_key_sha256,
            "configuration is shared"
        );
        let back = twin.in_mode(AccountMode::Live);
        assert_eq!(back.id, t.id);
        assert!(back.livemode());
        t.mode = None;
        t.live_gateways.clear();
        assert_eq!(t.in_mode(AccountMode::Live).mode(), AccountMode::Live);
        assert_eq!(
            t.in_mode(AccountMode::Test)
                .in_mode(AccountMode::Test)
                .id
                .as_str(),
            "ten_a.test"
        );
    }

    #[test]
    fn blank_secrets_are_refused_by_tenant_and_field() {
        let ok = tenant(
            serde_json::json!({"stripe": ["whsec_a"],
                "asaas_token": "asaas-token-of-exactly-32-chars-", "efi_hmac": "efi-hmac-of-exactly-thirty-two-c"}),
            serde_json::json!(["whsec_c"]),
        );
        assert_eq!(ok.validate_secrets(), Ok(()));
        let unset = tenant(serde_json::json!({}), serde_json::json!([]));
        assert_eq!(unset.validate_secrets(), Ok(()), "absent is not blank");
        for (secrets, callback, field) in [
            (
                serde_json::json!({"stripe": ["whsec_a", ""]}),
                serde_json::json!([]),
                "webhook_secrets.stripe[1]",
            ),
            (
                serde_json::json!({"asaas_token": ""}),
                serde_json::json!([]),
                "webhook_secrets.asaas_token",
            ),
            (
                serde_json::json!({"efi_hmac": " \t\n"}),
                serde_json::json!([]),
                "webhook_secrets.efi_hmac",
            ),
            (
                serde_json::json!({}),
                serde_json::json!(["  "]),
                "callback_secrets[0]",
            ),
        ] {
            let e = tenant(secrets, callback).validate_secrets().unwrap_err();
            assert_eq!((e.tenant.as_str(), e.field.as_str()), ("ten_blank", field));
            assert_eq!(e.problem, WeakSecret::Blank);
            assert!(e.to_string().contains("ten_blank") && e.to_string().contains(field));
        }
    }

    #[test]
    fn short_asaas_and_efi_secrets_are_refused_by_tenant_and_field() {
        for (secrets, field) in [
            (
                serde_json::json!({"asaas_token": "x"}),
                "webhook_secrets.asaas_token",
            ),
            (
                serde_json::json!({"asaas_token": "a".repeat(MIN_SHARED_SECRET_CHARS - 1)}),
                "webhook_secrets.asaas_token",
            ),
            (
                serde_json::json!({"efi_hmac": "h".repeat(MIN_SHARED_SECRET_CHARS - 1)}),
                "webhook_secrets.efi_hmac",
            ),
        ] {
            let e = tenant(secrets, serde_json::json!([]))
                .validate_secrets()
                .unwrap_err();
            assert_eq!((e.tenant.as_str(), e.field.as_str()), ("ten_blank", field));
            assert_eq!(e.problem, WeakSecret::TooShort { min: 32 });
            assert!(e.to_string().contains("shorter than 32"), "{e}");
        }
    }

    #[test]
    fn rotated_secrets_lapse_and_keys_expire() {
        let now = chrono::Utc::now();
        let mut t = tenant(
            serde_json::json!({}),
            serde_json::json!(["whsec_new", "whsec_old"]),
        );
        assert_eq!(
            t.active_callback_secrets(now),
            vec!["whsec_new", "whsec_old"]
        );
        t.callback_secret_expiry.insert(
            secret_fingerprint("whsec_old"),
            now + chrono::Duration::hours(1),
        );
        assert_eq!(t.active_callback_secrets(now).len(), 2, "during the grace");
        assert_eq!(
            t.active_callback_secrets(now + chrono::Duration::hours(2)),
            vec!["whsec_new"]
        );

        let h = hash_api_key("sk_live_x");
        t.api_key_sha256 = vec![h.clone()];
        assert!(t.key_is_valid(&h, now), "a key from the file has no expiry");
        assert!(t.key_id(&h).starts_with("key_file_"));
        t.api_keys.push(ApiKeyInfo {
            id: "key_1".into(),
            sha256: h.clone(),
            prefix: "sk_live_".into(),
            last4: "xxxx".into(),
            created_at: now,
            expires_at: Some(now + chrono::Duration::days(1)),
        });
        assert!(t.key_is_valid(&h, now));
        assert!(
            !t.key_is_valid(&h, now + chrono::Duration::days(2)),
            "expired"
        );
        assert!(!t.key_is_valid(&hash_api_key("other"), now), "not listed");
        assert_eq!(t.key_id(&h), "key_1");
    }
}
