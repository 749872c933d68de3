//! Unmatched gateway webhooks in memory.

use crate::domain::TenantId;
use crate::ports::{EventStore, StoreError, UnmatchedWebhook};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Keyed by (tenant, gateway, gateway event id); expiry is not enforced in memory (the dev
/// server is short-lived).
#[derive(Debug, Default)]
pub struct MemoryEventStore {
    records: Mutex<BTreeMap<(String, String, String), UnmatchedWebhook>>,
}

#[async_trait]
impl EventStore for MemoryEventStore {
    async fn record_unmatched(
        &self,
        w: &UnmatchedWebhook,
        _expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((
                w.tenant_id.to_string(),
                w.gateway.clone(),
                w.gateway_event_id.clone(),
            ))
            .or_insert_with(|| w.clone());
        Ok(())
    }

    async fn list_unmatched(
        &self,
        tenant_id: &TenantId,
        limit: usize,
    ) -> Result<Vec<UnmatchedWebhook>, StoreError> {
        let mut out: Vec<UnmatchedWebhook> = self
            .records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|w| &w.tenant_id == tenant_id)
            .cloned()
            .collect();
        out.sort_by_key(|w| std::cmp::Reverse(w.received_at));
        out.truncate(limit);
        Ok(out)
    }
}
