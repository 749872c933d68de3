//! Durable idempotency keys (DESIGN §4): claim, complete, release.

use super::StoreError;
use crate::domain::{CreateSteps, IdempotencyKey, PaymentId, TenantId, UsageDelta};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The response stored for replay: status code and body, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// A claim attempt. `candidate_payment_id` is used only if the key is new; a takeover keeps the
/// id fixed by the first claim, so every gateway call for this key carries the same
/// deterministic gateway-side key.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    pub tenant_id: TenantId,
    pub key: IdempotencyKey,
    pub fingerprint: String,
    pub candidate_payment_id: PaymentId,
    pub now: DateTime<Utc>,
    /// Until when this claim holds the key while in flight (the Lambda deadline). After it, a
    /// retry may take the claim over, so a crashed invocation never locks a key.
    pub in_flight_until: DateTime<Utc>,
    /// When a *completed* record stops counting (24 h); a record still in flight never expires
    /// (see [`IdempotencyStore`]). DynamoDB's TTL deletes lazily, so adapters compare this
    /// timestamp themselves.
    pub expires_at: DateTime<Utc>,
    /// The create path's first durable step (the first gateway's intent), written by the claim
    /// itself so the happy path needs no extra write. Empty for requests without gateway steps.
    pub steps: CreateSteps,
    /// The tenant's rate limit, charged by the same atomic write that claims a new key (so a
    /// successful request needs no extra request, and a refused one stores nothing). Replays
    /// and takeovers are not charged: they repeat a request that was.
    pub rate: Option<RateCharge>,
    /// The create's request body, kept on an unsettled claim so the sweeper can settle it when
    /// no retry comes (the claim then joins the stale-claims index). `None` for claims the
    /// sweeper leaves alone (refunds, cancels: their holders' retries settle them).
    pub sweep_body: Option<String>,
}

/// A claim whose holder's deadline passed without a completion, as the sweeper finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleClaim {
    pub tenant_id: TenantId,
    pub key: IdempotencyKey,
    pub in_flight_until: DateTime<Utc>,
}

/// A stale claim the sweeper took over: its lease (with the crashed holder's steps) and the
/// request body the claim kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    pub lease: Lease,
    pub body: String,
    /// The previous holder's deadline: the last moment it (or a takeover before it) could
    /// have sent a create. A look-up that finds nothing proves nothing until well after it.
    pub previous_in_flight_until: DateTime<Utc>,
}

/// One unit of a tenant's fixed-window rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCharge {
    /// The window this request falls in (its start).
    pub window_start: DateTime<Utc>,
    /// The window's length in seconds.
    pub window_secs: u32,
    /// Requests allowed per window.
    pub limit: u32,
}

impl RateCharge {
    /// Seconds until the window ends (at least 1), for `Retry-After`.
    pub fn retry_after(&self, now: DateTime<Utc>) -> u64 {
        let end = self.window_start + chrono::Duration::seconds(i64::from(self.window_secs));
        u64::try_from((end - now).num_seconds()).unwrap_or(0).max(1)
    }
}

/// Proof of holding a key; completing or releasing needs it, so a holder that lost its claim to
/// a takeover cannot overwrite the new holder's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub payment_id: PaymentId,
    pub token: String,
    /// True when an earlier in-flight claim had expired and was taken over.
    pub takeover: bool,
    /// The durable steps as of acquiring: the claim's own on a fresh key, the crashed holder's
    /// (read atomically with the takeover) on a takeover.
    pub steps: CreateSteps,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The caller now holds the key.
    Acquired(Lease),
    /// Same request already completed: replay this.
    Replay(StoredResponse),
    /// Same request still in flight under an unexpired claim.
    InFlight,
    /// The key was used with a different request.
    FingerprintMismatch,
    /// A new key, but the tenant's window is full: nothing was stored.
    RateLimited,
}

/// Stores idempotency records with conditional writes. Adapters must behave identically; the
/// contract suite in `tests/` runs against each.
///
/// **Time-safe rule**: a record that is still in flight (no stored response) is never replaced
/// by a new claim, however old: its gateway may hold a charge under its payment id, so a later
/// claim with the same key takes it over (same payment id) instead. Such a record carries no TTL
/// attribute, so DynamoDB's TTL cannot delete it before it is settled; a takeover extends its
/// `expires_at`. Only a *completed* record expires (24 h after completion): a key reused after
/// that is a new request.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims the key or reports why not.
    async fn claim(&self, req: &ClaimRequest) -> Result<ClaimOutcome, StoreError>;

    /// Stores the final response, if the lease is still held. `StoreError::Conflict` means it
    /// was taken over in the meantime.
    async fn complete(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
        response: &StoredResponse,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Replaces the durable steps of an in-flight claim, if the lease is still held
    /// (`StoreError::Conflict` otherwise: another holder took over, so stop calling gateways).
    async fn record_steps(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
        steps: &CreateSteps,
    ) -> Result<(), StoreError>;

    /// Create claims whose holder's deadline (`in_flight_until`) is at or before `before` and
    /// that were never completed or released, oldest first, at most `limit`. Served by a sparse
    /// index the claim itself writes, so the create path pays no extra request for it.
    async fn stale_claims(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StaleClaim>, StoreError>;

    /// Takes over a stale create claim for the sweeper (the same conditional takeover a retry
    /// makes: old lease, still in flight, deadline passed), holding it until `in_flight_until`.
    /// `None` when it is no longer stale (completed, released or taken over meanwhile).
    async fn adopt(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
        in_flight_until: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<Adopted>, StoreError>;

    /// Forgets the claim (infrastructure failure before any gateway call), if the lease is still held.
    async fn release(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
    ) -> Result<(), StoreError>;

    /// [`release`](Self::release) for a create refused because no gateway could take it,
    /// counting the refusal (`refused`, a `payments.refused` delta) in the same write: a
    /// refused request leaves no payment, and without this it would leave no trace in usage.
    /// A store that keeps no usage counters only releases.
    async fn release_refused(
        &self,
        tenant_id: &TenantId,
        key: &IdempotencyKey,
        lease: &Lease,
        refused: &UsageDelta,
    ) -> Result<(), StoreError> {
        let _ = refused;
        self.release(tenant_id, key, lease).await
    }
}
