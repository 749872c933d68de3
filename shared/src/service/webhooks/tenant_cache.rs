//! Tenants by id, cached per instance so webhook traffic doesn't read the tenant table per call.

use crate::domain::TenantId;
use crate::ports::{StoreError, Tenant, TenantStore};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A read-through cache in front of a [`TenantStore`].
pub struct TenantCache {
    store: Arc<dyn TenantStore>,
    ttl: Duration,
    entries: Mutex<HashMap<TenantId, (Tenant, Instant)>>,
}

impl TenantCache {
    /// Caches for `ttl`; misses (unknown tenants) are not cached.
    pub fn new(store: Arc<dyn TenantStore>, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The tenant, from cache when fresh.
    pub async fn get(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        if let Some((t, at)) = self.lock().get(id) {
            if at.elapsed() < self.ttl {
                return Ok(Some(t.clone()));
            }
        }
        let t = self.store.get(id).await?;
        if let Some(t) = &t {
            self.lock().insert(id.clone(), (t.clone(), Instant::now()));
        }
        Ok(t)
    }

    /// The tenant as stored now (and cached from now on): for a decision that must not rest
    /// on a stale copy, such as "this tenant has no callback URL".
    pub async fn get_fresh(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let t = self.store.get(id).await?;
        match &t {
            Some(t) => {
                self.lock().insert(id.clone(), (t.clone(), Instant::now()));
            }
            None => {
                self.lock().remove(id);
            }
        }
        Ok(t)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, (Tenant, Instant)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}
