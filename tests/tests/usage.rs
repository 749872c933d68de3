//! `GET /v1/usage`: the counters that ride in the payment writes equal the ground truth computed
//! from the stored payments, on memory and on DynamoDB (moto) — after mixed outcomes, failovers,
//! refunds, replays and crash-retried creates — and the recount finds no difference (and does
//! find one when a write bypasses the counters).

use bytes::Bytes;
use http::Method;
use integration_tests::switchable::Switchable;
use integration_tests::{
    get_path, json, on_both_backends, pix_body, post_path, post_payment, t0, Backend, Harness,
    KEY_A, KEY_B,
};
use serde_json::{json as j, Value};
use shared::domain::{Payment, PaymentStatus, TenantId};
use shared::ports::{Effects, GatewayRegistry, PaymentFilter};
use shared::service::{Orchestrator, ServiceConfig};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Failpoints are process-wide: the tests of this file run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn card(amount: i64) -> Value {
    j!({"amount": amount, "currency": "BRL", "method": "card",
        "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok_asaas"}}})
}

fn boleto(amount: i64) -> Value {
    j!({"amount": amount, "currency": "BRL", "method": "boleto",
        "customer": {"name": "Maria Souza", "document": "52998224725"}})
}

async fn refund(svc: &Orchestrator, id: &str, idem: &str, amount: Option<i64>) {
    let body = match amount {
        Some(a) => j!({ "amount": a }),
        None => j!({}),
    };
    let r = post_path(
        svc,
        KEY_A,
        &format!("/v1/payments/{id}/refunds"),
        idem,
        &body.to_string(),
    )
    .await;
    assert!(r.status == 201 || r.status == 200, "refund: {}", r.body);
}

/// The harness's stores and clock behind switchable simulators (so a test can take one down).
struct World {
    h: Harness,
    svc: Arc<Orchestrator>,
    efi: Arc<Switchable>,
    stripe: Arc<Switchable>,
}

impl World {
    async fn new(backend: Backend) -> Self {
        let h = Harness::new(backend).await;
        let efi = Switchable::new(h.efi.clone());
        let stripe = Switchable::new(h.stripe.clone());
        let mut reg = GatewayRegistry::default();
        reg.register(efi.clone());
        reg.register(stripe.clone());
        reg.register(h.asaas.clone());
        let svc = Orchestrator::new(
            h.stores.idempotency.clone(),
            h.stores.payments.clone(),
            h.stores.tenants.clone(),
            reg,
            h.clock.clone(),
            ServiceConfig::default(),
        )
        .with_breaker_store(h.stores.breakers.clone())
        .with_create_commit(h.stores.commit.clone())
        .with_events(h.stores.outbox.clone(), h.stores.events.clone())
        .with_usage(h.stores.usage.clone());
        World {
            h,
            svc: Arc::new(svc),
            efi,
            stripe,
        }
    }

    async fn create(&self, key: &str, idem: &str, body: &Value) -> shared::api::ApiResponse {
        post_payment(&self.svc, key, idem, body).await
    }
}

