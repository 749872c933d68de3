//! In-memory idempotency store with the DynamoDB adapter's semantics (one lock = one
//! conditional write).

use super::MemoryOutbox;
use crate::domain::{CreateSteps, IdempotencyKey, PaymentId, TenantId, UsageDelta};
use crate::ports::{
    Adopted, ClaimOutcome, ClaimRequest, IdempotencyStore, Lease, StaleClaim, StoreError,
    StoredResponse,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub(crate) struct Record {
    fingerprint: String,
    payment_id: PaymentId,
    pub(crate) lease: String,
    in_flight_until: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) response: Option<StoredResponse>,
    steps: CreateSteps,
    /// The create's body, for the sweeper (`None` once irrelevant or for other claims).
    sweep_body: Option<String>,
}

/// Idempotency records in a map, for the dev server and unit tests.
#[derive(Debug, Default)]
pub struct MemoryIdempotencyStore {
    records: Mutex<HashMap<(TenantId, String), Record>>,
    /// Rate-limit windows: requests charged per (tenant, window start), taken under the
    /// records' lock so the charge and the claim are one step, as in the DynamoDB transaction.
    windows: Mutex<HashMap<(TenantId, i64), u32>>,
    /// Where refused creates are counted (`payments.refused`); unset: not counted.
    refusals: std::sync::OnceLock<Arc<MemoryOutbox>>,
}

impl MemoryIdempotencyStore {
    /// Counts the refused creates it releases in the usage held by `outbox` (set once).
    pub fn count_refusals_in(&self, outbox: Arc<MemoryOutbox>) {
        let _ = self.refusals.set(outbox);
    }

