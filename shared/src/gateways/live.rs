//! Real gateway clients per (tenant, gateway), built from the tenant's credentials on first use
//! and cached per instance (one HTTP client and token cache each). A cached client is trusted
//! for [`CLIENT_TTL`]; after that, its credentials' tag (the encrypted record's version, or a
//! hash of the fallback source's document) is read again, and the client is kept if the tag is
//! the same, rebuilt if not, dropped if the credentials are gone. A change made through this
//! instance's API takes effect at once ([`LiveGateways::invalidate`]).

use super::credential_form::{CredentialForm, FormError, FormPolicy};
use super::{asaas::AsaasClient, efi::EfiClient, stripe::StripeClient};
use crate::domain::{SecretString, TenantId};
use crate::ports::{
    account_fingerprint, CredentialStore, Gateway, GatewayError, StoreError, WebhookSecrets,
};
use crate::service::credentials::{CredentialVault, LayeredCredentials};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a cached client is used before its credentials' tag is checked again: the bound
/// on how late another instance sees a credential change (rotation, deletion).
pub const CLIENT_TTL: Duration = Duration::from_secs(30);

/// Builds a gateway's client from its credential JSON.
type Factory = fn(&serde_json::Value) -> Result<Arc<dyn Gateway>, String>;

/// Checks a `PUT …/credentials` body and makes the credential JSON from it.
type FormParser = fn(&[u8], FormPolicy) -> Result<CredentialForm, FormError>;

/// Sets a webhook verification secret given with the credentials on the tenant, at `now`
/// (Unix seconds), keeping a replaced one for `previous_for` seconds where the gateway rolls
/// secrets.
type WebhookSetter = fn(&mut WebhookSecrets, &SecretString, i64, i64);

/// Sets the source IPs the gateway's webhooks may come from, given with the credentials, on
/// the tenant (`None`: the gateway has no such list).
type AllowlistSetter = Option<fn(&mut WebhookSecrets, &[std::net::IpAddr])>;

/// What the orchestrator knows of one real gateway: how to build its client, what its
/// credential body is, and where its webhook secret goes.
pub struct LiveGatewaySpec {
    pub name: &'static str,
    pub build: Factory,
    pub form: FormParser,
    pub set_webhook_secret: WebhookSetter,
    pub set_webhook_allowed_ips: AllowlistSetter,
}

/// The real gateways. Adding a gateway = one row.
const SPECS: &[LiveGatewaySpec] = &[
    LiveGatewaySpec {
        name: "stripe",
        build: |v| StripeClient::from_credentials(v).map(|c| Arc::new(c) as Arc<dyn Gateway>),
        form: super::stripe::credentials::form,
        // The new endpoint secret first; the previous one stays valid for events already
        // signed with it (Stripe's own rolling keeps both for a while) until its expiry, so a
        // leaked one is revoked by a rotation (at once with `previous_for` 0). Setting the
        // same secret again only moves the previous one's expiry.
        set_webhook_secret: |w, s, now, previous_for| {
            let new = s.expose().to_string();
            let previous = w.stripe.iter().find(|o| **o != new).cloned();
            let still_valid = w.stripe_previous_until.is_none_or(|u| now < u);
            w.stripe = std::iter::once(new)
                .chain(previous.filter(|_| still_valid && previous_for > 0))
                .collect();
            w.stripe_previous_until = Some(now.saturating_add(previous_for));
        },
        set_webhook_allowed_ips: None,
    },
    LiveGatewaySpec {
        name: "asaas",
        build: |v| AsaasClient::from_credentials(v).map(|c| Arc::new(c) as Arc<dyn Gateway>),
        form: super::asaas::credentials::form,
        set_webhook_secret: |w, s, _, _| w.asaas_token = Some(s.expose().to_string()),
        set_webhook_allowed_ips: None,
    },
    LiveGatewaySpec {
        name: "efi",
        build: |v| EfiClient::from_credentials(v).map(|c| Arc::new(c) as Arc<dyn Gateway>),
        form: super::efi::credentials::form,
        set_webhook_secret: |w, s, _, _| w.efi_hmac = Some(s.expose().to_string()),
        set_webhook_allowed_ips: Some(|w, ips| w.efi_allowed_ips = ips.to_vec()),
    },
];

/// The real gateway called `name`, if there is one.
pub fn spec(name: &str) -> Option<&'static LiveGatewaySpec> {
    SPECS.iter().find(|s| s.name == name)
}

/// The names of the real gateways.
pub fn names() -> Vec<&'static str> {
    SPECS.iter().map(|s| s.name).collect()
}

