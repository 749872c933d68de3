//! The outbox in memory: events keyed by id, their delivery logs, and a change feed in write
//! order that the dev server's relay drains (the in-process stand-in for DynamoDB Streams).

use crate::domain::{
    DeliveryAttempt, DeliveryState, MerchantEvent, StoredEvent, TenantId, MAX_LOGGED_ATTEMPTS,
};
use crate::ports::{EventFilter, EventPage, OutboxStore, StoreError};
use async_trait::async_trait;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
pub(crate) struct OutboxState {
    events: BTreeMap<String, StoredEvent>,
    /// Ids in write order, not yet handed to the relay.
    feed: VecDeque<String>,
}

impl OutboxState {
    /// Whether any of these ids is already stored (checked before a write, so a refused write
    /// stores nothing).
    pub(crate) fn any_exists(&self, events: &[MerchantEvent]) -> bool {
        events.iter().any(|e| self.events.contains_key(&e.id))
    }

    /// Stores new events and appends them to the feed.
    pub(crate) fn append(&mut self, events: &[MerchantEvent]) {
        for e in events {
            self.feed.push_back(e.id.clone());
            self.events.insert(
                e.id.clone(),
                StoredEvent {
                    event: e.clone(),
                    state: DeliveryState::Pending,
                    attempts: Vec::new(),
                },
            );
        }
    }
}

/// Merchant events in memory.
#[derive(Debug, Default)]
pub struct MemoryOutbox {
    state: Mutex<OutboxState>,
    notify: tokio::sync::Notify,
}

impl MemoryOutbox {
    pub(crate) fn lock(&self) -> MutexGuard<'_, OutboxState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the relay after a write (called by the stores once their locks are released).
    pub(crate) fn wake(&self) {
        self.notify.notify_one();
    }

    /// The oldest event not yet relayed, as (tenant, id); it stays first until [`Self::ack`].
    pub fn peek_feed(&self) -> Option<(TenantId, String)> {
        let st = self.lock();
        let id = st.feed.front()?;
        st.events
            .get(id)
            .map(|e| (e.event.tenant_id.clone(), id.clone()))
    }

    /// Drops `id` from the head of the feed once the relay has handed it on.
    pub fn ack(&self, id: &str) {
        let mut st = self.lock();
        if st.feed.front().map(String::as_str) == Some(id) {
            st.feed.pop_front();
        }
    }

    /// Waits until something is written (or `max` passes).
    pub async fn wait(&self, max: std::time::Duration) {
        let _ = tokio::time::timeout(max, self.notify.notified()).await;
    }

    /// Every stored event, oldest first (tests and the dev server's diagnostics).
    pub fn all(&self) -> Vec<StoredEvent> {
        self.lock().events.values().cloned().collect()
    }
}

/// Whether an event passes a listing filter; shared with the DynamoDB adapter's post-filter.
pub(crate) fn event_matches(e: &MerchantEvent, f: &EventFilter) -> bool {
    f.kind.is_none_or(|k| e.kind == k) && f.payment_id.as_ref().is_none_or(|p| &e.payment_id == p)
}

/// Appends `attempt` keeping only the newest [`MAX_LOGGED_ATTEMPTS`].
fn push_attempt(log: &mut Vec<DeliveryAttempt>, attempt: &DeliveryAttempt) {
    log.push(attempt.clone());
    if log.len() > MAX_LOGGED_ATTEMPTS {
        let extra = log.len() - MAX_LOGGED_ATTEMPTS;
        log.drain(..extra);
    }
}

#[async_trait]
impl OutboxStore for MemoryOutbox {
    async fn get(&self, tenant_id: &TenantId, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        Ok(self
            .lock()
            .events
            .get(id)
            .filter(|e| &e.event.tenant_id == tenant_id)
            .cloned())
    }

    async fn list(
        &self,
        tenant_id: &TenantId,
        filter: &EventFilter,
        limit: usize,
        starting_after: Option<&str>,
    ) -> Result<EventPage, StoreError> {
        let st = self.lock();
        let items: Vec<StoredEvent> = st
            .events
            .values()
            .rev()
            .filter(|e| starting_after.is_none_or(|c| e.event.id.as_str() < c))
            .filter(|e| &e.event.tenant_id == tenant_id && event_matches(&e.event, filter))
            .take(limit + 1)
            .cloned()
            .collect();
        let (items, next_cursor) = crate::ports::split_page(items, limit, |e| e.event.id.clone());
        Ok(EventPage { items, next_cursor })
    }

    async fn record_attempt(
        &self,
        tenant_id: &TenantId,
        id: &str,
        attempt: Option<&DeliveryAttempt>,
        state: DeliveryState,
    ) -> Result<(), StoreError> {
        let mut st = self.lock();
        let e = st
            .events
            .get_mut(id)
            .filter(|e| &e.event.tenant_id == tenant_id)
            .filter(|e| e.state != DeliveryState::Delivered || state == DeliveryState::Delivered)
            .ok_or_else(|| {
                StoreError::Conflict(format!("no event {id}, or it is delivered already"))
            })?;
        if let Some(a) = attempt {
            push_attempt(&mut e.attempts, a);
        }
        e.state = state;
        Ok(())
    }
}
