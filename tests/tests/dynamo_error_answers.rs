//! DynamoDB error answers on the create path (issue 23, defects 4 and 6), injected at the HTTP
//! level of the real SDK in front of moto (`dynamo_faults`).

use integration_tests::dynamo_faults::{faulty_client, internal_error, transaction_conflict};
use integration_tests::{json, post_payment, t0, tenant, Stores};
use shared::clock::ManualClock;
use shared::gateways::simulators;
use shared::service::{Orchestrator, ServiceConfig};
use std::sync::{Arc, Mutex};

fn orchestrator(stores: &Stores, clock: &Arc<ManualClock>, rate_limit: u32) -> Orchestrator {
    let (registry, _) = simulators();
    Orchestrator::new(
        stores.idempotency.clone(),
        stores.payments.clone(),
        stores.tenants.clone(),
        registry,
        clock.clone(),
        ServiceConfig {
            rate_limit_per_minute: rate_limit,
            ..ServiceConfig::default()
        },
    )
    .with_breaker_store(stores.breakers.clone())
    .with_create_commit(stores.commit.clone())
    .with_usage(stores.usage.clone())
}

/// The usage counter's sort key a `TransactWriteItems` body adds to, if any.
fn usage_sk(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v["TransactItems"].as_array()?.iter().find_map(|i| {
        let u = &i["Update"];
        u["TableName"]
            .as_str()
            .filter(|t| t.ends_with("-usage"))
            .and(u["Key"]["sk"]["S"].as_str())
            .map(str::to_string)
    })
}

/// Defect 4: another payment's transaction keeps holding the usage counter the create commit
/// adds to (`TransactionConflict` on every send that touches it). Before, the commit gave up
/// after its retries and answered 503 after the gateway had charged; now each resend moves the
/// count to the next shard, the payment is stored (201) and counted exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn a_contended_usage_counter_never_fails_a_charged_create() {
    let hot: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let conflicts = Arc::new(Mutex::new(0usize));
    let (h, c) = (hot.clone(), conflicts.clone());
    let client = faulty_client(Arc::new(move |op: &str, body: &str| {
        if op != "TransactWriteItems" {
            return None;
        }
        let sk = usage_sk(body)?;
        let mut hot = h.lock().unwrap_or_else(|e| e.into_inner());
        let first = hot.get_or_insert_with(|| sk.clone());
        if *first != sk {
            return None;
        }
        *c.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let items = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
            .unwrap_or(1);
        Some(transaction_conflict(items, &[items - 1]))
    }));
    let stores = Stores::dynamo_with(client).await;
    let clock = Arc::new(ManualClock::new(t0()));
    stores
        .tenants
        .put(&tenant("ten_hot", "sk_hot_tenant_000000000000000000"))
        .await
        .expect("tenant");
    let svc = orchestrator(&stores, &clock, 0);
    let body = serde_json::json!({"amount": 4990, "currency": "BRL", "method": "card",
        "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok_asaas"}}});
    let r = post_payment(&svc, "sk_hot_tenant_000000000000000000", "k1", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json(&r)["status"], "succeeded", "{}", r.body);
    assert!(
        *conflicts.lock().unwrap_or_else(|e| e.into_inner()) >= 1,
        "the hot counter was hit"
    );
    let day = t0().date_naive();
    let days = stores
        .usage
        .days(&tenant("ten_hot", "x").id, day, day)
        .await
        .expect("usage");
    let counted = days.get(&day).map(|c| c.get("payments")).unwrap_or(0);
    assert_eq!(counted, 1, "counted exactly once: {days:?}");
}

/// Defect 6: the claim's `PutItem` reached DynamoDB but its answer was lost, so the SDK sent it
/// again; the resend fails its condition on the record the first send wrote — our own lease.
/// Before, that answered 409 to the merchant's first and only request; now the claim is ours.
#[tokio::test(flavor = "multi_thread")]
async fn a_claim_resent_by_the_sdk_is_its_own() {
    let lost = Arc::new(Mutex::new(false));
    let l = lost.clone();
    let client = faulty_client(Arc::new(move |op: &str, body: &str| {
        let claim = op == "PutItem" && body.contains("\"IN_PROGRESS\"");
        let mut done = l.lock().unwrap_or_else(|e| e.into_inner());
        if claim && !*done {
            *done = true;
            return Some(internal_error());
        }
        None
    }));
    let stores = Stores::dynamo_with(client).await;
    let clock = Arc::new(ManualClock::new(t0()));
    stores
        .tenants
        .put(&tenant("ten_resend", "sk_resend_tenant_000000000000000"))
        .await
        .expect("tenant");
    // No rate limit: the claim is a single PutItem (with one, a transaction whose client
    // request token makes the SDK's resend idempotent by itself).
    let svc = orchestrator(&stores, &clock, 0);
    let r = post_payment(
        &svc,
        "sk_resend_tenant_000000000000000",
        "k1",
        &integration_tests::pix_body(1990),
    )
    .await;
    assert!(
        *lost.lock().unwrap_or_else(|e| e.into_inner()),
        "the answer was lost once"
    );
    assert_eq!(r.status, 201, "{}", r.body);
}
