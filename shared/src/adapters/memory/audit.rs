//! The audit log in memory.

use crate::domain::TenantId;
use crate::ports::{AuditEntry, AuditStore, StoreError, MAX_AUDIT_ENTRIES};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// Entries per tenant, oldest first.
#[derive(Debug, Default)]
pub struct MemoryAuditStore {
    entries: Mutex<HashMap<TenantId, Vec<AuditEntry>>>,
}

#[async_trait]
impl AuditStore for MemoryAuditStore {
    async fn record(&self, tenant: &TenantId, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let log = m.entry(tenant.clone()).or_default();
        log.push(entry.clone());
        if log.len() > MAX_AUDIT_ENTRIES {
            let extra = log.len() - MAX_AUDIT_ENTRIES;
            log.drain(..extra);
        }
        Ok(())
    }

    async fn list(&self, tenant: &TenantId, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        Ok(m.get(tenant)
            .map(|l| l.iter().rev().take(limit).cloned().collect())
            .unwrap_or_default())
    }
}
