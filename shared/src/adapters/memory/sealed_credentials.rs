//! Encrypted gateway credentials in memory (dev server, tests), with the DynamoDB adapter's
//! versioned conditional write.

use crate::domain::TenantId;
use crate::ports::{SealedCredential, SealedCredentialStore, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// The records, by (tenant, gateway). They hold ciphertext only.
#[derive(Debug, Default)]
pub struct MemorySealedCredentials {
    records: Mutex<HashMap<(String, String), SealedCredential>>,
}

impl MemorySealedCredentials {
    /// Every record, as stored (tests inspect the raw bytes).
    pub fn all(&self) -> Vec<SealedCredential> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

#[async_trait]
impl SealedCredentialStore for MemorySealedCredentials {
    async fn get(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<SealedCredential>, StoreError> {
        Ok(self
            .records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(tenant.as_str().to_string(), gateway.to_string()))
            .cloned())
    }

    async fn put(&self, cred: &SealedCredential) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let k = (cred.tenant_id.as_str().to_string(), cred.gateway.clone());
        let stored = records.get(&k).map(|r| r.version).unwrap_or(0);
        if cred.version != stored + 1 {
            return Err(StoreError::Conflict(format!(
                "credential version {stored} is stored; version {} needs {}",
                cred.version,
                cred.version.saturating_sub(1)
            )));
        }
        records.insert(k, cred.clone());
        Ok(())
    }
}
