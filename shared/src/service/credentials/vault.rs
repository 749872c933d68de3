//! The encrypted credential store: envelope encryption over a [`SealedCredentialStore`] and a
//! [`CredentialCipher`]. Each write gets a fresh data key bound to `{tenant_id, gateway}`; the
//! document is sealed with AES-256-GCM under it, with the context and the version as associated
//! data, and only the sealed bytes, the encrypted data key and the masked view are stored.

use crate::domain::{SecretJson, TenantId};
use crate::envelope;
use crate::gateways::credential_form::{CredentialForm, FormPolicy};
use crate::ports::{
    content_tag, CredentialCipher, CredentialStore, EncryptionContext, Envelope, SealedCredential,
    SealedCredentialStore, StoreError,
};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use zeroize::Zeroizing;

/// How often a write is retried after losing its version race to another write.
const WRITE_ATTEMPTS: usize = 3;

/// Registered credentials, encrypted at rest.
pub struct CredentialVault {
    store: Arc<dyn SealedCredentialStore>,
    cipher: Arc<dyn CredentialCipher>,
    policy: FormPolicy,
}

/// The associated data of a sealed document: its context and version, so a ciphertext moved
/// to another item or rolled back under a newer version does not open.
fn aad(ctx: &EncryptionContext, version: u64) -> Vec<u8> {
    let mut a = ctx.canonical();
    a.extend_from_slice(format!("|v{version}").as_bytes());
    a
}

/// A hash prefix that tells two credentials apart without revealing them: SHA-256 over a label,
/// the tenant, the gateway and the document (so equal keys of two tenants do not match).
fn fingerprint(ctx: &EncryptionContext, doc: &serde_json::Value) -> String {
    let text = Zeroizing::new(doc.to_string());
    let mut h = Sha256::new();
    h.update(b"orchestrator credential fingerprint v1\0");
    h.update(ctx.canonical());
    h.update(b"\0");
    h.update(text.as_bytes());
    hex::encode(&h.finalize()[..8])
}

impl CredentialVault {
    /// Over these ports, accepting only the gateways' own hosts.
    pub fn new(store: Arc<dyn SealedCredentialStore>, cipher: Arc<dyn CredentialCipher>) -> Self {
        Self {
            store,
            cipher,
            policy: FormPolicy::default(),
        }
    }

