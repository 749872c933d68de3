//! The exactly-once defects, one test each (each failed on the code before the durable create
//! steps): a takeover that re-ran routing, failover past an uncanceled orphan, a currency a
//! gateway cannot take, a gateway slower than the invocation, and a refresh that re-sent the
//! create. Crashes here are the request's task being aborted mid-call, as a Lambda killed at its
//! deadline would be — no failpoint needed, so the same tests run on any version.

use integration_tests::switchable::Switchable;
use integration_tests::{
    get_path, json, on_both_backends, pix_body, post_payment, t0, tenant, Backend, Stores,
};
use shared::clock::ManualClock;
use shared::domain::{BreakerConfig, PaymentMethod};
use shared::gateways::simulator::SimulatorGateway;
use shared::ports::GatewayRegistry;
use shared::service::{Orchestrator, ServiceConfig};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "sk_exactly_once_tenant_000000000001";

struct Rig {
    stores: Stores,
    clock: Arc<ManualClock>,
    efi: Arc<Switchable>,
    stripe: Arc<Switchable>,
    asaas: Arc<Switchable>,
}

impl Rig {
    async fn new(b: Backend) -> Self {
        let stores = Stores::new(b).await;
        stores
            .tenants
            .put(&tenant("ten_once", KEY))
            .await
            .expect("tenant");
        Self {
            stores,
            clock: Arc::new(ManualClock::new(t0())),
            efi: Switchable::new(Arc::new(SimulatorGateway::efi())),
            stripe: Switchable::new(Arc::new(SimulatorGateway::stripe())),
            asaas: Switchable::new(Arc::new(SimulatorGateway::asaas())),
        }
    }

    /// A fresh orchestrator instance (another Lambda) over the shared stores and gateways.
    fn instance(&self, config: ServiceConfig) -> Orchestrator {
        let mut r = GatewayRegistry::default();
        r.register(self.efi.clone());
        r.register(self.stripe.clone());
        r.register(self.asaas.clone());
        Orchestrator::new(
            self.stores.idempotency.clone(),
            self.stores.payments.clone(),
            self.stores.tenants.clone(),
            r,
            self.clock.clone(),
            config,
        )
        .with_breaker_store(self.stores.breakers.clone())
        .with_create_commit(self.stores.commit.clone())
    }

    async fn route(&self, method: PaymentMethod, gateways: &[&str]) {
        let id = shared::domain::TenantId::parse("ten_once").expect("id");
        let mut t = self.stores.tenants.get(&id).await.expect("get").expect("t");
        t.routing
            .insert(method, gateways.iter().map(|g| g.to_string()).collect());
        self.stores.tenants.put(&t).await.expect("put");
    }

    fn live(&self) -> Vec<String> {
        [&self.efi, &self.stripe, &self.asaas]
            .iter()
            .flat_map(|g| g.inner().live_charges())
            .collect()
    }
}

fn card(amount: i64, currency: &str) -> serde_json::Value {
    serde_json::json!({"amount": amount, "currency": currency, "method": "card",
        "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok_asaas"}}})
}

