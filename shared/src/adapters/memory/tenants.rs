//! In-memory tenant store.

use crate::domain::TenantId;
use crate::ports::{StoreError, Tenant, TenantStore};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// Tenants in a map, seeded from the tenants file by the dev server.
#[derive(Debug, Default)]
pub struct MemoryTenantStore {
    tenants: Mutex<HashMap<TenantId, Tenant>>,
}

impl MemoryTenantStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Tenant>> {
        self.tenants.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl TenantStore for MemoryTenantStore {
    async fn by_api_key_hash(&self, hash: &str) -> Result<Option<Tenant>, StoreError> {
        Ok(self
            .lock()
            .values()
            .find(|t| t.api_key_sha256.iter().any(|h| h == hash))
            .cloned())
    }

    async fn get(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        Ok(self.lock().get(id).cloned())
    }

    async fn put(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.lock().insert(tenant.id.clone(), tenant.clone());
        Ok(())
    }
}