    /// With another body policy (the dev server and tests accept local endpoints).
    pub fn with_policy(mut self, policy: FormPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// What credential bodies may hold here.
    pub fn policy(&self) -> FormPolicy {
        self.policy
    }

    /// The stored record, if it holds credentials (a deleted one reads as none).
    pub async fn record(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<SealedCredential>, StoreError> {
        Ok(self
            .store
            .get(tenant, gateway)
            .await?
            .filter(|r| r.envelope.is_some()))
    }

    /// Encrypts and stores `form` as the next version.
    pub async fn write(
        &self,
        tenant: &TenantId,
        gateway: &str,
        form: &CredentialForm,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<SealedCredential, StoreError> {
        let ctx = EncryptionContext::new(tenant, gateway);
        let plaintext = Zeroizing::new(
            serde_json::to_vec(form.document.expose())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        );
        let mut lost = None;
        for _ in 0..WRITE_ATTEMPTS {
            let version = self.next_version(tenant, gateway).await?;
            let key = self.cipher.generate_data_key(&ctx).await?;
            let ciphertext = envelope::seal(&key.plaintext, &aad(&ctx, version), &plaintext)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let rec = SealedCredential {
                tenant_id: tenant.clone(),
                gateway: gateway.to_string(),
                version,
                updated_at: now,
                envelope: Some(Envelope {
                    ciphertext,
                    encrypted_data_key: key.encrypted.clone(),
                    key_id: key.key_id.clone(),
                }),
                masked: form.masked.clone(),
                fingerprint: fingerprint(&ctx, form.document.expose()),
            };
            match self.store.put(&rec).await {
                Ok(()) => return Ok(rec),
                Err(StoreError::Conflict(m)) => lost = Some(m),
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(lost.unwrap_or_default()))
    }

    /// Deletes the credentials (the record stays, without them, so versions keep counting).
    /// `None` if there were none.
    pub async fn delete(
        &self,
        tenant: &TenantId,
        gateway: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<SealedCredential>, StoreError> {
        let mut lost = None;
        for _ in 0..WRITE_ATTEMPTS {
            let Some(current) = self.record(tenant, gateway).await? else {
                return Ok(None);
            };
            let rec = SealedCredential {
                version: current.version + 1,
                updated_at: now,
                envelope: None,
                masked: Default::default(),
                fingerprint: String::new(),
                ..current
            };
            match self.store.put(&rec).await {
                Ok(()) => return Ok(Some(rec)),
                Err(StoreError::Conflict(m)) => lost = Some(m),
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(lost.unwrap_or_default()))
    }

    async fn next_version(&self, tenant: &TenantId, gateway: &str) -> Result<u64, StoreError> {
        Ok(self
            .store
            .get(tenant, gateway)
            .await?
            .map(|r| r.version)
            .unwrap_or(0)
            + 1)
    }

    /// Decrypts the credentials, with their version.
    pub async fn open(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<(SecretJson, u64)>, StoreError> {
        let Some(rec) = self.record(tenant, gateway).await? else {
            return Ok(None);
        };
        let Some(env) = &rec.envelope else {
            return Ok(None);
        };
        // The context comes from the key asked for, never from the item.
        let ctx = EncryptionContext::new(tenant, gateway);
        let key = self
            .cipher
            .decrypt_data_key(&env.key_id, &env.encrypted_data_key, &ctx)
            .await?;
        let plaintext =
            envelope::open(&key, &aad(&ctx, rec.version), &env.ciphertext).map_err(|_| {
                StoreError::Corrupt(format!(
                    "credential {gateway} of {tenant} (version {}) does not decrypt",
                    rec.version
                ))
            })?;
        let doc = serde_json::from_slice(&plaintext).map_err(|_| {
            StoreError::Corrupt(format!("credential {gateway} of {tenant} is not JSON"))
        })?;
        Ok(Some((SecretJson::new(doc), rec.version)))
    }
}

/// The encrypted store first, then the existing source (Secrets Manager, the credentials file).
pub struct LayeredCredentials {
    vault: Arc<CredentialVault>,
    fallback: Option<Arc<dyn CredentialStore>>,
}

impl LayeredCredentials {
    /// `vault` first, then `fallback`.
    pub fn new(vault: Arc<CredentialVault>, fallback: Option<Arc<dyn CredentialStore>>) -> Self {
        Self { vault, fallback }
    }
}

#[async_trait]
impl CredentialStore for LayeredCredentials {
    async fn get(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<SecretJson>, StoreError> {
        Ok(self.get_tagged(tenant, gateway).await?.map(|(c, _)| c))
    }

    async fn get_tagged(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<(SecretJson, String)>, StoreError> {
        if let Some((doc, version)) = self.vault.open(tenant, gateway).await? {
            return Ok(Some((doc, format!("v:{version}"))));
        }
        match &self.fallback {
            Some(f) => Ok(f.get(tenant, gateway).await?.map(|c| {
                let tag = format!("f:{}", content_tag(c.expose()));
                (c, tag)
            })),
            None => Ok(None),
        }
    }

    /// The record's version, read without decrypting; else the fallback's hash.
    async fn tag(&self, tenant: &TenantId, gateway: &str) -> Result<Option<String>, StoreError> {
        if let Some(rec) = self.vault.record(tenant, gateway).await? {
            return Ok(Some(format!("v:{}", rec.version)));
        }
        match &self.fallback {
            Some(f) => Ok(f
                .get(tenant, gateway)
                .await?
                .map(|c| format!("f:{}", content_tag(c.expose())))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::{LocalKeyCipher, MemorySealedCredentials};
    use crate::domain::mask;

    fn form(key: &str) -> CredentialForm {
        CredentialForm {
            document: SecretJson::new(serde_json::json!({"secret_key": key})),
            masked: [("secret_key".to_string(), mask(key))].into(),
            webhook_secret: None,
            previous_secret_for: None,
            webhook_allowed_ips: None,
        }
    }

    #[tokio::test]
    async fn write_open_rotate_delete() {
        let store = Arc::new(MemorySealedCredentials::default());
        let vault = CredentialVault::new(store.clone(), Arc::new(LocalKeyCipher::random()));
        let a = TenantId::parse("ten_a").unwrap();
        let b = TenantId::parse("ten_b").unwrap();
        let now = chrono::Utc::now();
        let r1 = vault
            .write(&a, "stripe", &form("sk_test_first_key_000"), now)
            .await
            .unwrap();
        assert_eq!(r1.version, 1);
        let (doc, v) = vault.open(&a, "stripe").await.unwrap().unwrap();
        assert_eq!(
            (doc.expose()["secret_key"].as_str(), v),
            (Some("sk_test_first_key_000"), 1)
        );
        assert!(
            vault.open(&b, "stripe").await.unwrap().is_none(),
            "per tenant"
        );
        let r2 = vault
            .write(&a, "stripe", &form("sk_test_second_key_00"), now)
            .await
            .unwrap();
        assert_eq!(r2.version, 2);
        assert_ne!(r1.fingerprint, r2.fingerprint);
        for rec in store.all() {
            let env = rec.envelope.unwrap();
            for bytes in [&env.ciphertext, &env.encrypted_data_key] {
                assert!(
                    !bytes.windows(8).any(|w| w == b"sk_test_"),
                    "no plaintext stored"
                );
            }
        }
        let gone = vault.delete(&a, "stripe", now).await.unwrap().unwrap();
        assert_eq!(gone.version, 3);
        assert!(vault.open(&a, "stripe").await.unwrap().is_none());
        assert!(vault.delete(&a, "stripe", now).await.unwrap().is_none());
        let r4 = vault
            .write(&a, "stripe", &form("sk_test_third_key_000"), now)
            .await
            .unwrap();
        assert_eq!(r4.version, 4, "versions never repeat");
    }

    #[tokio::test]
    async fn a_record_moved_to_another_tenant_does_not_open() {
        let store = Arc::new(MemorySealedCredentials::default());
        let vault = CredentialVault::new(store.clone(), Arc::new(LocalKeyCipher::random()));
        let a = TenantId::parse("ten_a").unwrap();
        let b = TenantId::parse("ten_b").unwrap();
        let rec = vault
            .write(
                &a,
                "stripe",
                &form("sk_test_first_key_000"),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let moved = SealedCredential {
            tenant_id: b.clone(),
            ..rec
        };
        store.put(&moved).await.unwrap();
        let e = vault.open(&b, "stripe").await.unwrap_err();
        assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
        assert!(!e.to_string().contains("sk_test"));
    }
}
