//! In-memory breaker records with the DynamoDB adapter's semantics (one lock = one conditional
//! write). Shared by the tasks of one process only: the dev server, unit tests.

use crate::domain::{BreakerRecord, Transition};
use crate::ports::{BreakerKey, BreakerStore, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Breaker records in a map.
#[derive(Debug, Default)]
pub struct MemoryBreakerStore {
    records: Mutex<HashMap<BreakerKey, BreakerRecord>>,
}

impl MemoryBreakerStore {
    fn lock(&self) -> MutexGuard<'_, HashMap<BreakerKey, BreakerRecord>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl BreakerStore for MemoryBreakerStore {
    async fn load(&self, key: &BreakerKey) -> Result<BreakerRecord, StoreError> {
        Ok(self.lock().get(key).cloned().unwrap_or_default())
    }

    async fn add(
        &self,
        key: &BreakerKey,
        generation: u64,
        slot: usize,
        bucket_ms: i64,
        calls: u64,
        failures: u64,
    ) -> Result<Option<BreakerRecord>, StoreError> {
        let mut map = self.lock();
        let rec = map.entry(key.clone()).or_default();
        if rec.generation != generation {
            return Ok(None);
        }
        rec.add(slot, bucket_ms, calls, failures);
        Ok(Some(rec.clone()))
    }

    async fn transition(
        &self,
        key: &BreakerKey,
        generation: u64,
        to: Transition,
    ) -> Result<Option<BreakerRecord>, StoreError> {
        let mut map = self.lock();
        let rec = map.entry(key.clone()).or_default();
        if rec.generation != generation {
            return Ok(None);
        }
        rec.apply(to);
        Ok(Some(rec.clone()))
    }

    async fn claim_probe(
        &self,
        key: &BreakerKey,
        generation: u64,
        probe: usize,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut map = self.lock();
        let Some(rec) = map.get_mut(key) else {
            return Ok(false);
        };
        if !rec.probe_claimable(generation, probe, now_ms) {
            return Ok(false);
        }
        match rec.probes.get_mut(probe) {
            Some(lease) => {
                *lease = lease_until_ms;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn release_probe(
        &self,
        key: &BreakerKey,
        generation: u64,
        probe: usize,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut map = self.lock();
        let Some(rec) = map.get_mut(key) else {
            return Ok(false);
        };
        if rec.generation != generation {
            return Ok(false);
        }
        match rec.probes.get_mut(probe) {
            Some(lease) if *lease == lease_until_ms => {
                *lease = 0;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