/// Defect 1: the crashed attempt reached Asaas and charged there; routing was switched to
/// Stripe first before the retry. The retry must settle on the Asaas charge, never charge Stripe.
async fn takeover_settles_at_the_gateway_the_crashed_attempt_reached(b: Backend) {
    let rig = Rig::new(b).await;
    rig.route(PaymentMethod::Card, &["asaas", "stripe"]).await;
    rig.asaas.set_hang_after_create(true);
    let svc = Arc::new(rig.instance(ServiceConfig::default()));
    let task = {
        let svc = svc.clone();
        tokio::spawn(async move { post_payment(&svc, KEY, "order-7", &card(10000, "BRL")).await })
    };
    // Killed once Asaas holds the charge (the Lambda dies waiting for the answer).
    for _ in 0..200 {
        if rig.asaas.inner().charge_count() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    assert_eq!(rig.asaas.inner().charge_count(), 1);
    rig.asaas.set_hang_after_create(false);
    rig.route(PaymentMethod::Card, &["stripe", "asaas"]).await;

    rig.clock.advance(chrono::Duration::seconds(31));
    let retry = rig.instance(ServiceConfig::default());
    let r = post_payment(&retry, KEY, "order-7", &card(10000, "BRL")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = json(&r);
    assert_eq!(
        rig.stripe.inner().charge_count(),
        0,
        "Stripe never charged: {}",
        r.body
    );
    assert_eq!(rig.live().len(), 1);
    assert_eq!(p["gateway"], "asaas");
    assert_eq!(p["status"], "succeeded");
    assert_eq!(
        p["gateway_payment_id"].as_str(),
        rig.asaas.inner().live_charges().first().map(String::as_str)
    );
    let again = post_payment(&retry, KEY, "order-7", &card(10000, "BRL")).await;
    assert_eq!(again.body, r.body, "replays identically");
}

/// Defect 2: the Pix orphan at EFI cannot be canceled, so the payment must stay `processing` at
/// EFI instead of issuing a second payable charge at Asaas.
async fn uncanceled_orphan_stops_the_failover(b: Backend) {
    let rig = Rig::new(b).await;
    rig.route(PaymentMethod::Pix, &["efi", "asaas"]).await;
    rig.efi.set_ambiguous_after_create(true);
    rig.efi.set_cancel_fails(true);
    let svc = rig.instance(ServiceConfig::default());
    let r = post_payment(&svc, KEY, "pix-orphan", &pix_body(1990)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = json(&r);
    assert_eq!(rig.asaas.calls(), 0, "no second gateway: {}", r.body);
    assert_eq!(rig.live().len(), 1, "one payable charge");
    assert_eq!(
        (p["status"].as_str(), p["gateway"].as_str()),
        (Some("processing"), Some("efi"))
    );
    assert!(
        p["attempts"][0]["code"]
            .as_str()
            .is_some_and(|c| c.ends_with("+orphan_cancel_failed")),
        "{}",
        r.body
    );
    assert_eq!(
        p["gateway_payment_id"].as_str(),
        rig.efi.inner().live_charges().first().map(String::as_str),
        "the orphan found is named, so its webhook and a refresh match it"
    );
}

/// Defect 4: a JPY card goes only to gateways that charge in JPY (Stripe), never to Asaas;
/// pinning Asaas for JPY is refused before anything is stored.
async fn a_gateway_never_gets_a_currency_it_cannot_charge(b: Backend) {
    let rig = Rig::new(b).await;
    rig.route(PaymentMethod::Card, &["asaas", "stripe"]).await;
    let svc = rig.instance(ServiceConfig::default());
    let r = post_payment(&svc, KEY, "jpy", &card(1000, "JPY")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json(&r)["gateway"], "stripe");
    assert_eq!(json(&r)["currency"], "JPY");
    assert_eq!(rig.asaas.calls(), 0, "Asaas never saw the JPY amount");
    let mut pinned = card(1000, "JPY");
    pinned["gateway"] = serde_json::json!("asaas");
    let r = post_payment(&svc, KEY, "jpy-pinned", &pinned).await;
    // 422 `no_gateway_for_method`: a well-formed body no gateway it may go to can take.
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("JPY"), "{}", r.body);
    assert_eq!(rig.asaas.calls(), 0);
    assert_eq!(rig.stores.payment_count().await, 1);
}

/// Defect 5: a gateway slower than the invocation. Each call is cut at the deadline minus the
/// reserve, the payment is recorded `processing` with its attempt (not lost to a killed
/// invocation), the timeouts count as breaker failures, and the breaker opens.
async fn a_slow_gateway_is_cut_at_the_deadline_and_opens_the_breaker(b: Backend) {
    let rig = Rig::new(b).await;
    rig.route(PaymentMethod::Card, &["stripe"]).await;
    rig.stripe.set_delay(Duration::from_secs(3));
    let config = ServiceConfig {
        default_in_flight: chrono::Duration::milliseconds(900),
        gateway_reserve: Duration::from_millis(300),
        breaker: BreakerConfig {
            minimum_calls: 3,
            ..BreakerConfig::default()
        },
        ..ServiceConfig::default()
    };
    let svc = rig.instance(config);
    for i in 0..3 {
        let started = std::time::Instant::now();
        let r = post_payment(&svc, KEY, &format!("slow-{i}"), &card(2000, "BRL")).await;
        assert!(
            started.elapsed() < Duration::from_millis(2900),
            "answered before the gateway (and so before the deadline)"
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let p = json(&r);
        assert_eq!(p["status"], "processing", "{}", r.body);
        assert_eq!(p["attempts"][0]["code"], "deadline_exceeded");
        assert_eq!(p["attempts"][0]["outcome"], "ambiguous");
    }
    assert_eq!(rig.stripe.calls(), 3);
    rig.clock.advance(chrono::Duration::seconds(2));
    let r = post_payment(&svc, KEY, "slow-after", &card(2000, "BRL")).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("breaker_open"), "{}", r.body);
    assert_eq!(rig.stripe.calls(), 3, "open: not called");
    let view = get_path(&svc, KEY, "/v1/gateways").await;
    assert!(view.body.contains(r#""state":"open""#), "{}", view.body);
}

/// Defect 6: a refresh of a `processing` card payment 25 h later only looks the charge up: it
/// finds the one the create made and never sends a create (Stripe would have forgotten the key
/// by then and charged again). A charge that truly does not exist settles as `failed`.
async fn refresh_only_looks_up_even_a_day_later(b: Backend) {
    let rig = Rig::new(b).await;
    rig.route(PaymentMethod::Card, &["stripe"]).await;
    let svc = rig.instance(ServiceConfig::default());

    rig.stripe.set_ambiguous_after_create(true);
    let made = json(&post_payment(&svc, KEY, "amb-made", &card(3000, "BRL")).await);
    rig.stripe.set_ambiguous_after_create(false);
    rig.stripe.set_ambiguous_lost(true);
    let lost = json(&post_payment(&svc, KEY, "amb-lost", &card(3100, "BRL")).await);
    rig.stripe.set_ambiguous_lost(false);
    assert_eq!(
        (made["status"].as_str(), lost["status"].as_str()),
        (Some("processing"), Some("processing"))
    );
    assert_eq!(rig.stripe.calls(), 2);

    // Minutes later the lost one is still unknown: a young create may still be in flight.
    let young = json(
        &get_path(
            &svc,
            KEY,
            &format!("/v1/payments/{}?refresh=true", lost["id"].as_str().unwrap()),
        )
        .await,
    );
    assert_eq!(young["status"], "processing");

    rig.clock.advance(chrono::Duration::hours(25));
    let r = get_path(
        &svc,
        KEY,
        &format!("/v1/payments/{}?refresh=true", made["id"].as_str().unwrap()),
    )
    .await;
    let found = json(&r);
    assert_eq!(found["status"], "succeeded", "{}", r.body);
    assert_eq!(
        found["gateway_payment_id"].as_str(),
        rig.stripe
            .inner()
            .live_charges()
            .first()
            .map(String::as_str)
    );
    let r = get_path(
        &svc,
        KEY,
        &format!("/v1/payments/{}?refresh=true", lost["id"].as_str().unwrap()),
    )
    .await;
    let gone = json(&r);
    assert_eq!(gone["status"], "failed", "{}", r.body);
    assert_eq!(gone["failure"]["code"], "charge_not_found");
    assert_eq!(rig.stripe.calls(), 2, "no refresh sent a create");
    assert_eq!(rig.stripe.inner().charge_count(), 1);
    assert!(rig.stripe.inner().lookup_calls() >= 2);
}

on_both_backends!(
    takeover_settles_at_the_gateway_the_crashed_attempt_reached,
    uncanceled_orphan_stops_the_failover,
    a_gateway_never_gets_a_currency_it_cannot_charge,
    a_slow_gateway_is_cut_at_the_deadline_and_opens_the_breaker,
    refresh_only_looks_up_even_a_day_later,
);
