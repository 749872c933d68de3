//! Endpoint health records in a map, with the DynamoDB adapter's conditional semantics.

use crate::domain::EndpointHealth;
use crate::ports::{EndpointHealthStore, EndpointKey, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Endpoint health in memory (dev server, tests).
#[derive(Debug, Default)]
pub struct MemoryEndpointHealth {
    records: Mutex<HashMap<String, EndpointHealth>>,
}

impl MemoryEndpointHealth {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, EndpointHealth>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EndpointHealthStore for MemoryEndpointHealth {
    async fn load(&self, key: &EndpointKey) -> Result<EndpointHealth, StoreError> {
        Ok(self
            .lock()
            .get(&key.storage_key())
            .cloned()
            .unwrap_or_default())
    }

    async fn save(
        &self,
        key: &EndpointKey,
        expected_version: u64,
        next: &EndpointHealth,
    ) -> Result<bool, StoreError> {
        let mut map = self.lock();
        let current = map.get(&key.storage_key()).map_or(0, |h| h.version);
        if current != expected_version {
            return Ok(false);
        }
        map.insert(key.storage_key(), next.clone());
        Ok(true)
    }
}
