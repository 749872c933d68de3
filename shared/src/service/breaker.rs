//! The circuit breakers as one instance sees them: a short-lived cache of the shared records,
//! successes of a clean window counted in memory, and the calls into [`BreakerStore`] that turn
//! outcomes into transitions (DESIGN §4).
//!
//! Cost on the hot path: a healthy gateway costs one read per cache period per instance and no
//! writes. A failure, or any outcome while the window holds a failure, is one atomic addition
//! (carrying the successes counted in memory since the last write). Transitions and probe claims
//! are single conditional writes. A store that cannot be reached never blocks a payment: the
//! breaker then lets calls through (fails open) and logs.

use crate::clock::Clock;
use crate::domain::{BreakerConfig, BreakerRecord, BreakerState, TenantId, Transition};
use crate::ports::{BreakerKey, BreakerStore, ErrorClass, StoreError};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// Whether a gateway may be called now.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Call it, then report the outcome with [`Breakers::record`].
    Call(Permit),
    /// Open (or half-open with every probe slot taken): do not call.
    Rejected(BreakerState),
}

/// The right to make one call, and what to do with its outcome. Every permit ends in
/// [`Breakers::record`] (a call was made) or [`Breakers::release`] (none was). A half-open
/// probe's permit holds a probe slot; if it is dropped without either (a path that forgot, a
/// request future dropped mid-way), `Drop` frees the slot — here at once, in the store by a
/// spawned write — so the slot never waits out its lease while no probe is in flight.
#[derive(Debug)]
pub(crate) struct Permit {
    key: BreakerKey,
    kind: PermitKind,
    slot: Option<ProbeSlot>,
}

/// A claimed half-open probe slot, and how to give it back.
struct ProbeSlot {
    store: Arc<dyn BreakerStore>,
    local: Arc<Mutex<Local>>,
    generation: u64,
    probe: usize,
    lease_until: i64,
}

impl std::fmt::Debug for ProbeSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeSlot")
            .field("generation", &self.generation)
            .field("probe", &self.probe)
            .field("lease_until", &self.lease_until)
            .finish_non_exhaustive()
    }
}

impl ProbeSlot {
    /// Marks the slot free in this instance's cached record (if that still shows our lease),
    /// so the next caller here may claim it without waiting for the cache to expire.
    fn free_locally(&self, key: &BreakerKey) {
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = local.cache.get_mut(key) {
            if c.record.generation == self.generation {
                if let Some(lease) = c.record.probes.get_mut(self.probe) {
                    if *lease == self.lease_until {
                        *lease = 0;
                    }
                }
            }
        }
    }

