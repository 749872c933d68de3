//! The dev server's [`CredentialCipher`]: envelope encryption as with KMS, but the data keys
//! are wrapped by a local AES-256 key (`ORCH_CREDENTIALS_KEY`, 64 hex characters) with
//! AES-256-GCM, the encryption context as associated data.

use crate::envelope;
use crate::ports::{CipherError, CredentialCipher, DataKey, EncryptionContext};
use async_trait::async_trait;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A local wrapping key.
pub struct LocalKeyCipher {
    key: Zeroizing<[u8; 32]>,
    key_id: String,
}

impl std::fmt::Debug for LocalKeyCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeyCipher")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// `ORCH_CREDENTIALS_KEY` is not 64 hex characters (its value is never quoted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ORCH_CREDENTIALS_KEY must be 64 hex characters (32 bytes)")]
pub struct BadLocalKey;

impl LocalKeyCipher {
    /// Uses this key.
    pub fn new(key: [u8; 32]) -> Self {
        let key = Zeroizing::new(key);
        // The id names the key without revealing it: a hash prefix under a fixed label.
        let mut h = Sha256::new();
        h.update(b"orchestrator local credentials key id\0");
        h.update(key.as_slice());
        let key_id = format!("local:{}", hex::encode(&h.finalize()[..8]));
        Self { key, key_id }
    }

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Result<Self, BadLocalKey> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| BadLocalKey)?);
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| BadLocalKey)?;
        Ok(Self::new(key))
    }

    /// A random key, for a process whose credentials need not outlive it.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let c = Self::new(key);
        zeroize::Zeroize::zeroize(&mut key);
        c
    }

    /// The id stored with every data key this key wraps.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

#[async_trait]
impl CredentialCipher for LocalKeyCipher {
    async fn generate_data_key(&self, ctx: &EncryptionContext) -> Result<DataKey, CipherError> {
        let mut plaintext = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(plaintext.as_mut_slice());
        let encrypted = envelope::seal(&self.key, &ctx.canonical(), plaintext.as_slice())
            .map_err(|e| CipherError::Unavailable(e.to_string()))?;
        Ok(DataKey {
            plaintext,
            encrypted,
            key_id: self.key_id.clone(),
        })
    }

    async fn decrypt_data_key(
        &self,
        key_id: &str,
        encrypted: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Zeroizing<[u8; 32]>, CipherError> {
        if key_id != self.key_id {
            return Err(CipherError::Rejected);
        }
        let bytes = envelope::open(&self.key, &ctx.canonical(), encrypted)
            .map_err(|_| CipherError::Rejected)?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CipherError::Rejected)?;
        Ok(Zeroizing::new(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TenantId;

    #[tokio::test]
    async fn a_data_key_opens_only_under_its_own_context_and_key() {
        let c = LocalKeyCipher::random();
        let a = EncryptionContext::new(&TenantId::parse("ten_a").unwrap(), "stripe");
        let dk = c.generate_data_key(&a).await.unwrap();
        let back = c
            .decrypt_data_key(&dk.key_id, &dk.encrypted, &a)
            .await
            .unwrap();
        assert_eq!(back.as_slice(), dk.plaintext.as_slice());
        let other_tenant = EncryptionContext::new(&TenantId::parse("ten_b").unwrap(), "stripe");
        let other_gateway = EncryptionContext::new(&TenantId::parse("ten_a").unwrap(), "asaas");
        for ctx in [other_tenant, other_gateway] {
            assert_eq!(
                c.decrypt_data_key(&dk.key_id, &dk.encrypted, &ctx).await,
                Err(CipherError::Rejected)
            );
        }
        let other_key = LocalKeyCipher::random();
        assert_eq!(
            other_key
                .decrypt_data_key(other_key.key_id(), &dk.encrypted, &a)
                .await,
            Err(CipherError::Rejected)
        );
        assert!(!format!("{c:?} {dk:?}").contains(&hex::encode(dk.plaintext.as_slice())));
    }

    #[test]
    fn hex_keys() {
        let k = "00".repeat(32);
        assert!(LocalKeyCipher::from_hex(&k).is_ok());
        assert_eq!(LocalKeyCipher::from_hex("abcd").unwrap_err(), BadLocalKey);
        let bad = LocalKeyCipher::from_hex(&"zz".repeat(32)).unwrap_err();
        assert!(!bad.to_string().contains("zz"));
    }
}
