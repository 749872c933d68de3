//! The idempotency steps every POST shares (DESIGN §4): parse the key, claim it with the
//! request's fingerprint, and afterwards either store the answer or release the claim.

use super::fingerprint::fingerprint;
use super::{Orchestrator, Reply};
use crate::domain::{CreateSteps, IdempotencyKey, PaymentId};
use crate::error::ApiError;
use crate::ports::{ClaimOutcome, ClaimRequest, Lease, StoredResponse, Tenant};
use chrono::{DateTime, Utc};

/// Parses the `Idempotency-Key` header (400 when missing or malformed).
pub(crate) fn parse_key(header: Option<&str>) -> Result<IdempotencyKey, ApiError> {
    let raw = header.ok_or_else(|| {
        ApiError::IdempotencyKeyInvalid("Idempotency-Key header is required on POST".into())
    })?;
    IdempotencyKey::parse(raw).map_err(|e| ApiError::IdempotencyKeyInvalid(e.to_string()))
}

impl Orchestrator {
    /// Claims `key` for a POST to `path` with `body`. `Ok(Err(reply))` is a stored answer to
    /// replay; 409 and 422 come back as errors. The lease's id (a ULID) is the id of whatever
    /// the request creates, fixed here so every retry reuses it. `steps` are the first durable
    /// steps, written by the claim itself (a takeover keeps the old holder's instead).
    pub(crate) async fn claim_key(
        &self,
        tenant: &Tenant,
        key: &IdempotencyKey,
        path: &str,
        body: &[u8],
        deadline: Option<DateTime<Utc>>,
        steps: CreateSteps,
    ) -> Result<Result<Lease, Reply>, ApiError> {
        let now = self.clock.now();
        let claim = ClaimRequest {
            tenant_id: tenant.id.clone(),
            key: key.clone(),
            fingerprint: fingerprint("POST", path, body),
            candidate_payment_id: PaymentId::generate(),
            now,
            in_flight_until: self.request_deadline(deadline, now),
            expires_at: now + self.config.idempotency_retention,
            steps,
            rate: self.rate_charge(tenant, now),
            // A create keeps its body on the claim: if its holder dies and no retry comes, the
            // sweeper settles it from there.
            sweep_body: (path == super::PAYMENTS_PATH)
                .then(|| std::str::from_utf8(body).ok().map(str::to_string))
                .flatten(),
        };
        match self.idempotency.claim(&claim).await? {
            ClaimOutcome::Acquired(lease) => Ok(Ok(lease)),
            ClaimOutcome::Replay(r) => Ok(Err(Reply {
                status: r.status,
                body: r.body,
                replayed: true,
            })),
            ClaimOutcome::InFlight => Err(ApiError::IdempotencyKeyInUse),
            ClaimOutcome::FingerprintMismatch => Err(ApiError::IdempotencyKeyReused),
            ClaimOutcome::RateLimited => {
                let (limit, window_secs, retry_after) = claim
                    .rate
                    .as_ref()
                    .map(|r| (r.limit, r.window_secs, r.retry_after(now)))
                    .unwrap_or((0, super::rate_limit::WINDOW_SECS, 1));
                tracing::info!(tenant = %tenant.id, limit, "rate limited");
                Err(ApiError::RateLimited {
                    limit,
                    window_secs,
                    retry_after,
                })
            }
        }
    }

    /// Stores the answer for replay and returns it. A failed store is only logged: what the
    /// request did is recorded in its resource, and a retry after the in-flight expiry takes
    /// over, finds it and completes. Nothing is done twice, so the caller answers normally.
    pub(crate) async fn complete_key(
        &self,
        tenant: &Tenant,
        key: &IdempotencyKey,
        lease: &Lease,
        answer: StoredResponse,
    ) -> Reply {
        let retain = self.clock.now() + self.config.idempotency_retention;
        if let Err(e) = self
            .idempotency
            .complete(&tenant.id, key, lease, &answer, retain)
            .await
        {
            tracing::warn!(error = %e, "idempotency completion not stored");
        }
        Reply {
            status: answer.status,
            body: answer.body,
            replayed: false,
        }
    }

    /// Frees the key after a failure that did nothing, then returns the error to answer. A
    /// taken-over claim is never released: its crashed predecessor may have acted under this
    /// id, and releasing would let the next claim pick a new id (and so a new gateway key). It
    /// expires instead, and the next takeover reuses the same id.
    pub(crate) async fn release_key(
        &self,
        tenant: &Tenant,
        key: &IdempotencyKey,
        lease: &Lease,
        error: ApiError,
    ) -> ApiError {
        if lease.takeover {
            return error;
        }
        self.forget_claim(tenant, key, lease).await;
        error
    }

    /// Frees the key when the caller has proven, from the durable steps, that no gateway holds
    /// a live charge under this payment id — even after a takeover (its predecessor's steps
    /// were read and settled), so a retry is not locked out until the claim expires.
    pub(crate) async fn release_proven(
        &self,
        tenant: &Tenant,
        key: &IdempotencyKey,
        lease: &Lease,
        error: ApiError,
    ) -> ApiError {
        self.forget_claim(tenant, key, lease).await;
        error
    }

    /// [`release_proven`](Self::release_proven) for a create no gateway could take: the claim
    /// goes and the refusal is counted in the tenant's usage (`payments.refused`, on the day
    /// of the refusal) in the same write, so an outage's refused requests are visible.
    pub(crate) async fn release_refused(
        &self,
        tenant: &Tenant,
        key: &IdempotencyKey,
        lease: &Lease,
        error: ApiError,
    ) -> ApiError {
        let refused = crate::domain::UsageDelta::one(
            &tenant.id,
            self.clock.now(),
            key.as_str(),
            crate::domain::usage_names::REFUSED,
        );
        if let Err(e) = self
            .idempotency
            .release_refused(&tenant.id, key, lease, &refused)
            .await
        {
            tracing::warn!(error = %e, "idempotency release failed; the claim stays until a retry (or, for a create, the sweeper) takes it over");
        }
        error
    }

    async fn forget_claim(&self, tenant: &Tenant, key: &IdempotencyKey, lease: &Lease) {
        if let Err(e) = self.idempotency.release(&tenant.id, key, lease).await {
            tracing::warn!(error = %e, "idempotency release failed; the claim stays until a retry (or, for a create, the sweeper) takes it over");
        }
    }
}
