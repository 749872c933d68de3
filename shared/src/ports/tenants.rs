//! Tenants (merchants) and their API keys.

use super::StoreError;
use crate::domain::{CallbackUrl, PaymentMethod, TenantId};
use async_trait::async_trait;
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
    /// Secrets that authenticate this tenant's inbound gateway webhooks.
    #[serde(default)]
    pub webhook_secrets: WebhookSecrets,
}

/// Per-gateway webhook credentials of a tenant.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSecrets {
    /// Stripe endpoint secrets (`whsec_…`); several while Stripe rolls the secret.
    #[serde(default)]
    pub stripe: Vec<String>,
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

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("stripe", &self.stripe.len())
            .field("asaas_token", &self.asaas_token.is_some())
            .field("efi_hmac", &self.efi_hmac.is_some())
            .field("efi_allowed_ips", &self.efi_allowed_ips)
            .finish()
    }
}

/// A configured secret that cannot authenticate anything: empty or whitespace only. An empty
/// shared secret would accept an empty header (or a signature anyone can compute), so such a
/// tenant is refused when it is loaded. The error names the tenant and the field, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant {tenant}: {field} is empty or blank (a blank secret would authenticate anyone)")]
pub struct BlankSecretError {
    /// The tenant's id.
    pub tenant: String,
    /// Where the secret sits, e.g. `webhook_secrets.stripe[0]`.
    pub field: String,
}

/// True for a secret that is empty or only whitespace.
pub fn is_blank_secret(secret: &str) -> bool {
    secret.trim().is_empty()
}

impl Tenant {
    /// Refuses blank webhook and callback secrets (see [`BlankSecretError`]). A secret that is
    /// absent (`None`, or an empty list) is not an error: that gateway's webhooks are then
    /// refused as unconfigured.
    pub fn validate_secrets(&self) -> Result<(), BlankSecretError> {
        let blank = |field: String| BlankSecretError {
            tenant: self.id.as_str().to_string(),
            field,
        };
        let w = &self.webhook_secrets;
        if let Some(i) = w.stripe.iter().position(|s| is_blank_secret(s)) {
            return Err(blank(format!("webhook_secrets.stripe[{i}]")));
        }
        if w.asaas_token.as_deref().is_some_and(is_blank_secret) {
            return Err(blank("webhook_secrets.asaas_token".into()));
        }
        if w.efi_hmac.as_deref().is_some_and(is_blank_secret) {
            return Err(blank("webhook_secrets.efi_hmac".into()));
        }
        if let Some(i) = self
            .callback_secrets
            .iter()
            .position(|s| is_blank_secret(s))
        {
            return Err(blank(format!("callback_secrets[{i}]")));
        }
        Ok(())
    }
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

    /// The tenant with this id.
    async fn get(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;

    /// Creates or replaces a tenant and its key index (seeding, admin).
    async fn put(&self, tenant: &Tenant) -> Result<(), StoreError>;
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
            .field("callback_secrets", &self.callback_secrets.len())
            .field("webhook_secrets", &self.webhook_secrets)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(secrets: serde_json::Value, callback: serde_json::Value) -> Tenant {
        serde_json::from_value(serde_json::json!({
            "id": "ten_blank", "name": "T", "api_key_sha256": [],
            "callback_secrets": callback, "webhook_secrets": secrets
        }))
        .unwrap()
    }

    #[test]
    fn blank_secrets_are_refused_by_tenant_and_field() {
        let ok = tenant(
            serde_json::json!({"stripe": ["whsec_a"], "asaas_token": "tok", "efi_hmac": "h"}),
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
            assert!(e.to_string().contains("ten_blank") && e.to_string().contains(field));
        }
    }
}
