//! Unmatched gateway webhooks in memory.

use super::MemoryOutbox;
use crate::domain::{usage_names, TenantId, UsageDelta};
use crate::ports::{EventStore, StoreError, UnmatchedWebhook};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Keyed by (tenant, gateway, gateway event id); expiry is not enforced in memory (the dev
/// server is short-lived).
#[derive(Debug, Default)]
pub struct MemoryEventStore {
    records: Mutex<BTreeMap<(String, String, String), UnmatchedWebhook>>,
    /// Where a first recording is counted (`webhooks.unmatched`); none: not counted.
    usage: Option<Arc<MemoryOutbox>>,
}

impl MemoryEventStore {
    /// Counts each first recording in the usage held by `outbox`.
    pub fn counting_in(outbox: Arc<MemoryOutbox>) -> Self {
        Self {
            records: Mutex::default(),
            usage: Some(outbox),
        }
    }
}

#[async_trait]
impl EventStore for MemoryEventStore {
    async fn record_unmatched(
        &self,
        w: &UnmatchedWebhook,
        _expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let key = (
            w.tenant_id.to_string(),
            w.gateway.clone(),
            w.gateway_event_id.clone(),
        );
        if records.contains_key(&key) {
            return Ok(());
        }
        if let Some(outbox) = &self.usage {
            let delta = UsageDelta::one(
                &w.tenant_id,
                w.received_at,
                &w.gateway_event_id,
                usage_names::WEBHOOKS_UNMATCHED,
            );
            outbox.lock().add_usage(Some(&delta));
        }
        records.insert(key, w.clone());
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
