//! In-memory idempotency store with the DynamoDB adapter's semantics (one lock = one
//! conditional write).

use crate::domain::{CreateSteps, IdempotencyKey, PaymentId, TenantId};
use crate::ports::{
    ClaimOutcome, ClaimRequest, IdempotencyStore, Lease, StoreError, StoredResponse,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone)]
pub(crate) struct Record {
    fingerprint: String,
    payment_id: PaymentId,
    pub(crate) lease: String,
    in_flight_until: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) response: Option<StoredResponse>,
    steps: CreateSteps,
}

/// Idempotency records in a map, for the dev server and unit tests.
#[derive(Debug, Default)]
pub struct MemoryIdempotencyStore {
    records: Mutex<HashMap<(TenantId, String), Record>>,
    /// Rate-limit windows: requests charged per (tenant, window start), taken under the
    /// records' lock so the charge and the claim are one step, as in the DynamoDB transaction.
    windows: Mutex<HashMap<(TenantId, i64), u32>>,
}

impl MemoryIdempotencyStore {
    /// Number of records held (expired ones included, as DynamoDB keeps them until TTL runs).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        if let Some(rec) = map.get_mut(&k).filter(|r| r.expires_at > req.now) {
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
}
