//! Issue 23, defect 2 ("live traffic can reach a simulator"): a payment names the gateway
//! account that made its charge, and every follow-up (refresh, refund, cancel) goes to exactly
//! that account or refuses with 409 `gateway_credentials_changed`, settling nothing; a live
//! tenant never reaches a simulator; money a gateway confirms after a final status is recorded
//! on the payment, evented once and counted. Time (`ManualClock`) and configuration (the
//! credentials) change between steps.

use async_trait::async_trait;
use chrono::Duration;
use integration_tests::credentials::{delete_creds, put_creds, CredentialSetup};
use integration_tests::fakes::stripe::FakeStripe;
use integration_tests::pipeline::{stripe_pi_event, Pipeline, ATTEMPTS};
use integration_tests::{
    get_path, json, on_both_backends, pix_body, post_path, post_payment, Backend, Harness, KEY_A,
};
use serde_json::{json, Value};
use shared::adapters::memory::MemoryQueue;
use shared::domain::{Currency, PaymentMethod, TenantId};
use shared::ports::{
    ChargeLookup, ChargeRequest, Gateway, GatewayCharge, GatewayError, GatewayRefund,
    GatewayRegistry, RefundRequest, WebhookEnvelope,
};
use shared::service::webhooks::{QueueMessage, WebhookWorker};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A simulator that counts every call made to it (create, look-up, retrieve, cancel, refund).
struct Counting {
    inner: Arc<dyn Gateway>,
    calls: Arc<AtomicUsize>,
}

impl Counting {
    fn hit(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Gateway for Counting {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn supports(&self, method: PaymentMethod) -> bool {
        self.inner.supports(method)
    }
    fn supports_currency(&self, currency: Currency) -> bool {
        self.inner.supports_currency(currency)
    }
    async fn create(&self, req: &ChargeRequest) -> Result<GatewayCharge, GatewayError> {
        self.hit();
        self.inner.create(req).await
    }
    async fn lookup(&self, q: &ChargeLookup) -> Result<Option<GatewayCharge>, GatewayError> {
        self.hit();
        self.inner.lookup(q).await
    }
    async fn retrieve(
        &self,
        gateway_payment_id: &str,
        method: PaymentMethod,
    ) -> Result<GatewayCharge, GatewayError> {
        self.hit();
        self.inner.retrieve(gateway_payment_id, method).await
    }
    async fn cancel(
        &self,
        gateway_payment_id: &str,
        method: PaymentMethod,
    ) -> Result<(), GatewayError> {
        self.hit();
        self.inner.cancel(gateway_payment_id, method).await
    }
    async fn refund(&self, req: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        self.hit();
        self.inner.refund(req).await
    }
}

/// The harness's simulators, each wrapped to count its calls; the counter is shared.
fn counting_registry(s: &CredentialSetup) -> (GatewayRegistry, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut r = GatewayRegistry::default();
    let sims: [Arc<dyn Gateway>; 3] = [s.h.efi.clone(), s.h.stripe.clone(), s.h.asaas.clone()];
    for g in sims {
        r.register(Arc::new(Counting {
            inner: g,
            calls: calls.clone(),
        }));
    }
    (r, calls)
}

fn card(amount: i64, gateway: Option<&str>) -> Value {
    let mut b = json!({"amount": amount, "currency": "BRL", "method": "card",
        "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok_asaas"}}});
    if let Some(g) = gateway {
        b["gateway"] = g.into();
    }
    b
}