async fn all_payments(h: &Harness, tenant: &str) -> Vec<Payment> {
    let tid = TenantId::parse(tenant).expect("tenant");
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = h
            .stores
            .payments
            .list(&tid, &PaymentFilter::default(), 100, cursor.as_ref())
            .await
            .expect("list");
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// What the answer must say, computed straight from the payments (not through the counters'
/// own code): counts by status and gateway × method, volumes, refunds, failovers.
fn ground_truth(payments: &[Payment]) -> Value {
    let mut by_status: BTreeMap<String, i64> = PaymentStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect();
    let mut by_gateway: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let mut volume: BTreeMap<String, BTreeMap<&str, i64>> = BTreeMap::new();
    let (mut refunds, mut failovers, mut late_payments) = (0, 0, 0);
    for p in payments {
        *by_status.entry(p.status.as_str().to_string()).or_default() += 1;
        *by_gateway
            .entry(p.gateway.clone().unwrap_or_else(|| "none".into()))
            .or_default()
            .entry(p.method.as_str().to_string())
            .or_default() += 1;
        let v = volume
            .entry(p.amount.currency().code().to_string())
            .or_insert_with(|| {
                BTreeMap::from([
                    ("created", 0),
                    ("succeeded", 0),
                    ("refunded", 0),
                    ("late", 0),
                ])
            });
        *v.entry("created").or_default() += p.amount.minor();
        if matches!(
            p.status,
            PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        ) {
            *v.entry("succeeded").or_default() += p.amount.minor();
        }
        *v.entry("refunded").or_default() += p.refunded_amount;
        if let Some(late) = &p.late_payment {
            *v.entry("late").or_default() += late.amount;
            late_payments += 1;
        }
        refunds += p
            .refunds
            .iter()
            .filter(|r| r.status == shared::domain::RefundStatus::Succeeded)
            .count() as i64;
        if p.attempts.first().map(|a| Some(&a.gateway)) != Some(p.gateway.as_ref()) {
            failovers += 1;
        }
    }
    j!({
        "payments": {"total": payments.len(), "by_status": by_status, "by_gateway": by_gateway,
                     "failovers": failovers, "late_payments": late_payments,
                     // No create of this test is refused (refusals: tests/refused_usage.rs).
                     "refused": 0},
        "volume": volume,
        "refunds": {"succeeded": refunds},
    })
}

async fn usage(svc: &Orchestrator, key: &str, query: &str) -> Value {
    let r = get_path(svc, key, &format!("/v1/usage{query}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    json(&r)
}

fn assert_matches_truth(answer: &Value, truth: &Value, ctx: &str) {
    for k in ["payments", "volume", "refunds"] {
        assert_eq!(answer[k], truth[k], "{ctx}: {k}\nanswer {answer:#}");
    }
}

/// A create that crashes (panics) at `failpoint`, then the client's retry after the lease.
async fn crash_then_retry(w: &World, failpoint: &str, idem: &str, body: &Value) {
    fail::cfg(failpoint, "panic").expect("failpoint");
    let (svc, b, k) = (w.svc.clone(), body.clone(), idem.to_string());
    let crashed = tokio::spawn(async move { post_payment(&svc, KEY_A, &k, &b).await })
        .await
        .is_err();
    fail::remove(failpoint);
    assert!(crashed, "{failpoint} crashed the create");
    w.h.clock.advance(chrono::Duration::seconds(31));
    let r = w.create(KEY_A, idem, body).await;
    assert_eq!(r.status, 201, "retry after {failpoint}: {}", r.body);
}

async fn usage_equals_the_payments(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let _scenario = fail::FailScenario::setup();
    let w = World::new(backend).await;
    let h = &w.h;

    // Mixed outcomes on every method.
    let mut ok = Vec::new();
    for (i, amount) in [1000, 2590, 7300].into_iter().enumerate() {
        let r = w.create(KEY_A, &format!("card-{i}"), &card(amount)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ok.push(json(&r)["id"].as_str().expect("id").to_string());
    }
    // A replay of the first: the same answer, nothing counted twice.
    let replay = w.create(KEY_A, "card-0", &card(1000)).await;
    assert_eq!(replay.status, 201);
    for (i, amount) in [1051, 2251].into_iter().enumerate() {
        let r = w
            .create(KEY_A, &format!("declined-{i}"), &card(amount))
            .await;
        assert!(r.status < 500, "{}", r.body);
    }
    assert_eq!(w.create(KEY_A, "3ds", &card(4057)).await.status, 201);
    assert_eq!(w.create(KEY_A, "timeout", &card(3054)).await.status, 201);
    for (i, amount) in [1500, 990].into_iter().enumerate() {
        assert_eq!(
            w.create(KEY_A, &format!("pix-{i}"), &pix_body(amount))
                .await
                .status,
            201
        );
    }
    assert_eq!(w.create(KEY_A, "boleto", &boleto(12000)).await.status, 201);
    // Failovers: the primary is down, the next gateway charges.
    w.stripe.set_down(true);
    assert_eq!(w.create(KEY_A, "fo-card", &card(8800)).await.status, 201);
    w.stripe.set_down(false);
    w.efi.set_down(true);
    assert_eq!(w.create(KEY_A, "fo-pix", &pix_body(6100)).await.status, 201);
    w.efi.set_down(false);
    // Refunds: one in full, one in part (twice, the second a replay of the first).
    refund(&w.svc, &ok[0], "rf-0", None).await;
    refund(&w.svc, &ok[1], "rf-1", Some(590)).await;
    refund(&w.svc, &ok[1], "rf-1", Some(590)).await;
    // Creates that crashed mid-way and were retried by the client.
    crash_then_retry(&w, "create.after_gateway_call", "crash-1", &card(4400)).await;
    crash_then_retry(&w, "create.after_commit", "crash-2", &pix_body(3300)).await;
    crash_then_retry(&w, "create.before_commit", "crash-3", &card(5500)).await;
    // Tenant B's payment is B's alone.
    assert_eq!(w.create(KEY_B, "b-1", &card(99900)).await.status, 201);

    let payments = all_payments(h, "ten_a").await;
    assert_eq!(payments.len(), 15, "every create stored once");
    let truth = ground_truth(&payments);
    assert!(
        truth["payments"]["failovers"].as_i64() >= Some(2),
        "{truth:#}"
    );

    let month = usage(&w.svc, KEY_A, "?month=2026-11").await;
    assert_matches_truth(&month, &truth, "month");
    assert_eq!(month["object"], "usage");
    assert_eq!(month["period"]["start"], "2026-11-01T00:00:00Z");
    assert_eq!(month["period"]["end"], "2026-12-01T00:00:00Z");
    assert_eq!(month["period"]["timezone"], "UTC");
    // The clock's month is the default.
    assert_eq!(
        usage(&w.svc, KEY_A, "").await["payments"],
        month["payments"]
    );
    // Another month has nothing.
    assert_eq!(
        usage(&w.svc, KEY_A, "?month=2026-10").await["payments"]["total"],
        0
    );

    // Tenant B sees only its own payment; A's answer does not include it.
    let b = usage(&w.svc, KEY_B, "?month=2026-11").await;
    assert_matches_truth(
        &b,
        &ground_truth(&all_payments(h, "ten_b").await),
        "tenant B",
    );
    assert_eq!(b["payments"]["total"], 1);
    assert_eq!(b["volume"]["BRL"]["created"], 99900);

    // The daily series: everything was created on t0's day.
    let series = usage(
        &w.svc,
        KEY_A,
        "?from=2026-11-20&to=2026-11-22&granularity=day",
    )
    .await;
    let days = series["data"].as_array().expect("data");
    assert_eq!(days.len(), 3);
    assert_eq!(days[1]["date"], t0().date_naive().to_string());
    assert_eq!(days[1]["payments"], month["payments"]);
    assert_eq!(days[0]["payments"]["total"], 0);

    // The recount agrees with the counters...
    let tid = TenantId::parse("ten_a").expect("tenant");
    let report = w.svc.recount(&tid, 2026, 11).await.expect("recount");
    assert!(report.differences.is_empty(), "{report:?}");
    assert!(report.payments_read >= 15);
    // ...and notices a payment written without its counters.
    let mut stray = payments[0].clone();
    stray.id = shared::domain::PaymentId::generate();
    stray.version = 1;
    h.stores
        .payments
        .insert(&stray, &Effects::none())
        .await
        .expect("stray insert");
    let report = w.svc.recount(&tid, 2026, 11).await.expect("recount");
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.counter == "payments" && d.stored + 1 == d.recounted),
        "{report:?}"
    );
}

async fn bad_usage_queries_are_400s(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let w = World::new(backend).await;
    for q in [
        "?month=2026-13",
        "?month=november",
        "?from=2026-11-02&to=2026-11-01&granularity=day",
        "?from=2026-01-01&to=2026-12-31&granularity=day",
        "?foo=bar",
    ] {
        let r = get_path(&w.svc, KEY_A, &format!("/v1/usage{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        assert_eq!(json(&r)["error"]["type"], "invalid_request", "{q}");
    }
    let r = w.h.call(Method::GET, "/v1/usage", &[], Bytes::new()).await;
    assert_eq!(r.status, 401);
}

on_both_backends!(usage_equals_the_payments, bad_usage_queries_are_400s);
