//! The outbox in memory: events keyed by id, their delivery logs, and a change feed in write
//! order that the dev server's relay drains (the in-process stand-in for DynamoDB Streams).

use crate::domain::{
    ulid_time, usage_names, Counters, DeliveryAttempt, DeliveryState, MerchantEvent, StoredEvent,
    TenantId, UsageBucket, UsageDelta, MAX_LOGGED_ATTEMPTS,
};
use crate::ports::{EventFilter, EventPage, OutboxStore, StoreError, UsageStore};
use async_trait::async_trait;
use chrono::NaiveDate;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
pub(crate) struct OutboxState {
    events: BTreeMap<String, StoredEvent>,
    /// Ids in write order, not yet handed to the relay.
    feed: VecDeque<String>,
    /// The usage counters, kept under the same lock as the events so a payment write, its
    /// events and its counters land together (as in the DynamoDB transaction).
    usage: BTreeMap<UsageBucket, Counters>,
}

impl OutboxState {
    /// Whether any of these ids is already stored (checked before a write, so a refused write
    /// stores nothing).
    pub(crate) fn any_exists(&self, events: &[MerchantEvent]) -> bool {
        events.iter().any(|e| self.events.contains_key(&e.id))
    }

    /// Adds a usage delta (under the lock of the write it belongs to).
    pub(crate) fn add_usage(&mut self, delta: Option<&UsageDelta>) {
        if let Some(d) = delta {
            self.usage
                .entry(d.bucket.clone())
                .or_default()
                .merge(&d.counters);
        }
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
        let counted = callback_count(e.state, state);
        e.state = state;
        let at = ulid_time(id.trim_start_matches("evt_")).unwrap_or(e.event.created_at);
        if let Some(name) = counted {
            let delta = UsageDelta::one(tenant_id, at, id, name);
            st.add_usage(Some(&delta));
        }
        Ok(())
    }
}

/// Which usage counter a delivery-state change moves: the first delivery, and each time the
/// retries of an event run out. Shared with the DynamoDB adapter.
pub(crate) fn callback_count(from: DeliveryState, to: DeliveryState) -> Option<&'static str> {
    match (from, to) {
        (f, DeliveryState::Delivered) if f != DeliveryState::Delivered => {
            Some(usage_names::CALLBACKS_DELIVERED)
        }
        (f, DeliveryState::Failed)
            if f != DeliveryState::Failed && f != DeliveryState::Delivered =>
        {
            Some(usage_names::CALLBACKS_FAILED)
        }
        _ => None,
    }
}

#[async_trait]
impl UsageStore for MemoryOutbox {
    async fn days(
        &self,
        tenant_id: &TenantId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, Counters>, StoreError> {
        let st = self.lock();
        let mut out: BTreeMap<NaiveDate, Counters> = BTreeMap::new();
        for (b, c) in &st.usage {
            if &b.tenant_id == tenant_id && b.day >= from && b.day <= to {
                out.entry(b.day).or_default().merge(c);
            }
        }
        Ok(out)
    }
}