fn stripe_creds(fake: &FakeStripe) -> Value {
    json!({"secret_key": fake.api_key, "base_url": fake.base_url})
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

fn error_code(r: &shared::api::ApiResponse) -> String {
    serde_json::from_str::<Value>(&r.body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn refresh(svc: &shared::service::Orchestrator, id: &str) -> shared::api::ApiResponse {
    get_path(svc, KEY_A, &format!("/v1/payments/{id}?refresh=true")).await
}

async fn read(svc: &shared::service::Orchestrator, id: &str) -> Value {
    json(&get_path(svc, KEY_A, &format!("/v1/payments/{id}")).await)
}

/// Defect 2's scenario: a live card payment ends `processing` (ambiguous), the tenant's Stripe
/// credentials are deleted, then replaced by another account's; 15 minutes later a refresh
/// answers 409 and settles nothing, and so do a refund and a cancel of other live payments.
/// The simulators are never called. Registering the original credentials again lets the
/// refresh find the charge (succeeded) at the account that holds it.
async fn follow_ups_use_the_pinned_account_or_refuse(b: Backend) {
    let cs = CredentialSetup::new(b).await;
    let fake = FakeStripe::start().await;
    let (registry, sim_calls) = counting_registry(&cs);
    let svc = cs.instance_on(std::time::Duration::from_secs(30), registry);
    let r = put_creds(&svc, KEY_A, "stripe", &stripe_creds(&fake)).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // 25.50: the fake makes the intent, then answers 500 — a card's unknown outcome.
    let r = post_payment(&svc, KEY_A, "amb", &card(2550, Some("stripe"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let amb = json(&r);
    assert_eq!(
        (s(&amb, "status").as_str(), s(&amb, "gateway").as_str()),
        ("processing", "stripe"),
        "{amb}"
    );
    assert!(amb["gateway_payment_id"].is_null(), "{amb}");
    let paid = json(&post_payment(&svc, KEY_A, "paid", &card(2500, Some("stripe"))).await);
    assert_eq!(s(&paid, "status"), "succeeded", "{paid}");
    let mut pix = pix_body(1990);
    pix["gateway"] = "stripe".into();
    let waiting = json(&post_payment(&svc, KEY_A, "pix", &pix).await);
    assert_eq!(s(&waiting, "gateway"), "stripe", "{waiting}");
    assert!(
        ["pending", "requires_action"].contains(&s(&waiting, "status").as_str()),
        "{waiting}"
    );
    // 25.02: declined at the fake (a final status).
    let declined = json(&post_payment(&svc, KEY_A, "declined", &card(2502, Some("stripe"))).await);
    assert_eq!(s(&declined, "status"), "failed", "{declined}");
    let created = fake.intents_created();

    let d = delete_creds(&svc, KEY_A, "stripe").await;
    assert_eq!(d.status, 200, "{}", d.body);
    cs.h.clock.advance(Duration::minutes(16));

    let check_refusals = |round: &'static str| {
        let (svc, amb, paid, waiting) = (&svc, &amb, &paid, &waiting);
        async move {
            let r = refresh(svc, &s(amb, "id")).await;
            assert_eq!(
                (r.status, error_code(&r).as_str()),
                (409, "gateway_credentials_changed"),
                "{round}: refresh: {}",
                r.body
            );
            let now = read(svc, &s(amb, "id")).await;
            assert_eq!(s(&now, "status"), "processing", "{round}: {now}");
            assert!(now["failure"].is_null(), "{round}: {now}");

            let path = format!("/v1/payments/{}/refunds", s(paid, "id"));
            let r = post_path(svc, KEY_A, &path, &format!("rf-{round}"), "{}").await;
            assert_eq!(
                (r.status, error_code(&r).as_str()),
                (409, "gateway_credentials_changed"),
                "{round}: refund: {}",
                r.body
            );
            let now = read(svc, &s(paid, "id")).await;
            assert_eq!(
                (s(&now, "status").as_str(), now["refunded_amount"].as_i64()),
                ("succeeded", Some(0)),
                "{round}: {now}"
            );

            let path = format!("/v1/payments/{}/cancel", s(waiting, "id"));
            let r = post_path(svc, KEY_A, &path, &format!("cx-{round}"), "").await;
            assert_eq!(
                (r.status, error_code(&r).as_str()),
                (409, "gateway_credentials_changed"),
                "{round}: cancel: {}",
                r.body
            );
            let now = read(svc, &s(waiting, "id")).await;
            assert_eq!(s(&now, "status"), s(waiting, "status"), "{round}: {now}");
        }
    };
    check_refusals("deleted").await;
    // A final payment's refresh is a best-effort look for late money: without its account it
    // is answered as stored.
    let r = refresh(&svc, &s(&declined, "id")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            s(&json(&r), "status").as_str(),
            json(&r)["late_payment"].is_null()
        ),
        ("failed", true),
        "{}",
        r.body
    );

    // Replaced by another Stripe account's key: still not the account that holds the charges.
    let other = FakeStripe::start().await;
    let r = put_creds(&svc, KEY_A, "stripe", &stripe_creds(&other)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    check_refusals("replaced").await;
    assert_eq!(
        other.requests(),
        0,
        "the other account was never asked about these charges"
    );
    assert_eq!(fake.intents_created(), created);
    assert_eq!(fake.refunded(&s(&paid, "gateway_payment_id")), 0);
    assert_eq!(
        sim_calls.load(Ordering::SeqCst),
        0,
        "no simulator was called for a live payment"
    );

    // The original account's credentials again: the refresh reaches it and finds the charge.
    let r = put_creds(&svc, KEY_A, "stripe", &stripe_creds(&fake)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = refresh(&svc, &s(&amb, "id")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let now = json(&r);
    assert_eq!(s(&now, "status"), "succeeded", "{now}");
    assert!(
        s(&now, "gateway_payment_id").starts_with("pi_fake"),
        "{now}"
    );
    assert_eq!(sim_calls.load(Ordering::SeqCst), 0);
}

/// A live tenant's new payments reach only its live gateways: a pin to a gateway it has no
/// credentials for is 422 `gateway_not_configured`, unpinned routing skips such gateways, and
/// with the credentials removed (also on an instance whose tenant cache still lists them) no
/// payment lands on a simulator. The simulators count 0 calls throughout.
async fn live_tenant_never_reaches_a_simulator(b: Backend) {
    let cs = CredentialSetup::new(b).await;
    let fake = FakeStripe::start().await;
    let (registry, sim_calls) = counting_registry(&cs);
    let svc = cs.instance_on(std::time::Duration::from_secs(30), registry.clone());
    let stale = cs.instance_on(std::time::Duration::from_secs(30), registry);
    assert_eq!(
        put_creds(&svc, KEY_A, "stripe", &stripe_creds(&fake))
            .await
            .status,
        200
    );
    // `stale` caches the tenant as it is now (Stripe live).
    assert_eq!(
        get_path(&stale, KEY_A, "/v1/payments?limit=1").await.status,
        200
    );

    let r = post_payment(&svc, KEY_A, "pin-asaas", &card(2500, Some("asaas"))).await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (422, "gateway_not_configured"),
        "{}",
        r.body
    );
    assert_eq!(json(&r)["error"]["param"], "gateway", "{}", r.body);
    // Pix routing is efi → asaas: neither is live for this tenant.
    let r = post_payment(&svc, KEY_A, "pix", &pix_body(1990)).await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (422, "gateway_not_configured"),
        "{}",
        r.body
    );
    // Boleto routing is asaas → stripe: only Stripe is a candidate.
    let mut boleto = pix_body(3300);
    boleto["method"] = "boleto".into();
    let r = post_payment(&svc, KEY_A, "boleto", &boleto).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = json(&r);
    assert_eq!(s(&p, "gateway"), "stripe", "{p}");
    assert_eq!(p["attempts"].as_array().map(Vec::len), Some(1), "{p}");
    // Card routing is stripe → asaas.
    let r = post_payment(&svc, KEY_A, "card", &card(2500, None)).await;
    let p = json(&r);
    assert_eq!(
        (s(&p, "gateway").as_str(), s(&p, "status").as_str()),
        ("stripe", "succeeded"),
        "{p}"
    );
    assert_eq!(fake.intents_created(), 2);

    assert_eq!(delete_creds(&svc, KEY_A, "stripe").await.status, 200);
    // This instance knows at once: nothing is configured, nothing is called.
    for (idem, body) in [
        ("after-pinned", card(2600, Some("stripe"))),
        ("after-routed", card(2600, None)),
    ] {
        let r = post_payment(&svc, KEY_A, idem, &body).await;
        assert_eq!(
            (r.status, error_code(&r).as_str()),
            (422, "gateway_not_configured"),
            "{idem}: {}",
            r.body
        );
    }
    // The other instance still believes Stripe is live: its credentials are gone, so nothing
    // is created anywhere, and certainly not on a simulator.
    let r = post_payment(&stale, KEY_A, "stale", &card(2600, None)).await;
    assert!(r.status >= 400, "{}", r.body);
    assert_eq!(fake.intents_created(), 2);
    assert_eq!(
        sim_calls.load(Ordering::SeqCst),
        0,
        "a live tenant never reaches a simulator"
    );
}

/// A worker on the harness's stores (in-memory queue: the test calls it directly).
fn worker(h: &Harness) -> WebhookWorker {
    Pipeline::worker_on(
        h,
        Arc::new(MemoryQueue::new(ATTEMPTS)),
        std::time::Duration::from_secs(300),
    )
}

async fn deliver(w: &WebhookWorker, n: usize, body: &str) {
    let env = WebhookEnvelope::new(
        "stripe",
        TenantId::parse("ten_a").unwrap(),
        chrono::Utc::now(),
        body.as_bytes(),
    );
    let msg = QueueMessage {
        message_id: format!("m{n}"),
        receipt_handle: format!("r{n}"),
        body: serde_json::to_string(&env).unwrap(),
        receive_count: 1,
        trace_header: None,
    };
    w.process(&msg).await.expect("webhook processed");
}

/// The event types stored for a payment, oldest first.
async fn event_types(h: &Harness, id: &str) -> Vec<String> {
    let r = h.get(KEY_A, &format!("/v1/events?payment_id={id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut types: Vec<String> = json(&r)["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_string())
        .collect();
    types.reverse();
    types
}

/// Money confirmed after a final status: a declined card and a canceled Pix then get Stripe's
/// `payment_intent.succeeded`; a canceled Pix paid at the gateway is found by a refresh. Each
/// is recorded as `late_payment` (status unchanged), told once as
/// `payment.late_payment_received` (a redelivery or a second report adds nothing), counted in
/// usage and listed for the operator.
async fn late_money_is_recorded_once(b: Backend) {
    let h = Harness::new(b).await;
    let declined = json(
        &h.create(KEY_A, "declined", &card(2551, Some("stripe")))
            .await,
    );
    assert_eq!(s(&declined, "status"), "failed", "{declined}");
    let mut pix = pix_body(1990);
    pix["gateway"] = "stripe".into();
    let canceled = json(&h.create(KEY_A, "canceled", &pix).await);
    let auth = format!("Bearer {KEY_A}");
    let cancel = |id: String, idem: &'static str| {
        let (h, auth) = (&h, &auth);
        async move {
            let r = h
                .call(
                    http::Method::POST,
                    &format!("/v1/payments/{id}/cancel"),
                    &[("authorization", auth), ("idempotency-key", idem)],
                    "",
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };
    cancel(s(&canceled, "id"), "c1").await;
    let w = worker(&h);
    let declined_pi = "pi_paid_after_decline";
    let ev1 = stripe_pi_event(
        "evt_late_1",
        "payment_intent.succeeded",
        declined_pi,
        &s(&declined, "id"),
    );
    let ev2 = stripe_pi_event(
        "evt_late_2",
        "payment_intent.succeeded",
        &s(&canceled, "gateway_payment_id"),
        &s(&canceled, "id"),
    );
    deliver(&w, 1, &ev1).await;
    deliver(&w, 2, &ev2).await;
    // Redelivered, and reported again under another event id: nothing new.
    deliver(&w, 3, &ev1).await;
    deliver(
        &w,
        4,
        &stripe_pi_event(
            "evt_late_1_again",
            "payment_intent.succeeded",
            declined_pi,
            &s(&declined, "id"),
        ),
    )
    .await;
    deliver(&w, 5, &ev2).await;

    let expected: [(&Value, &str, i64, &[&str]); 2] = [
        (
            &declined,
            "failed",
            2551,
            &["payment.failed", "payment.late_payment_received"],
        ),
        (
            &canceled,
            "canceled",
            1990,
            &[
                "payment.pending",
                "payment.canceled",
                "payment.late_payment_received",
            ],
        ),
    ];
    for (p, status, amount, events) in expected {
        let id = s(p, "id");
        let now = json(&h.get(KEY_A, &format!("/v1/payments/{id}")).await);
        assert_eq!(s(&now, "status"), status, "status unchanged: {now}");
        let late = &now["late_payment"];
        assert_eq!(late["amount"], amount, "{now}");
        assert_eq!(late["currency"], "BRL", "{now}");
        assert_eq!(late["source"], "webhook", "{now}");
        assert!(late["received_at"].as_str().is_some(), "{now}");
        assert_eq!(event_types(&h, &id).await, events, "{now}");
    }

    // A canceled Pix whose payer paid at the gateway before the cancel reached it: a refresh
    // asks the gateway (same account: the simulator, for this test tenant) and records it.
    let mut pix2 = pix_body(2990);
    pix2["gateway"] = "stripe".into();
    let third = json(&h.create(KEY_A, "canceled-2", &pix2).await);
    cancel(s(&third, "id"), "c2").await;
    assert!(h.stripe.set_status(
        &s(&third, "gateway_payment_id"),
        shared::domain::PaymentStatus::Succeeded
    ));
    let r = h
        .get(
            KEY_A,
            &format!("/v1/payments/{}?refresh=true", s(&third, "id")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let now = json(&r);
    assert_eq!(s(&now, "status"), "canceled", "{now}");
    assert_eq!(now["late_payment"]["amount"], 2990, "{now}");
    assert_eq!(now["late_payment"]["source"], "refresh", "{now}");
    // Refreshed again: nothing new.
    h.get(
        KEY_A,
        &format!("/v1/payments/{}?refresh=true", s(&third, "id")),
    )
    .await;
    assert_eq!(
        event_types(&h, &s(&third, "id")).await,
        [
            "payment.pending",
            "payment.canceled",
            "payment.late_payment_received"
        ]
    );

    // Usage counts each late payment once, with its volume.
    let u = json(&h.get(KEY_A, "/v1/usage?month=2026-11").await);
    assert_eq!(u["payments"]["late_payments"], 3, "{u}");
    assert_eq!(u["volume"]["BRL"]["late"], 2551 + 1990 + 2990, "{u}");
    assert_eq!(u["volume"]["BRL"]["succeeded"], 0, "{u}");

    // The operator's list: payments holding late money.
    let r = h.get(KEY_A, "/v1/payments?late_payment=true").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut ids: Vec<String> = json(&r)["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| s(p, "id"))
        .collect();
    ids.sort();
    let mut want = vec![s(&declined, "id"), s(&canceled, "id"), s(&third, "id")];
    want.sort();
    assert_eq!(ids, want);
}

/// Payments stored before accounts were pinned (no `account`): a live tenant's charge known by
/// its id is reached through the current credentials (an id another account cannot act on);
/// without a charge id it is 409, never a look-up that could read "no charge" elsewhere; with
/// the credentials gone, 409.
async fn payments_stored_before_pins(b: Backend) {
    let cs = CredentialSetup::new(b).await;
    let fake = FakeStripe::start().await;
    let (registry, sim_calls) = counting_registry(&cs);
    let svc = cs.instance_on(std::time::Duration::from_secs(30), registry);
    assert_eq!(
        put_creds(&svc, KEY_A, "stripe", &stripe_creds(&fake))
            .await
            .status,
        200
    );
    let amb = json(&post_payment(&svc, KEY_A, "amb", &card(2550, Some("stripe"))).await);
    let paid = json(&post_payment(&svc, KEY_A, "paid", &card(2500, Some("stripe"))).await);
    let tid = TenantId::parse("ten_a").unwrap();
    for p in [&amb, &paid] {
        let pid = shared::domain::PaymentId::parse(&s(p, "id")).unwrap();
        let mut stored = cs.h.stores.payments.get(&tid, &pid).await.unwrap().unwrap();
        assert!(stored.account.is_some(), "new payments are pinned");
        stored.account = None;
        stored.version += 1;
        cs.h.stores
            .payments
            .update(&stored, &shared::ports::Effects::none())
            .await
            .unwrap();
    }
    cs.h.clock.advance(Duration::minutes(16));
    let r = refresh(&svc, &s(&amb, "id")).await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (409, "gateway_credentials_changed"),
        "{}",
        r.body
    );
    assert_eq!(s(&read(&svc, &s(&amb, "id")).await, "status"), "processing");
    let path = format!("/v1/payments/{}/refunds", s(&paid, "id"));
    let r = post_path(&svc, KEY_A, &path, "rf-1", r#"{"amount": 100}"#).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(fake.refunded(&s(&paid, "gateway_payment_id")), 100);
    assert_eq!(delete_creds(&svc, KEY_A, "stripe").await.status, 200);
    let r = post_path(&svc, KEY_A, &path, "rf-2", r#"{"amount": 100}"#).await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (409, "gateway_credentials_changed"),
        "{}",
        r.body
    );
    assert_eq!(sim_calls.load(Ordering::SeqCst), 0);
}

/// A failover orphan paid anyway (Stripe's Pix answered ambiguously, its orphan was canceled and
/// Asaas issued the payable charge; then Stripe reports the orphan paid): the payment at Asaas
/// is untouched, and the money is listed among the unmatched webhooks at once, for a refund.
async fn a_paid_failover_orphan_is_listed(b: Backend) {
    let h = Harness::new(b).await;
    let auth = format!("Bearer {KEY_A}");
    let r = h
        .call(
            http::Method::PUT,
            "/v1/routing",
            &[("authorization", &auth)],
            r#"{"pix": ["stripe", "asaas"]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Stripe's simulator makes the charge, then times out (ambiguous).
    let stripe = integration_tests::switchable::Switchable::new(h.stripe.clone());
    stripe.set_ambiguous_after_create(true);
    let mut registry = h.registry();
    registry.register(stripe.clone());
    let svc = shared::service::Orchestrator::new(
        h.stores.idempotency.clone(),
        h.stores.payments.clone(),
        h.stores.tenants.clone(),
        registry,
        h.clock.clone(),
        shared::service::ServiceConfig::default(),
    )
    .with_breaker_store(h.stores.breakers.clone())
    .with_create_commit(h.stores.commit.clone())
    .with_events(h.stores.outbox.clone(), h.stores.events.clone())
    .with_usage(h.stores.usage.clone());
    let r = post_payment(&svc, KEY_A, "orphan", &pix_body(1990)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = json(&r);
    assert_eq!(s(&p, "gateway"), "asaas", "{p}");
    assert!(
        p["attempts"][0]["code"]
            .as_str()
            .is_some_and(|c| c.ends_with("+orphan_canceled")),
        "{p}"
    );
    let w = worker(&h);
    deliver(
        &w,
        1,
        &stripe_pi_event(
            "evt_orphan_paid",
            "payment_intent.succeeded",
            "pi_orphan",
            &s(&p, "id"),
        ),
    )
    .await;
    let now = json(&h.get(KEY_A, &format!("/v1/payments/{}", s(&p, "id"))).await);
    assert_eq!(
        (s(&now, "status").as_str(), now["version"].as_u64()),
        ("pending", p["version"].as_u64()),
        "untouched: {now}"
    );
    assert!(now["late_payment"].is_null(), "{now}");
    let r = h.get(KEY_A, "/v1/webhooks/unmatched").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let listed = json(&r);
    let found = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|u| u["gateway_event_id"] == "evt_orphan_paid")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        found["reported"],
        shared::service::webhooks::PAID_ORPHAN,
        "{listed}"
    );
    assert_eq!(found["payment_id"], s(&p, "id").as_str(), "{listed}");
}

on_both_backends!(
    a_paid_failover_orphan_is_listed,
    payments_stored_before_pins,
    follow_ups_use_the_pinned_account_or_refuse,
    live_tenant_never_reaches_a_simulator,
    late_money_is_recorded_once
);