/// Decodes a gateway's credential JSON. The error names the offending field but never quotes a
/// value: serde's type errors echo the value they saw, which here may be a secret.
pub fn parse_credentials<T: serde::de::DeserializeOwned>(
    gateway: &str,
    v: &serde_json::Value,
) -> Result<T, String> {
    serde_path_to_error::deserialize(v.clone()).map_err(|e| {
        let inner = e.inner().to_string();
        if inner.starts_with("missing field") || inner.starts_with("unknown field") {
            // These name fields only.
            format!(
                "{gateway} credentials: {}",
                inner.split(" at line").next().unwrap_or(&inner)
            )
        } else {
            format!("{gateway} credentials: `{}` has the wrong type", e.path())
        }
    })
}

/// Why a live client could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LiveGatewayError {
    #[error("no credentials configured for {0}")]
    Missing(String),
    #[error("unusable credentials for {0}: {1}")]
    Bad(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The credentials in force are not the ones a payment's charge was made with (deleted, or
    /// replaced by others).
    #[error("the credentials for {0} are not the ones this payment was made with")]
    Changed(String),
}

/// A tenant's real client and which credentials it was built from.
#[derive(Clone)]
pub struct LiveClient {
    pub client: Arc<dyn Gateway>,
    /// [`crate::ports::account_fingerprint`] of the credential document.
    pub account: String,
    /// The encrypted record's version (`None` for the fallback sources).
    pub version: Option<u64>,
}

struct Cached {
    live: LiveClient,
    tag: String,
    checked: Instant,
}

/// The resolver.
pub struct LiveGateways {
    credentials: Arc<dyn CredentialStore>,
    vault: Option<Arc<CredentialVault>>,
    ttl: Duration,
    clients: Mutex<HashMap<(TenantId, String), Cached>>,
}

