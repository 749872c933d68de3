//! Tenants (merchants) and their API keys.

use super::StoreError;
use crate::domain::{CallbackUrl, PaymentMethod, TenantId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A merchant's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
