//! In-memory tenant store.

use crate::domain::TenantId;
use crate::ports::{refuse_twin, StoreError, Tenant, TenantStore};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// Tenants in a map, seeded from the tenants file by the dev server.
#[derive(Debug, Default)]
pub struct MemoryTenantStore {
    tenants: Mutex<HashMap<TenantId, Tenant>>,
    last_used: Mutex<HashMap<String, chrono::NaiveDate>>,
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

    async fn replace(&self, tenant: &Tenant) -> Result<(), StoreError> {
        refuse_twin(tenant)?;
        let mut m = self.lock();
        match m.get(&tenant.id) {
            Some(cur) if cur.version == tenant.version => {
                let mut next = tenant.clone();
                next.version += 1;
                m.insert(tenant.id.clone(), next);
                Ok(())
            }
            _ => Err(StoreError::Conflict(format!(
                "tenant {} changed concurrently",
                tenant.id
            ))),
        }
    }

    async fn list(&self) -> Result<Vec<Tenant>, StoreError> {
        let mut all: Vec<Tenant> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    async fn touch_key(&self, hash: &str, day: chrono::NaiveDate) -> Result<(), StoreError> {
        let mut m = self.last_used.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(hash.to_string()).or_insert(day);
        *e = (*e).max(day);
        Ok(())
    }

    async fn key_last_used(&self, hash: &str) -> Result<Option<chrono::NaiveDate>, StoreError> {
        Ok(self
            .last_used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .copied())
    }

    async fn get(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        if id.is_test() {
            return Ok(self
                .lock()
                .get(&id.live_id())
                .map(|t| t.in_mode(crate::domain::AccountMode::Test)));
        }
        Ok(self.lock().get(id).cloned())
    }

    async fn put(&self, tenant: &Tenant) -> Result<(), StoreError> {
        refuse_twin(tenant)?;
        self.lock().insert(tenant.id.clone(), tenant.clone());
        Ok(())
    }

    async fn create(&self, tenant: &Tenant) -> Result<bool, StoreError> {
        refuse_twin(tenant)?;
        match self.lock().entry(tenant.id.clone()) {
            std::collections::hash_map::Entry::Occupied(_) => Ok(false),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(tenant.clone());
                Ok(true)
            }
        }
    }
}
