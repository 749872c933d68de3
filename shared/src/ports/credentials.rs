//! Gateway credentials per (tenant, gateway): registered by API and stored encrypted
//! ([`SealedCredentialStore`] + [`CredentialCipher`], envelope encryption), or from Secrets
//! Manager in AWS / a local file for the dev server. Values are JSON objects whose fields each
//! gateway module documents; decrypted, they only travel as [`SecretJson`].

use super::StoreError;
use crate::domain::{SecretJson, TenantId};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// Where gateway credentials come from.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// The credentials of `tenant` for `gateway`, if configured.
    async fn get(&self, tenant: &TenantId, gateway: &str)
        -> Result<Option<SecretJson>, StoreError>;

    /// The credentials with a tag that changes whenever they change (a cached client is kept
    /// while the tag stays the same). By default the tag is a hash of the document.
    async fn get_tagged(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<(SecretJson, String)>, StoreError> {
        Ok(self.get(tenant, gateway).await?.map(|c| {
            let tag = content_tag(c.expose());
            (c, tag)
        }))
    }

    /// The tag alone, as cheaply as the source can tell it (the encrypted store reads the
    /// item's version without decrypting anything).
    async fn tag(&self, tenant: &TenantId, gateway: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get_tagged(tenant, gateway).await?.map(|(_, t)| t))
    }
}

/// A tag for a credential document: a prefix of the SHA-256 of its JSON (never shown).
pub fn content_tag(doc: &serde_json::Value) -> String {
    let text = Zeroizing::new(doc.to_string());
    let digest = Sha256::digest(text.as_bytes());
    format!("h:{}", hex::encode(&digest[..12]))
}

/// Which credentials made a charge, as pinned on the payment: a prefix of the SHA-256 of a
/// label, the tenant, the gateway and the credential document. The same document registered
/// again gives the same value; any other document (another account, a rotated key, another
/// host) a different one; equal documents of two tenants never match; and the value tells
/// nothing of the secret.
pub fn account_fingerprint(tenant: &TenantId, gateway: &str, doc: &serde_json::Value) -> String {
    let text = Zeroizing::new(doc.to_string());
    let mut h = Sha256::new();
    h.update(b"orchestrator-gateway-account-v1\0");
    h.update(tenant.as_str().as_bytes());
    h.update(b"\0");
    h.update(gateway.as_bytes());
    h.update(b"\0");
    h.update(text.as_bytes());
    format!("a:{}", hex::encode(&h.finalize()[..12]))
}

/// What a data key and a ciphertext are bound to: KMS `EncryptionContext` and the AES-GCM
/// associated data. Decrypting under any other context fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionContext {
    pub tenant_id: String,
    pub gateway: String,
}

impl EncryptionContext {
    /// The context of one tenant's credential for one gateway.
    pub fn new(tenant: &TenantId, gateway: &str) -> Self {
        Self {
            tenant_id: tenant.as_str().to_string(),
            gateway: gateway.to_string(),
        }
    }

    /// The pairs, in a fixed order (`tenant_id`, `gateway`).
    pub fn pairs(&self) -> [(&'static str, &str); 2] {
        [("tenant_id", &self.tenant_id), ("gateway", &self.gateway)]
    }

    /// One canonical byte string of the context (sorted-key JSON), for associated data.
    pub fn canonical(&self) -> Vec<u8> {
        let map: BTreeMap<&str, &str> = self.pairs().into_iter().collect();
        serde_json::to_vec(&map).unwrap_or_default()
    }
}

/// A fresh data key: its plaintext (used once, then zeroed) and its encrypted form (stored).
pub struct DataKey {
    pub plaintext: Zeroizing<[u8; 32]>,
    pub encrypted: Vec<u8>,
    /// The wrapping key's id (a KMS key ARN, or the local key's id).
    pub key_id: String,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("key_id", &self.key_id)
            .field("encrypted_len", &self.encrypted.len())
            .finish_non_exhaustive()
    }
}

/// Why a data key could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// The key service refused: another key, another encryption context, or a damaged blob.
    #[error("the data key was refused (wrong key or encryption context, or a damaged item)")]
    Rejected,
    /// The key service could not be reached or answered an error (retry-safe).
    #[error("key service unavailable: {0}")]
    Unavailable(String),
}

impl From<CipherError> for StoreError {
    fn from(e: CipherError) -> Self {
        match e {
            CipherError::Rejected => StoreError::Corrupt(e.to_string()),
            CipherError::Unavailable(m) => StoreError::Unavailable(m),
        }
    }
}

/// Makes and opens data keys (envelope encryption): AWS KMS `GenerateDataKey`/`Decrypt`, or a
/// local AES-256 key for the dev server. Every data key is bound to its [`EncryptionContext`].
#[async_trait]
pub trait CredentialCipher: Send + Sync {
    /// A new AES-256 data key for one write.
    async fn generate_data_key(&self, ctx: &EncryptionContext) -> Result<DataKey, CipherError>;

    /// The plaintext of a stored data key, under the same context it was made with.
    async fn decrypt_data_key(
        &self,
        key_id: &str,
        encrypted: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Zeroizing<[u8; 32]>, CipherError>;
}

/// An encrypted credential document: AES-256-GCM under a data key that is itself encrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The wrapping key's id (KMS key ARN or local key id).
    pub key_id: String,
    /// The data key, encrypted by the wrapping key under the encryption context.
    pub encrypted_data_key: Vec<u8>,
    /// 96-bit random nonce followed by the AES-256-GCM ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("key_id", &self.key_id)
            .field("encrypted_data_key_len", &self.encrypted_data_key.len())
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

/// One (tenant, gateway) credential as stored: the envelope, or none once deleted (the item is
/// kept so the version keeps counting), plus what the API may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCredential {
    pub tenant_id: TenantId,
    pub gateway: String,
    /// 1 for the first write, +1 on every write (a delete included).
    pub version: u64,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// `None`: deleted.
    pub envelope: Option<Envelope>,
    /// Field → masked value (see [`crate::domain::mask`]); plain for non-secret fields.
    pub masked: BTreeMap<String, String>,
    /// A hash prefix of the credential (never enough to test a guess of a short field).
    pub fingerprint: String,
}

/// Encrypted credentials, one record per (tenant, gateway).
#[async_trait]
pub trait SealedCredentialStore: Send + Sync {
    /// The record, deleted ones included.
    async fn get(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<SealedCredential>, StoreError>;

    /// Writes `cred` only if the stored version is `cred.version - 1` (none stored for version
    /// 1); otherwise `StoreError::Conflict` and nothing is written.
    async fn put(&self, cred: &SealedCredential) -> Result<(), StoreError>;
}
