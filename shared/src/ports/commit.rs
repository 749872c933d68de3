//! Storing a created payment together with the idempotency answer that names it.
//!
//! Separately these are two writes (payment insert, key completion). Where the backend has
//! transactions they are one request, which keeps a successful payment at two DynamoDB requests
//! (claim, then this) — DESIGN §6. The two-write path stays as the fallback, so a backend
//! without transactions, or a commit that lost a condition, behaves exactly as before.

use super::{Effects, Lease, StoreError, StoredResponse};
use crate::domain::{IdempotencyKey, Payment, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The completion of an idempotency key held under `lease`.
#[derive(Debug, Clone)]
pub struct KeyCompletion<'a> {
    pub tenant_id: &'a TenantId,
    pub key: &'a IdempotencyKey,
    pub lease: &'a Lease,
    pub response: &'a StoredResponse,
    pub expires_at: DateTime<Utc>,
}

/// Writes a new payment, its effects (merchant events, usage) and its idempotency completion
/// atomically.
#[async_trait]
pub trait CreateCommit: Send + Sync {
    /// Both writes or neither. `Ok(false)`: a condition failed (the payment id exists, or the
    /// lease is no longer held) and nothing was written; the caller takes the two-write path,
    /// which sorts out which one it was.
    async fn insert_completing(
        &self,
        payment: &Payment,
        effects: &Effects,
        completion: &KeyCompletion<'_>,
    ) -> Result<bool, StoreError>;
}