impl LiveGateways {
    /// Resolves credentials through `credentials` alone (no registration by API).
    pub fn new(credentials: Arc<dyn CredentialStore>) -> Self {
        Self {
            credentials,
            vault: None,
            ttl: CLIENT_TTL,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Resolves credentials from the encrypted `vault` first (what the API registered), then
    /// from `fallback` (Secrets Manager or the credentials file), and serves the credentials
    /// API from the vault.
    pub fn with_vault(
        vault: Arc<CredentialVault>,
        fallback: Option<Arc<dyn CredentialStore>>,
    ) -> Self {
        let layered = LayeredCredentials::new(vault.clone(), fallback);
        Self {
            vault: Some(vault),
            ..Self::new(Arc::new(layered))
        }
    }

    /// Changes how long a cached client is trusted before its tag is checked (tests).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The encrypted store behind the credentials API, if this deployment has one.
    pub fn vault(&self) -> Option<&Arc<CredentialVault>> {
        self.vault.as_ref()
    }

    /// Forgets this instance's client for (tenant, gateway): the next use rebuilds it from the
    /// credentials as they are now.
    pub fn invalidate(&self, tenant: &TenantId, gateway: &str) {
        self.lock().remove(&(tenant.clone(), gateway.to_string()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, String), Cached>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tenant's client for `gateway`: cached, re-checked after the TTL.
    pub async fn get(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<LiveClient, LiveGatewayError> {
        let k = (tenant.clone(), gateway.to_string());
        let stale = match self.lock().get(&k) {
            Some(c) if c.checked.elapsed() < self.ttl => return Ok(c.live.clone()),
            Some(c) => Some((c.live.clone(), c.tag.clone())),
            None => None,
        };
        if let Some((live, tag)) = stale {
            match self.credentials.tag(tenant, gateway).await {
                Ok(Some(now)) if now == tag => {
                    if let Some(c) = self.lock().get_mut(&k) {
                        c.checked = Instant::now();
                    }
                    return Ok(live);
                }
                Ok(_) => {
                    self.lock().remove(&k);
                }
                // The source cannot be read: keep the last known client (the next call checks
                // again) rather than fail payments on a credential read.
                Err(e) => {
                    tracing::warn!(tenant = %tenant, gateway, error = %e, "credential check failed; cached client kept");
                    return Ok(live);
                }
            }
        }
        self.build_and_cache(tenant, gateway).await
    }

    /// The client built from exactly the credentials whose fingerprint is `account` — the ones
    /// a payment's charge was made with — checked against the source now (one tag read, no
    /// decryption unless the credentials changed), whatever the cache's age. Deleted or
    /// replaced credentials are [`LiveGatewayError::Changed`]: no other account is ever asked
    /// about the payment. If the source cannot be read, a cached client built from those very
    /// credentials is used; otherwise the store error is returned.
    pub async fn pinned(
        &self,
        tenant: &TenantId,
        gateway: &str,
        account: &str,
    ) -> Result<Arc<dyn Gateway>, LiveGatewayError> {
        let k = (tenant.clone(), gateway.to_string());
        let cached = self.lock().get(&k).map(|c| (c.live.clone(), c.tag.clone()));
        let live = match self.credentials.tag(tenant, gateway).await {
            Ok(None) => {
                self.lock().remove(&k);
                return Err(LiveGatewayError::Changed(gateway.to_string()));
            }
            Ok(Some(now)) => match cached {
                Some((live, tag)) if tag == now => {
                    if let Some(c) = self.lock().get_mut(&k) {
                        c.checked = Instant::now();
                    }
                    live
                }
                _ => match self.build_and_cache(tenant, gateway).await {
                    Ok(live) => live,
                    Err(LiveGatewayError::Missing(_)) => {
                        return Err(LiveGatewayError::Changed(gateway.to_string()))
                    }
                    Err(e) => return Err(e),
                },
            },
            Err(e) => match cached {
                Some((live, _)) if live.account == account => {
                    tracing::warn!(tenant = %tenant, gateway, error = %e, "credential check failed; the cached client of the pinned credentials is used");
                    return Ok(live.client);
                }
                _ => return Err(LiveGatewayError::Store(e)),
            },
        };
        if live.account != account {
            return Err(LiveGatewayError::Changed(gateway.to_string()));
        }
        Ok(live.client)
    }

    async fn build_and_cache(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<LiveClient, LiveGatewayError> {
        let (live, tag) = self.build(tenant, gateway).await?;
        self.lock().insert(
            (tenant.clone(), gateway.to_string()),
            Cached {
                live: live.clone(),
                tag,
                checked: Instant::now(),
            },
        );
        Ok(live)
    }

    async fn build(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<(LiveClient, String), LiveGatewayError> {
        let spec = spec(gateway).ok_or_else(|| LiveGatewayError::Missing(gateway.to_string()))?;
        let (creds, tag) = self
            .credentials
            .get_tagged(tenant, gateway)
            .await?
            .ok_or_else(|| LiveGatewayError::Missing(gateway.to_string()))?;
        let client = (spec.build)(creds.expose())
            .map_err(|e| LiveGatewayError::Bad(gateway.to_string(), e))?;
        let live = LiveClient {
            client,
            account: account_fingerprint(tenant, gateway, creds.expose()),
            version: tag.strip_prefix("v:").and_then(|v| v.parse().ok()),
        };
        Ok((live, tag))
    }

    /// Builds a new client from the credentials as stored now (never the cached one) and makes
    /// its harmless authenticated call. A failure's message has every credential value cut
    /// out, whatever the gateway or the transport put in it.
    pub async fn verify(
        &self,
        tenant: &TenantId,
        gateway: &str,
        timeout: Duration,
    ) -> Result<Result<(), GatewayError>, LiveGatewayError> {
        let spec = spec(gateway).ok_or_else(|| LiveGatewayError::Missing(gateway.to_string()))?;
        let (creds, _) = self
            .credentials
            .get_tagged(tenant, gateway)
            .await?
            .ok_or_else(|| LiveGatewayError::Missing(gateway.to_string()))?;
        let client = match (spec.build)(creds.expose()) {
            Ok(c) => c,
            Err(_) => {
                return Ok(Err(GatewayError {
                    class: crate::ports::ErrorClass::Misconfigured,
                    code: "credentials_invalid".into(),
                    message: "the stored credentials cannot make a client".into(),
                }))
            }
        };
        let outcome = match tokio::time::timeout(timeout, client.verify()).await {
            Ok(r) => r,
            Err(_) => Err(GatewayError {
                class: crate::ports::ErrorClass::Unavailable,
                code: "timeout".into(),
                message: format!("no answer within {} s", timeout.as_secs()),
            }),
        };
        Ok(outcome.map_err(|mut e| {
            e.message = scrub(&e.message, creds.expose());
            e.code = scrub(&e.code, creds.expose());
            e
        }))
    }
}

/// `text` with every string of `doc` (4 characters or longer) replaced by `[redacted]`.
fn scrub(text: &str, doc: &serde_json::Value) -> String {
    fn strings<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::String(s) if s.chars().count() >= 4 => out.push(s),
            serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    strings(doc, &mut found);
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found
        .into_iter()
        .fold(text.to_string(), |t, s| t.replace(s, "[redacted]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Creds {
        secret_key: String,
    }

    #[test]
    fn credential_errors_never_quote_values() {
        let e =
            parse_credentials::<Creds>("stripe", &serde_json::json!({"secret_key": 4242424242u64}))
                .unwrap_err();
        assert!(e.contains("secret_key") && !e.contains("4242424242"), "{e}");
        let e = parse_credentials::<Creds>("stripe", &serde_json::json!({})).unwrap_err();
        assert!(e.contains("missing field `secret_key`"), "{e}");
    }

    #[test]
    fn scrubbed_messages_hold_no_credential() {
        let doc = serde_json::json!({"secret_key": "sk_test_abcdef", "n": {"x": "deep-secret"}, "s": "ab"});
        let m = scrub(
            "Invalid API Key provided: sk_test_abcdef (deep-secret) ab",
            &doc,
        );
        assert_eq!(m, "Invalid API Key provided: [redacted] ([redacted]) ab");
    }
}
