//! The circuit breaker through the API (DESIGN §4): opening on the failure rate, skipping an open
//! gateway without calling it, probing after the cool-down, reopening with a longer cool-down,
//! closing, state shared by independent instances over one store (moto for DynamoDB), bounded
//! concurrent probes, and declines that never count.

use chrono::Duration;
use futures::future::join_all;
use integration_tests::fakes::stripe::FakeStripe;
use integration_tests::switchable::Switchable;
use integration_tests::{
    get_path, json, on_both_backends, pix_body, post_payment, Backend, Harness, KEY_A,
};
use serde_json::{json as j, Value};
use shared::adapters::memory::FileCredentials;
use shared::domain::{BreakerConfig, TenantId};
use shared::gateways::live::LiveGateways;
use shared::ports::GatewayRegistry;
use shared::service::{Orchestrator, ServiceConfig};
use std::sync::Arc;

fn card_body(amount: i64) -> Value {
    j!({"amount": amount, "currency": "BRL", "method": "card",
        "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok_asaas"}}})
}

/// The operator view's entry for one gateway.
async fn gateway_view(svc: &Orchestrator, name: &str) -> Value {
    let r = get_path(svc, KEY_A, "/v1/gateways").await;
    assert_eq!(r.status, 200, "{}", r.body);
    json(&r)["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|g| g["gateway"] == name)
        .cloned()
        .expect("gateway listed")
}

/// An instance of the service over the harness's stores (its own breaker cache).
fn instance(h: &Harness, registry: GatewayRegistry, config: ServiceConfig) -> Orchestrator {
    Orchestrator::new(
        h.stores.idempotency.clone(),
        h.stores.payments.clone(),
        h.stores.tenants.clone(),
        registry,
        h.clock.clone(),
        config,
    )
    .with_breaker_store(h.stores.breakers.clone())
}

/// Card routing stripe → asaas, Stripe live against the fake (which goes into an outage
/// answering 503), Asaas simulated.
async fn breaker_opens_skips_probes_reopens_and_closes(backend: Backend) {
    let fake = FakeStripe::start().await;
    let h = Harness::new(backend).await;
    let tid = TenantId::parse("ten_a").unwrap();
    let mut t = h.stores.tenants.get(&tid).await.unwrap().unwrap();
    t.live_gateways = vec!["stripe".into()];
    // A test-mode tenant: one gateway through its (fake) sandbox credentials, the others
    // simulated. (In live mode a gateway without credentials is never a candidate.)
    t.mode = Some(shared::domain::AccountMode::Test);
    h.stores.tenants.put(&t).await.unwrap();
    let creds = j!({"ten_a": {"stripe": {"secret_key": fake.api_key, "base_url": fake.base_url, "timeout_ms": 2000}}});
    let svc = instance(&h, h.registry(), ServiceConfig::default()).with_live_gateways(Arc::new(
        LiveGateways::new(Arc::new(
            FileCredentials::from_json(&creds.to_string()).unwrap(),
        )),
    ));
    let pay = |key: String| {
        let svc = &svc;
        async move {
            let r = post_payment(svc, KEY_A, &key, &card_body(2500)).await;
            assert_eq!(r.status, 201, "{}", r.body);
            json(&r)
        }
    };

    // Healthy: Stripe takes the payment, the breaker is closed and nothing counted yet.
    assert_eq!(pay("ok-0".into()).await["gateway"], "stripe");
    let v = gateway_view(&svc, "stripe").await;
    assert_eq!(
        (v["state"].as_str(), v["calls"].as_u64()),
        (Some("closed"), Some(0)),
        "{v}"
    );

    // Outage: each card attempt gets a 503 — ambiguous for a card, so `processing` and no
    // second gateway — until the window holds 10 calls (the earlier success included) with at
    // least 50 % failures: the 9th failure opens the breaker.
    fake.set_outage(Some(503));
    for i in 0..9 {
        let p = pay(format!("down-{i}")).await;
        assert_eq!(p["status"], "processing", "{p}");
        assert_eq!(p["attempts"].as_array().unwrap().len(), 1, "{p}");
    }
    assert_eq!(
        h.asaas.create_calls(),
        0,
        "an ambiguous card attempt never fails over"
    );
    let v = gateway_view(&svc, "stripe").await;
    assert_eq!(v["state"], "open", "{v}");
    assert_eq!(
        (v["calls"].as_u64(), v["failures"].as_u64()),
        (Some(10), Some(9)),
        "{v}"
    );
    assert!(
        (v["failure_rate"].as_f64().unwrap() - 0.9).abs() < 1e-9,
        "{v}"
    );
    assert_eq!(
        v["open_until"], "2026-11-21T12:00:30.000Z",
        "30 s cool-down"
    );
    assert_eq!(v["priority"]["card"], 1);

    // Open: later payments go straight to Asaas; the fake sees no request.
    let seen = fake.requests();
    for i in 0..3 {
        let p = pay(format!("skip-{i}")).await;
        assert_eq!(
            (p["gateway"].as_str(), p["status"].as_str()),
            (Some("asaas"), Some("succeeded")),
            "{p}"
        );
        assert_eq!(
            p["attempts"][0],
            j!({"gateway": "stripe", "outcome": "unavailable", "code": "breaker_open", "duration_ms": 0})
        );
    }
    assert_eq!(fake.requests(), seen, "no call to the open gateway");

    // After the cool-down one probe goes through; Stripe is still down, so the breaker reopens
    // for twice as long.
    h.clock.advance(Duration::seconds(30));
    let p = pay("probe-1".into()).await;
    assert_eq!(p["status"], "processing", "the probe reached Stripe: {p}");
    assert_eq!(fake.requests(), seen + 1);
    let v = gateway_view(&svc, "stripe").await;
    assert_eq!(
        (v["state"].as_str(), v["consecutive_opens"].as_u64()),
        (Some("open"), Some(2))
    );
    assert_eq!(
        v["open_until"], "2026-11-21T12:01:30.000Z",
        "60 s the second time"
    );
    assert_eq!(pay("skip-again".into()).await["gateway"], "asaas");
    assert_eq!(fake.requests(), seen + 1);

    // Stripe recovers; the next probe finds it healthy and closes the breaker.
    fake.set_outage(None);
    h.clock.advance(Duration::seconds(59));
    assert_eq!(pay("still-open".into()).await["gateway"], "asaas");
    h.clock.advance(Duration::seconds(1));
    let p = pay("probe-2".into()).await;
    assert_eq!(
        (p["gateway"].as_str(), p["status"].as_str()),
        (Some("stripe"), Some("succeeded")),
        "{p}"
    );
    let v = gateway_view(&svc, "stripe").await;
    assert_eq!(
        (
            v["state"].as_str(),
            v["consecutive_opens"].as_u64(),
            v["calls"].as_u64()
        ),
        (Some("closed"), Some(0), Some(0)),
        "{v}"
    );
    assert_eq!(v["open_until"], Value::Null);
    // Traffic is back on the primary.
    for i in 0..3 {
        assert_eq!(pay(format!("back-{i}")).await["gateway"], "stripe");
    }
}

async fn pay(svc: &Orchestrator, key: String) -> Value {
    json(&post_payment(svc, KEY_A, &key, &pix_body(1990)).await)
}

/// Two instances (separate caches) over one store: one sees what the other did, and concurrent
/// probes from both are limited to the configured number.
async fn instances_share_breaker_state_and_probes_are_bounded(backend: Backend) {
    let h = Harness::new(backend).await;
    let efi = Switchable::new(h.efi.clone());
    let mut registry = h.registry();
    registry.register(efi.clone());
    let config = ServiceConfig {
        breaker: BreakerConfig {
            half_open_probes: 2,
            ..BreakerConfig::default()
        },
        ..ServiceConfig::default()
    };
    let a = instance(&h, registry.clone(), config.clone());
    let b = instance(&h, registry, config);

    // Pix routing efi → asaas. EFI down: every attempt provably created nothing, so each
    // payment fails over to Asaas; 6 failures seen by A and 4 by B open the shared breaker.
    efi.set_down(true);
    for i in 0..6 {
        assert_eq!(pay(&a, format!("a-{i}")).await["gateway"], "asaas");
    }
    for i in 0..4 {
        assert_eq!(pay(&b, format!("b-{i}")).await["gateway"], "asaas");
    }
    assert_eq!(efi.calls(), 10);

    // Past A's cache period, A skips EFI on the shared state without calling it.
    h.clock.advance(Duration::seconds(1));
    let p = pay(&a, "a-open".into()).await;
    assert_eq!(
        (p["gateway"].as_str(), p["attempts"][0]["code"].as_str()),
        (Some("asaas"), Some("breaker_open"))
    );
    assert_eq!(efi.calls(), 10);
    assert_eq!(
        gateway_view(&a, "efi").await["state"],
        "open",
        "A reads B's transition"
    );

    // Cool-down over, EFI healthy but slow: 8 concurrent payments, 4 per instance. Only the two
    // allowed probes reach EFI; the others go to Asaas.
    efi.set_down(false);
    efi.set_delay(std::time::Duration::from_millis(1500));
    h.clock.advance(Duration::seconds(30));
    let mut futs = Vec::new();
    for i in 0..4 {
        futs.push(pay(&a, format!("probe-a-{i}")));
        futs.push(pay(&b, format!("probe-b-{i}")));
    }
    let results = join_all(futs).await;
    let on_efi = results.iter().filter(|p| p["gateway"] == "efi").count();
    assert_eq!(efi.calls(), 12, "exactly two probes reached the gateway");
    assert_eq!(on_efi, 2, "{results:?}");
    assert!(
        results.iter().all(|p| p["status"] == "pending"),
        "{results:?}"
    );
    assert_eq!(
        gateway_view(&b, "efi").await["state"],
        "closed",
        "a probe closed it"
    );

    // Both instances route to EFI again once their caches refresh.
    efi.set_delay(std::time::Duration::ZERO);
    h.clock.advance(Duration::seconds(1));
    assert_eq!(pay(&a, "a-back".into()).await["gateway"], "efi");
    assert_eq!(pay(&b, "b-back".into()).await["gateway"], "efi");
}

/// Declines and invalid requests show a working gateway: they never open the breaker.
async fn declines_never_open_the_breaker(backend: Backend) {
    let h = Harness::new(backend).await;
    for i in 0..15 {
        // 0.51: the Stripe simulator declines; 0.52: it rejects the request as invalid.
        let amount = if i % 3 == 0 { 52 } else { 51 };
        let r = h
            .create(KEY_A, &format!("decl-{i}"), &card_body(amount))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(json(&r)["status"], "failed");
    }
    h.clock.advance(Duration::seconds(2));
    let p = json(&h.create(KEY_A, "after", &card_body(2500)).await);
    assert_eq!(p["gateway"], "stripe", "{p}");
    let v = gateway_view(&h.svc, "stripe").await;
    assert_eq!(
        (v["state"].as_str(), v["failures"].as_u64()),
        (Some("closed"), Some(0)),
        "{v}"
    );
    assert_eq!(h.asaas.create_calls(), 0);
}

/// A create with too little time left to call the gateway, admitted as the half-open probe:
/// it calls nothing and gives the probe slot back, so the next payment probes (and closes the
/// breaker) at once instead of being refused until the probe lease runs out.
async fn a_probe_without_time_left_frees_its_slot(backend: Backend) {
    use shared::clock::Clock;
    let h = Harness::new(backend).await;
    let svc = instance(&h, h.registry(), ServiceConfig::default());
    let config = BreakerConfig::default();
    let key = shared::ports::BreakerKey::new(&TenantId::parse("ten_a").unwrap(), "efi");
    let now = h.clock.now().timestamp_millis();
    h.stores
        .breakers
        .transition(&key, 0, shared::domain::Transition::open(now, 0, &config))
        .await
        .unwrap()
        .expect("opened");
    // Past the cool-down: half-open, one probe slot (the default).
    h.clock.advance(Duration::seconds(31));
    let mut pinned = pix_body(1990);
    pinned["gateway"] = "efi".into();
    let request = |idem: &str, deadline| {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {KEY_A}").parse().unwrap());
        headers.insert("idempotency-key", idem.parse().unwrap());
        shared::api::ApiRequest {
            method: http::Method::POST,
            path: "/v1/payments".into(),
            query: None,
            headers,
            body: pinned.to_string().into(),
            deadline: Some(deadline),
            source_ip: None,
            client_cert_issuer: None,
        }
    };
    // 100 ms left: the budget is spent before the call (`no_time_left`), nothing is created.
    let short = shared::api::handle(
        &svc,
        request("probe-short", h.clock.now() + Duration::milliseconds(100)),
    )
    .await;
    assert_eq!(short.status, 502, "{}", short.body);
    assert!(short.body.contains("no_time_left"), "{}", short.body);
    assert_eq!(h.efi.create_calls(), 0);
    // The next payment, with time to spare, is the probe: it reaches EFI and closes the breaker.
    let next = shared::api::handle(
        &svc,
        request("probe-next", h.clock.now() + Duration::seconds(30)),
    )
    .await;
    assert_eq!(next.status, 201, "{}", next.body);
    assert_eq!(json(&next)["gateway"], "efi", "{}", next.body);
    assert_eq!(h.efi.create_calls(), 1);
    let v = gateway_view(&svc, "efi").await;
    assert_eq!(v["state"], "closed", "{v}");
}

on_both_backends!(
    a_probe_without_time_left_frees_its_slot,
    breaker_opens_skips_probes_reopens_and_closes,
    instances_share_breaker_state_and_probes_are_bounded,
    declines_never_open_the_breaker,
);

#[tokio::test]
async fn gateways_view_requires_auth_and_lists_every_gateway() {
    let h = Harness::new(Backend::Memory).await;
    let r = get_path(&h.svc, "sk_wrong", "/v1/gateways").await;
    assert_eq!(r.status, 401);
    let r = h.get(KEY_A, "/v1/gateways").await;
    let names: Vec<String> = json(&r)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["gateway"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["asaas", "efi", "stripe"]);
    let efi = gateway_view(&h.svc, "efi").await;
    assert_eq!(efi["methods"], j!(["pix"]));
    assert_eq!(efi["priority"], j!({"pix": 1}));
    assert_eq!(efi["window_seconds"], 60);
    assert_eq!(efi["live"], false);
}
