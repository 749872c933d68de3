//! Reconciliation runs in memory.

use crate::domain::TenantId;
use crate::ports::{ReconciliationRun, ReconciliationStore, StoreError, MAX_LISTED_RUNS};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// Runs per tenant, oldest first.
#[derive(Debug, Default)]
pub struct MemoryReconciliationStore {
    runs: Mutex<HashMap<TenantId, Vec<ReconciliationRun>>>,
}

#[async_trait]
impl ReconciliationStore for MemoryReconciliationStore {
    async fn save(&self, tenant: &TenantId, run: &ReconciliationRun) -> Result<(), StoreError> {
        let mut m = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let runs = m.entry(tenant.clone()).or_default();
        runs.push(run.clone());
        if runs.len() > MAX_LISTED_RUNS {
            let extra = runs.len() - MAX_LISTED_RUNS;
            runs.drain(..extra);
        }
        Ok(())
    }

    async fn get(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<ReconciliationRun>, StoreError> {
        let m = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        Ok(m.get(tenant)
            .and_then(|r| r.iter().find(|r| r.id == id).cloned()))
    }

    async fn list(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<ReconciliationRun>, StoreError> {
        let m = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        Ok(m.get(tenant)
            .map(|r| r.iter().rev().take(limit).map(|r| r.summary()).collect())
            .unwrap_or_default())
    }
}
