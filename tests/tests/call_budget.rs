//! The gateway-call budget is measured from the claim's own clock reading (issue 23, defect 6).
//! Measured from after the claim, a slow claim let the gateway call run past the claim's
//! `in_flight_until` — when a retry may already take over and resume the same create (Asaas
//! has no idempotency key: a second charge). Tokio's paused clock makes the timing exact.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use integration_tests::switchable::Switchable;
use integration_tests::{t0, tenant};
use shared::adapters::memory::{MemoryIdempotencyStore, MemoryPaymentStore, MemoryTenantStore};
use shared::api::{handle, ApiRequest};
use shared::clock::ManualClock;
use shared::domain::{CreateSteps, IdempotencyKey, PaymentMethod, TenantId};
use shared::gateways::simulator::SimulatorGateway;
use shared::ports::{
    Adopted, ClaimOutcome, ClaimRequest, GatewayRegistry, IdempotencyStore, Lease, StaleClaim,
    StoreError, StoredResponse, TenantStore,
};
use shared::service::{Orchestrator, ServiceConfig};
use std::sync::Arc;
use std::time::Duration;

/// The memory store, with a claim that takes `slow` (a DynamoDB write on a bad day).
struct SlowClaim {
    inner: MemoryIdempotencyStore,
    slow: Duration,
}

#[async_trait]
impl IdempotencyStore for SlowClaim {
    async fn claim(&self, req: &ClaimRequest) -> Result<ClaimOutcome, StoreError> {
        tokio::time::sleep(self.slow).await;
        self.inner.claim(req).await
    }
    async fn complete(
        &self,
        t: &TenantId,
        k: &IdempotencyKey,
        l: &Lease,
        r: &StoredResponse,
        e: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.complete(t, k, l, r, e).await
    }
    async fn record_steps(
        &self,
        t: &TenantId,
        k: &IdempotencyKey,
        l: &Lease,
        s: &CreateSteps,
    ) -> Result<(), StoreError> {
        self.inner.record_steps(t, k, l, s).await
    }
    async fn stale_claims(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StaleClaim>, StoreError> {
        self.inner.stale_claims(before, limit).await
    }
    async fn adopt(
        &self,
        t: &TenantId,
        k: &IdempotencyKey,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        exp: DateTime<Utc>,
    ) -> Result<Option<Adopted>, StoreError> {
        self.inner.adopt(t, k, now, until, exp).await
    }
    async fn release(&self, t: &TenantId, k: &IdempotencyKey, l: &Lease) -> Result<(), StoreError> {
        self.inner.release(t, k, l).await
    }
}

#[tokio::test(start_paused = true)]
async fn gateway_calls_end_before_the_claims_deadline_however_slow_the_claim() {
    let stripe = Switchable::new(Arc::new(SimulatorGateway::stripe()));
    stripe.set_delay(Duration::from_secs(60));
    let mut registry = GatewayRegistry::default();
    registry.register(stripe.clone());
    let tenants = Arc::new(MemoryTenantStore::default());
    let mut t = tenant("ten_slow", "sk_slow_claim_tenant_0000000000000");
    t.routing
        .insert(PaymentMethod::Card, vec!["stripe".to_string()]);
    tenants.put(&t).await.expect("tenant");
    let svc = Orchestrator::new(
        Arc::new(SlowClaim {
            inner: MemoryIdempotencyStore::default(),
            slow: Duration::from_secs(3),
        }),
        Arc::new(MemoryPaymentStore::default()),
        tenants,
        registry,
        Arc::new(ManualClock::new(t0())),
        ServiceConfig::default(),
    );
    // The invocation's deadline (and so the claim's in_flight_until): 6 s from now; calls must
    // end `gateway_reserve` (2 s) before it, i.e. within 4 s of the request's start.
    let deadline = t0() + chrono::Duration::seconds(6);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "authorization",
        http::HeaderValue::from_static("Bearer sk_slow_claim_tenant_0000000000000"),
    );
    headers.insert("idempotency-key", http::HeaderValue::from_static("k1"));
    let body = serde_json::json!({"amount": 4990, "currency": "BRL", "method": "card",
        "card": {"tokens": {"stripe": "pm_card_visa"}}});
    let started = tokio::time::Instant::now();
    let r = handle(
        &svc,
        ApiRequest {
            method: http::Method::POST,
            path: "/v1/payments".into(),
            query: None,
            headers,
            body: body.to_string().into(),
            deadline: Some(deadline),
            source_ip: None,
            client_cert_issuer: None,
        },
    )
    .await;
    let took = started.elapsed();
    assert_eq!(stripe.calls(), 1, "{}", r.body);
    assert!(
        took <= Duration::from_secs(4),
        "the call ran {took:?} after the request's start, past deadline − reserve (4 s): {}",
        r.body
    );
}
