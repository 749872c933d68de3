//! In-memory gateway event records.

use crate::ports::{EventRecord, EventState, EventStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// Event records in a map (expiry is not enforced in memory: the dev server is short-lived).
#[derive(Debug, Default)]
pub struct MemoryEventStore {
    records: Mutex<HashMap<String, EventRecord>>,
}

impl MemoryEventStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, EventRecord>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EventStore for MemoryEventStore {
    async fn begin(
        &self,
        record: &EventRecord,
        _expires_at: DateTime<Utc>,
    ) -> Result<EventRecord, StoreError> {
        Ok(self
            .lock()
            .entry(record.key.clone())
            .or_insert_with(|| record.clone())
            .clone())
    }

    async fn advance(
        &self,
        key: &str,
        from: EventState,
        to: EventState,
        callback_body: Option<&str>,
    ) -> Result<(), StoreError> {
        match self.lock().get_mut(key) {
            Some(r) if r.state == from => {
                r.state = to;
                if let Some(b) = callback_body {
                    r.callback_body = Some(b.to_string());
                }
                Ok(())
            }
            _ => Err(StoreError::Conflict(format!(
                "event {key} not in the expected state"
            ))),
        }
    }
}
