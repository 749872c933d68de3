//! The deployed [`CredentialCipher`]: AWS KMS. Every write gets its own AES-256 data key from
//! `GenerateDataKey` under the encryption context `{tenant_id, gateway}`; reading calls
//! `Decrypt` with the same context and the key id, so a data key moved to another tenant's or
//! gateway's item, or to another key, is refused by KMS itself.

use crate::ports::{CipherError, CredentialCipher, DataKey, EncryptionContext};
use async_trait::async_trait;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use aws_sdk_kms::Client;
use zeroize::Zeroizing;

/// The KMS cipher, on one customer managed key.
#[derive(Debug, Clone)]
pub struct KmsCipher {
    client: Client,
    key_id: String,
}

impl KmsCipher {
    /// Data keys are made under `key_id` (key id, ARN or `alias/…`).
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

fn key32(bytes: Zeroizing<Vec<u8>>) -> Result<Zeroizing<[u8; 32]>, CipherError> {
    let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        CipherError::Unavailable("KMS returned a data key that is not 32 bytes".into())
    })?;
    Ok(Zeroizing::new(key))
}

#[async_trait]
impl CredentialCipher for KmsCipher {
    async fn generate_data_key(&self, ctx: &EncryptionContext) -> Result<DataKey, CipherError> {
        let mut req = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256);
        for (k, v) in ctx.pairs() {
            req = req.encryption_context(k, v);
        }
        let mut out = req
            .send()
            .await
            .map_err(|e| CipherError::Unavailable(DisplayErrorContext(e).to_string()))?;
        let plaintext = out
            .plaintext
            .take()
            .map(|b| Zeroizing::new(b.into_inner()))
            .ok_or_else(|| CipherError::Unavailable("KMS returned no plaintext data key".into()))?;
        let encrypted = out
            .ciphertext_blob
            .take()
            .map(Blob::into_inner)
            .ok_or_else(|| CipherError::Unavailable("KMS returned no encrypted data key".into()))?;
        Ok(DataKey {
            plaintext: key32(plaintext)?,
            encrypted,
            key_id: out.key_id.take().unwrap_or_else(|| self.key_id.clone()),
        })
    }

    async fn decrypt_data_key(
        &self,
        key_id: &str,
        encrypted: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Zeroizing<[u8; 32]>, CipherError> {
        let mut req = self
            .client
            .decrypt()
            .key_id(key_id)
            .ciphertext_blob(Blob::new(encrypted));
        for (k, v) in ctx.pairs() {
            req = req.encryption_context(k, v);
        }
        let mut out = req.send().await.map_err(|e| {
            let refused = e.as_service_error().is_some_and(|s| {
                s.is_invalid_ciphertext_exception()
                    || s.is_incorrect_key_exception()
                    || s.is_not_found_exception()
            });
            if refused {
                CipherError::Rejected
            } else {
                CipherError::Unavailable(DisplayErrorContext(e).to_string())
            }
        })?;
        let plaintext = out
            .plaintext
            .take()
            .map(|b| Zeroizing::new(b.into_inner()))
            .ok_or_else(|| CipherError::Unavailable("KMS returned no plaintext".into()))?;
        key32(plaintext)
    }
}
