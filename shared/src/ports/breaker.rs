//! Shared circuit-breaker state (DESIGN §4): one record per (tenant, gateway), changed only by
//! atomic additions and generation-checked conditional writes, so instances never lose each
//! other's updates and exactly one of them wins each transition or probe slot.

use super::StoreError;
use crate::domain::{BreakerRecord, TenantId, Transition};
use async_trait::async_trait;

/// Which breaker: each tenant's traffic to a gateway is judged on its own (its credentials,
/// its account limits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BreakerKey {
    pub tenant_id: TenantId,
    pub gateway: String,
}

impl BreakerKey {
    /// The breaker of `tenant`'s traffic to `gateway`.
    pub fn new(tenant: &TenantId, gateway: &str) -> Self {
        Self {
            tenant_id: tenant.clone(),
            gateway: gateway.to_string(),
        }
    }
}

/// Stores breaker records. Adapters must behave identically; the contract suite in `tests/`
/// runs against each.
#[async_trait]
pub trait BreakerStore: Send + Sync {
    /// The record, or the default (closed, generation 0) if none was ever written.
    async fn load(&self, key: &BreakerKey) -> Result<BreakerRecord, StoreError>;

    /// Adds outcomes to window bucket `bucket_ms` in ring slot `slot`, following
    /// [`BreakerRecord::add`], if the record is still at `generation`. Returns the record after
    /// the addition, or `None` when a transition happened in between (the counts belong to a
    /// window that no longer exists and are dropped).
    async fn add(
        &self,
        key: &BreakerKey,
        generation: u64,
        slot: usize,
        bucket_ms: i64,
        calls: u64,
        failures: u64,
    ) -> Result<Option<BreakerRecord>, StoreError>;

    /// Moves the record from `generation` to the next one with `to` applied as
    /// [`BreakerRecord::apply`] does. `None` when another instance transitioned first.
    async fn transition(
        &self,
        key: &BreakerKey,
        generation: u64,
        to: Transition,
    ) -> Result<Option<BreakerRecord>, StoreError>;

    /// Claims probe slot `probe` until `lease_until_ms` when
    /// [`BreakerRecord::probe_claimable`] holds at `now_ms`. False when someone else holds it
    /// or the record moved on.
    async fn claim_probe(
        &self,
        key: &BreakerKey,
        generation: u64,
        probe: usize,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Frees probe slot `probe` if it still holds the lease `lease_until_ms` claimed at
    /// `generation` (a prober that made no call gives its slot back). False when the lease is
    /// not there any more (expired and taken by another, or the record moved on).
    async fn release_probe(
        &self,
        key: &BreakerKey,
        generation: u64,
        probe: usize,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError>;
}