    /// Gives the slot back in the store (conditional on our lease) and here.
    async fn release(self, key: &BreakerKey) {
        self.free_locally(key);
        match self
            .store
            .release_probe(key, self.generation, self.probe, self.lease_until)
            .await
        {
            Ok(_) => {}
            // The lease runs out on its own; only the next probe is delayed.
            Err(e) => {
                tracing::warn!(tenant = %key.tenant_id, gateway = %key.gateway, error = %e, "probe slot not released; it frees itself when its lease ends");
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else { return };
        tracing::warn!(tenant = %self.key.tenant_id, gateway = %self.key.gateway, "probe permit dropped without an outcome; releasing its slot");
        slot.free_locally(&self.key);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let key = self.key.clone();
            rt.spawn(async move { slot.release(&key).await });
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum PermitKind {
    /// Closed: the outcome goes into the window of `generation`.
    Normal { generation: u64 },
    /// Half-open probe: the outcome closes or reopens the breaker.
    Probe { generation: u64, opens: u32 },
    /// The store could not be read: nothing is recorded.
    Unjudged,
}

struct Cached {
    record: BreakerRecord,
    fetched_ms: i64,
}

/// Successes of a clean window not yet written, per window bucket.
#[derive(Default)]
struct Pending {
    generation: u64,
    buckets: VecDeque<(i64, u64)>,
}

#[derive(Default)]
struct Local {
    cache: HashMap<BreakerKey, Cached>,
    pending: HashMap<BreakerKey, Pending>,
}

/// Every (tenant, gateway) breaker, for one process.
pub struct Breakers {
    store: Arc<dyn BreakerStore>,
    clock: Arc<dyn Clock>,
    config: BreakerConfig,
    /// Shared with the probe permits, which free their slot here when given back.
    local: Arc<Mutex<Local>>,
}

/// An outcome counts against a gateway only when the gateway itself failed; a decline or a
/// rejected request shows it working.
pub(crate) fn counts_as_failure(class: Option<ErrorClass>) -> bool {
    matches!(
        class,
        Some(ErrorClass::Unavailable | ErrorClass::Ambiguous | ErrorClass::Misconfigured)
    )
}

impl Breakers {
    /// Breakers on a store, judged with `config`.
    pub fn new(store: Arc<dyn BreakerStore>, clock: Arc<dyn Clock>, config: BreakerConfig) -> Self {
        Self {
            store,
            clock,
            config,
            local: Arc::new(Mutex::new(Local::default())),
        }
    }

    /// The knobs in force.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    fn local(&self) -> MutexGuard<'_, Local> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Milliseconds since the epoch on this service's clock.
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// The record from the cache if fresh enough, else from the store. `None` when the store
    /// failed (the caller fails open).
    async fn current(&self, key: &BreakerKey, now_ms: i64) -> Option<BreakerRecord> {
        let ttl = i64::try_from(self.config.cache_ttl.as_millis()).unwrap_or(i64::MAX);
        if let Some(c) = self.local().cache.get(key) {
            if now_ms.saturating_sub(c.fetched_ms) < ttl && c.fetched_ms <= now_ms {
                return Some(c.record.clone());
            }
        }
        match self.store.load(key).await {
            Ok(record) => {
                self.remember(key, record.clone(), now_ms);
                Some(record)
            }
            Err(e) => {
                tracing::warn!(tenant = %key.tenant_id, gateway = %key.gateway, error = %e, "breaker state unreadable; letting the call through");
                None
            }
        }
    }

    fn remember(&self, key: &BreakerKey, record: BreakerRecord, now_ms: i64) {
        self.local().cache.insert(
            key.clone(),
            Cached {
                record,
                fetched_ms: now_ms,
            },
        );
    }

    fn forget(&self, key: &BreakerKey) {
        self.local().cache.remove(key);
    }

    /// Decides whether `gateway` may be called for `tenant` now. In half-open, the caller must
    /// first win a probe slot by conditional write; losing every slot means someone else probes.
    pub(crate) async fn admit(&self, tenant: &TenantId, gateway: &str) -> Admission {
        let key = BreakerKey::new(tenant, gateway);
        let now = self.now_ms();
        let Some(record) = self.current(&key, now).await else {
            return Admission::Call(Permit {
                key,
                kind: PermitKind::Unjudged,
                slot: None,
            });
        };
        match record.state_at(now) {
            BreakerState::Closed => Admission::Call(Permit {
                key,
                kind: PermitKind::Normal {
                    generation: record.generation,
                },
                slot: None,
            }),
            BreakerState::Open => Admission::Rejected(BreakerState::Open),
            BreakerState::HalfOpen => self.try_probe(key, &record, now).await,
        }
    }

    async fn try_probe(&self, key: BreakerKey, record: &BreakerRecord, now: i64) -> Admission {
        let lease_until = now.saturating_add(self.config.probe_lease_ms());
        for probe in 0..self.config.half_open_probes {
            if !record.probe_claimable(record.generation, probe, now) {
                continue;
            }
            let won = self
                .store
                .claim_probe(&key, record.generation, probe, now, lease_until)
                .await;
            // Remember the slot as taken either way: by us, or by a peer whose lease we don't
            // know (the cache expires within a second and the store has the truth).
            if let Some(c) = self.local().cache.get_mut(&key) {
                if let Some(lease) = c.record.probes.get_mut(probe) {
                    *lease = lease_until;
                }
            }
            match won {
                Ok(true) => {
                    tracing::info!(tenant = %key.tenant_id, gateway = %key.gateway, probe, "breaker half-open: probing");
                    return Admission::Call(Permit {
                        key,
                        kind: PermitKind::Probe {
                            generation: record.generation,
                            opens: record.opens,
                        },
                        slot: Some(ProbeSlot {
                            store: self.store.clone(),
                            local: self.local.clone(),
                            generation: record.generation,
                            probe,
                            lease_until,
                        }),
                    });
                }
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(gateway = %key.gateway, error = %e, "breaker probe claim failed; letting the call through");
                    return Admission::Call(Permit {
                        key,
                        kind: PermitKind::Unjudged,
                        slot: None,
                    });
                }
            }
        }
        Admission::Rejected(BreakerState::HalfOpen)
    }

    /// Gives back a permit whose call was not made (no time left, the step write failed, …):
    /// nothing is counted, and a probe's slot is freed at once for the next caller instead of
    /// staying leased (which would keep the breaker from being probed until the lease ends).
    pub(crate) async fn release(&self, mut permit: Permit) {
        if let Some(slot) = permit.slot.take() {
            tracing::info!(tenant = %permit.key.tenant_id, gateway = %permit.key.gateway, probe = slot.probe, "breaker half-open: probe not made, slot released");
            slot.release(&permit.key).await;
        }
    }

    /// Reports the outcome of a permitted call (`None` = success, else the error class).
    pub(crate) async fn record(&self, mut permit: Permit, outcome: Option<ErrorClass>) {
        let failure = counts_as_failure(outcome);
        let now = self.now_ms();
        // The outcome settles a probe's slot: the transition below frees every slot.
        permit.slot = None;
        let key = permit.key.clone();
        match permit.kind {
            PermitKind::Unjudged => {}
            PermitKind::Probe { generation, opens } => {
                let to = if failure {
                    Transition::open(now, opens, &self.config)
                } else {
                    Transition::close()
                };
                self.transition(&key, generation, to, now).await;
            }
            PermitKind::Normal { generation } => {
                if let Err(e) = self.count(&key, generation, failure, now).await {
                    tracing::warn!(gateway = %key.gateway, error = %e, "breaker outcome not recorded");
                }
            }
        }
    }

    async fn count(
        &self,
        key: &BreakerKey,
        generation: u64,
        failure: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let (slot, bucket) = self.config.bucket_of(now);
        let oldest = self.config.window_start(now);
        let earlier_successes = {
            let mut local = self.local();
            let dirty = local
                .cache
                .get(key)
                .filter(|c| c.record.generation == generation)
                .is_some_and(|c| c.record.window_dirty(now, &self.config));
            let pending = local.pending.entry(key.clone()).or_default();
            if pending.generation != generation {
                *pending = Pending {
                    generation,
                    buckets: VecDeque::new(),
                };
            }
            while pending.buckets.front().is_some_and(|(b, _)| *b < oldest) {
                pending.buckets.pop_front();
            }
            if !failure && !dirty {
                // A success in a clean window: counted here only, written with the next
                // failure so the rate stays right without a write per healthy call.
                match pending.buckets.back_mut() {
                    Some((b, n)) if *b == bucket => *n += 1,
                    _ => pending.buckets.push_back((bucket, 1)),
                }
                return Ok(());
            }
            let n: u64 = pending.buckets.iter().map(|(_, n)| n).sum();
            pending.buckets.clear();
            n
        };
        let added = self
            .store
            .add(
                key,
                generation,
                slot,
                bucket,
                earlier_successes + 1,
                u64::from(failure),
            )
            .await?;
        match added {
            None => self.forget(key),
            Some(record) if failure && record.should_open(now, &self.config) => {
                let (calls, failures) = record.totals(now, &self.config);
                tracing::warn!(tenant = %key.tenant_id, gateway = %key.gateway, calls, failures, "failure rate over threshold: opening the breaker");
                let to = Transition::open(now, record.opens, &self.config);
                self.transition(key, record.generation, to, now).await;
            }
            Some(record) => self.remember(key, record, now),
        }
        Ok(())
    }

    async fn transition(&self, key: &BreakerKey, generation: u64, to: Transition, now: i64) {
        let opening = to.phase == crate::domain::Phase::Open;
        match self.store.transition(key, generation, to).await {
            Ok(Some(record)) => {
                if opening {
                    crate::telemetry::count(
                        crate::telemetry::CIRCUIT_BREAKER_TRIGGERED,
                        Some(&key.gateway),
                    );
                }
                tracing::warn!(tenant = %key.tenant_id, gateway = %key.gateway, state = ?record.state_at(now), open_until_ms = record.open_until_ms, "breaker transition");
                self.remember(key, record, now);
            }
            // A peer moved it first; read its result next time.
            Ok(None) => self.forget(key),
            Err(e) => {
                tracing::warn!(gateway = %key.gateway, error = %e, "breaker transition not stored");
                self.forget(key);
            }
        }
    }

    /// The stored record, read fresh (the operator view), refreshing this instance's cache.
    pub(crate) async fn read_fresh(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<BreakerRecord, StoreError> {
        let key = BreakerKey::new(tenant, gateway);
        let record = self.store.load(&key).await?;
        self.remember(&key, record.clone(), self.now_ms());
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemoryBreakerStore;
    use crate::clock::ManualClock;
    use crate::domain::{BreakerConfig, Transition};
    use async_trait::async_trait;
    use chrono::{TimeZone, Utc};

    /// A store that is always down.
    struct Down;

    #[async_trait]
    impl BreakerStore for Down {
        async fn load(&self, _: &BreakerKey) -> Result<BreakerRecord, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn add(
            &self,
            _: &BreakerKey,
            _: u64,
            _: usize,
            _: i64,
            _: u64,
            _: u64,
        ) -> Result<Option<BreakerRecord>, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn transition(
            &self,
            _: &BreakerKey,
            _: u64,
            _: Transition,
        ) -> Result<Option<BreakerRecord>, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn claim_probe(
            &self,
            _: &BreakerKey,
            _: u64,
            _: usize,
            _: i64,
            _: i64,
        ) -> Result<bool, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
        async fn release_probe(
            &self,
            _: &BreakerKey,
            _: u64,
            _: usize,
            _: i64,
        ) -> Result<bool, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
    }

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
                .single()
                .expect("instant"),
        ))
    }

    fn tenant() -> TenantId {
        TenantId::parse("ten_a").expect("tenant id")
    }

    #[tokio::test]
    async fn an_unreachable_store_lets_calls_through() {
        let b = Breakers::new(Arc::new(Down), clock(), BreakerConfig::default());
        for _ in 0..20 {
            let Admission::Call(permit) = b.admit(&tenant(), "stripe").await else {
                panic!("a breaker that cannot read its state must not block payments");
            };
            b.record(permit, Some(ErrorClass::Unavailable)).await;
        }
    }

    /// Breakers on a memory store with EFI's breaker opened and its cool-down over: half-open,
    /// one probe slot.
    async fn half_open() -> (Breakers, Arc<MemoryBreakerStore>) {
        let store = Arc::new(MemoryBreakerStore::default());
        let clock = clock();
        let config = BreakerConfig::default();
        let key = BreakerKey::new(&tenant(), "efi");
        let now = clock.now().timestamp_millis();
        store
            .transition(&key, 0, Transition::open(now, 0, &config))
            .await
            .unwrap()
            .expect("opened");
        clock.advance(chrono::Duration::seconds(31));
        (Breakers::new(store.clone(), clock, config), store)
    }

    async fn admits(b: &Breakers) -> Option<Permit> {
        match b.admit(&tenant(), "efi").await {
            Admission::Call(p) => Some(p),
            Admission::Rejected(_) => None,
        }
    }

    #[tokio::test]
    async fn a_probe_not_made_gives_its_slot_back() {
        let (b, store) = half_open().await;
        let probe = admits(&b).await.expect("the first caller probes");
        assert!(admits(&b).await.is_none(), "one probe at a time");
        b.release(probe).await;
        let key = BreakerKey::new(&tenant(), "efi");
        assert_eq!(
            store.load(&key).await.unwrap().probes[0],
            0,
            "freed in the store"
        );
        // The next caller (this instance, cache still fresh) probes, and its success closes.
        let next = admits(&b).await.expect("the slot is free again");
        b.record(next, None).await;
        assert_eq!(
            store.load(&key).await.unwrap().state_at(b.now_ms()),
            BreakerState::Closed
        );
    }

    #[tokio::test]
    async fn a_dropped_probe_permit_frees_its_slot() {
        let (b, store) = half_open().await;
        let probe = admits(&b).await.expect("the first caller probes");
        drop(probe);
        // The store write is spawned; let it run.
        tokio::task::yield_now().await;
        let key = BreakerKey::new(&tenant(), "efi");
        assert_eq!(
            store.load(&key).await.unwrap().probes[0],
            0,
            "freed in the store"
        );
        assert!(admits(&b).await.is_some(), "the slot is free again");
    }

    #[tokio::test]
    async fn a_release_never_frees_another_probers_lease() {
        let (b, store) = half_open().await;
        let key = BreakerKey::new(&tenant(), "efi");
        let probe = admits(&b).await.expect("probe");
        let lease = store.load(&key).await.unwrap().probes[0];
        assert!(
            !store.release_probe(&key, 1, 0, lease + 1).await.unwrap(),
            "not our lease"
        );
        assert!(
            !store.release_probe(&key, 0, 0, lease).await.unwrap(),
            "old generation"
        );
        assert_eq!(store.load(&key).await.unwrap().probes[0], lease);
        b.record(probe, Some(ErrorClass::Unavailable)).await;
        assert_eq!(
            store.load(&key).await.unwrap().state_at(b.now_ms()),
            BreakerState::Open,
            "a failed probe reopens"
        );
    }

    #[tokio::test]
    async fn clean_window_successes_are_written_with_the_first_failure() {
        let store = Arc::new(MemoryBreakerStore::default());
        let b = Breakers::new(store.clone(), clock(), BreakerConfig::default());
        let key = BreakerKey {
            tenant_id: tenant(),
            gateway: "efi".into(),
        };
        for _ in 0..7 {
            let Admission::Call(p) = b.admit(&tenant(), "efi").await else {
                panic!("closed");
            };
            b.record(p, None).await;
        }
        assert_eq!(
            store.load(&key).await.unwrap(),
            BreakerRecord::default(),
            "no writes"
        );
        let Admission::Call(p) = b.admit(&tenant(), "efi").await else {
            panic!("closed");
        };
        b.record(p, Some(ErrorClass::Ambiguous)).await;
        let now = b.now_ms();
        assert_eq!(
            store.load(&key).await.unwrap().totals(now, b.config()),
            (8, 1),
            "7 remembered successes + the failure"
        );
        // The window is dirty now: each further outcome is written.
        let Admission::Call(p) = b.admit(&tenant(), "efi").await else {
            panic!("closed");
        };
        b.record(p, Some(ErrorClass::Declined)).await;
        assert_eq!(
            store.load(&key).await.unwrap().totals(now, b.config()),
            (9, 1)
        );
    }
}