    /// Number of records held (expired ones included, as DynamoDB keeps them until TTL runs).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What DynamoDB's TTL would do at `now`: deletes the records whose `ttl` has passed. Only
    /// completed records carry one (an unsettled claim is never deleted), so this removes
    /// exactly those completed records past their retention. Returns how many went.
    pub fn expire_by_ttl(&self, now: DateTime<Utc>) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, r| r.response.is_none() || r.expires_at > now);
        before - map.len()
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, String), Record>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Fresh random lease token.
pub(crate) fn new_lease_token() -> String {
    ulid::Ulid::new().to_string()
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotencyStore {
    async fn claim(&self, req: &ClaimRequest) -> Result<ClaimOutcome, StoreError> {
        let mut map = self.lock();
        let k = (req.tenant_id.clone(), req.key.as_str().to_string());
        // An unsettled record never expires (its gateway may hold a charge); a completed one
        // counts until its retention ends.
        if let Some(rec) = map
            .get_mut(&k)
            .filter(|r| r.response.is_none() || r.expires_at > req.now)
        {
            if rec.fingerprint != req.fingerprint {
                return Ok(ClaimOutcome::FingerprintMismatch);
            }
            if let Some(resp) = &rec.response {
                return Ok(ClaimOutcome::Replay(resp.clone()));
            }
            if rec.in_flight_until > req.now {
                return Ok(ClaimOutcome::InFlight);
            }
            rec.lease = new_lease_token();
            rec.in_flight_until = req.in_flight_until;
            rec.expires_at = rec.expires_at.max(req.expires_at);
            return Ok(ClaimOutcome::Acquired(Lease {
                payment_id: rec.payment_id.clone(),
                token: rec.lease.clone(),
                takeover: true,
                steps: rec.steps.clone(),
            }));
        }
        if let Some(rate) = &req.rate {
            let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
            let used = windows
                .entry((req.tenant_id.clone(), rate.window_start.timestamp()))
                .or_insert(0);
            if *used >= rate.limit {
                return Ok(ClaimOutcome::RateLimited);
            }
            *used += 1;
        }
        let lease = new_lease_token();
        map.insert(
            k,
            Record {
                fingerprint: req.fingerprint.clone(),
                payment_id: req.candidate_payment_id.clone(),
                lease: lease.clone(),
                in_flight_until: req.in_flight_until,
                expires_at: req.expires_at,
                response: None,
                steps: req.steps.clone(),
                sweep_body: req.sweep_body.clone(),
            },
        );
        Ok(ClaimOutcome::Acquired(Lease {
            payment_id: req.candidate_payment_id.clone(),
            token: lease,
            takeover: false,
            steps: req.steps.clone(),
        }))
    }

    async fn complete(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
        response: &StoredResponse,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut map = self.lock();
        match map.get_mut(&(tenant_id.clone(), key.as_str().to_string())) {
            Some(rec) if rec.lease == lease.token && rec.response.is_none() => {
                rec.response = Some(response.clone());
                rec.expires_at = expires_at;
                Ok(())
            }
            _ => Err(StoreError::Conflict(
                "idempotency lease no longer held".into(),
            )),
        }
    }

    async fn record_steps(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
        steps: &CreateSteps,
    ) -> Result<(), StoreError> {
        let mut map = self.lock();
        match map.get_mut(&(tenant_id.clone(), key.as_str().to_string())) {
            Some(rec) if rec.lease == lease.token && rec.response.is_none() => {
                rec.steps = steps.clone();
                Ok(())
            }
            _ => Err(StoreError::Conflict(
                "idempotency lease no longer held".into(),
            )),
        }
    }

    async fn stale_claims(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StaleClaim>, StoreError> {
        let map = self.lock();
        let mut found: Vec<StaleClaim> = map
            .iter()
            .filter(|(_, r)| {
                r.response.is_none() && r.sweep_body.is_some() && r.in_flight_until <= before
            })
            .filter_map(|((tenant, key), r)| {
                Some(StaleClaim {
                    tenant_id: tenant.clone(),
                    key: IdempotencyKey::parse(key).ok()?,
                    in_flight_until: r.in_flight_until,
                })
            })
            .collect();
        found.sort_by_key(|c| c.in_flight_until);
        found.truncate(limit);
        Ok(found)
    }

    async fn adopt(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
        in_flight_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<Adopted>, StoreError> {
        let mut map = self.lock();
        let Some(rec) = map.get_mut(&(tenant_id.clone(), key.as_str().to_string())) else {
            return Ok(None);
        };
        let Some(body) = rec.sweep_body.clone() else {
            return Ok(None);
        };
        if rec.response.is_some() || rec.in_flight_until > now {
            return Ok(None);
        }
        let previous_in_flight_until = rec.in_flight_until;
        rec.lease = new_lease_token();
        rec.in_flight_until = in_flight_until;
        rec.expires_at = rec.expires_at.max(expires_at);
        Ok(Some(Adopted {
            previous_in_flight_until,
            lease: Lease {
                payment_id: rec.payment_id.clone(),
                token: rec.lease.clone(),
                takeover: true,
                steps: rec.steps.clone(),
            },
            body,
        }))
    }

    async fn release(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
    ) -> Result<(), StoreError> {
        let mut map = self.lock();
        let k = (tenant_id.clone(), key.as_str().to_string());
        match map.get(&k) {
            Some(rec) if rec.lease == lease.token && rec.response.is_none() => {
                map.remove(&k);
                Ok(())
            }
            _ => Err(StoreError::Conflict(
                "idempotency lease no longer held".into(),
            )),
        }
    }

    async fn release_refused(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
        refused: &UsageDelta,
    ) -> Result<(), StoreError> {
        // Released under the records' lock, counted just after it (never holding both locks,
        // so no order between them to get wrong); a lost lease counts nothing.
        let released = {
            let mut map = self.lock();
            let k = (tenant_id.clone(), key.as_str().to_string());
            match map.get(&k) {
                Some(rec) if rec.lease == lease.token && rec.response.is_none() => {
                    map.remove(&k);
                    true
                }
                _ => false,
            }
        };
        if !released {
            return Err(StoreError::Conflict(
                "idempotency lease no longer held".into(),
            ));
        }
        if let Some(outbox) = self.refusals.get() {
            outbox.lock().add_usage(Some(refused));
        }
        Ok(())
    }
}
