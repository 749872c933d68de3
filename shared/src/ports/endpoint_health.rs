//! Where each merchant callback endpoint's health is kept (see `domain::endpoint_health`).

use super::StoreError;
use crate::domain::{EndpointHealth, TenantId};
use async_trait::async_trait;
use sha2::{Digest, Sha256};

/// One endpoint: the tenant (its live id — test and live callbacks reach the same URL) and the
/// URL. A payment's own callback URL is an endpoint of its own, so one dead per-payment URL
/// never holds back the tenant's main endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointKey {
    pub tenant_id: TenantId,
    pub url: String,
}

impl EndpointKey {
    /// `tenant`'s endpoint at `url` (a twin is keyed by its live tenant).
    pub fn new(tenant: &TenantId, url: &str) -> Self {
        Self {
            tenant_id: tenant.live_id(),
            url: url.to_string(),
        }
    }

    /// The storage key: tenant and a hash of the URL (URLs may be long; the key stays short).
    pub fn storage_key(&self) -> String {
        let h = hex::encode(Sha256::digest(self.url.as_bytes()));
        format!("{}#endpoint#{}", self.tenant_id, &h[..24])
    }
}

/// Keeps endpoint health records. Every write is conditional on the version read, so two
/// workers never both claim a probe or both count one failure as two transitions.
#[async_trait]
pub trait EndpointHealthStore: Send + Sync {
    /// The record, or the healthy default (version 0) if none was written.
    async fn load(&self, key: &EndpointKey) -> Result<EndpointHealth, StoreError>;

    /// Writes `next` if the stored record is still at `expected_version` (0: none stored).
    /// False when another writer got there first.
    async fn save(
        &self,
        key: &EndpointKey,
        expected_version: u64,
        next: &EndpointHealth,
    ) -> Result<bool, StoreError>;
}
