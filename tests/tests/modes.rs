//! Test and live mode (issue 23, DESIGN §8): the key's prefix decides a request's mode. A
//! `sk_test_…` key's requests are the tenant's test twin (`<id>.test`): simulators only, and
//! their own payments, refunds, events, usage, idempotency keys and audit entries. A
//! `sk_live_…` key reaches only registered live credentials — a simulator is called 0 times.
//! Every object says which with `livemode`.

use async_trait::async_trait;
use http::Method;
use integration_tests::credentials::{call, put_creds, CredentialSetup};
use integration_tests::fakes::stripe::FakeStripe;
use integration_tests::{
    get_path, json, on_both_backends, pix_body, post_path, post_payment, Backend, LIVE_KEY_A,
    TEST_KEY_A,
};
use serde_json::{json, Value};
use shared::api::ApiResponse;
use shared::domain::{Currency, PaymentMethod, TenantId};
use shared::ports::{
    hash_api_key, ChargeLookup, ChargeRequest, Gateway, GatewayCharge, GatewayError, GatewayRefund,
    GatewayRegistry, RefundRequest,
};
use shared::service::Orchestrator;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A simulator counting every call made to it.
struct Counted {
    sim: Arc<dyn Gateway>,
    calls: Arc<AtomicUsize>,
}

impl Counted {
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Gateway for Counted {
    fn name(&self) -> &str {
        self.sim.name()
    }
    fn supports(&self, method: PaymentMethod) -> bool {
        self.sim.supports(method)
    }
    fn supports_currency(&self, currency: Currency) -> bool {
        self.sim.supports_currency(currency)
    }
    async fn create(&self, req: &ChargeRequest) -> Result<GatewayCharge, GatewayError> {
        self.count();
        self.sim.create(req).await
    }
    async fn lookup(&self, q: &ChargeLookup) -> Result<Option<GatewayCharge>, GatewayError> {
        self.count();
        self.sim.lookup(q).await
    }
    async fn retrieve(
        &self,
        id: &str,
        method: PaymentMethod,
    ) -> Result<GatewayCharge, GatewayError> {
        self.count();
        self.sim.retrieve(id, method).await
    }
    async fn cancel(&self, id: &str, method: PaymentMethod) -> Result<(), GatewayError> {
        self.count();
        self.sim.cancel(id, method).await
    }
    async fn refund(&self, req: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        self.count();
        self.sim.refund(req).await
    }
}

fn card(amount: i64) -> Value {
    json!({"amount": amount, "currency": "BRL", "method": "card",
        "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok_asaas"}}})
}

fn code(r: &ApiResponse) -> String {
    json(r)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn ids(r: &ApiResponse) -> Vec<String> {
    json(r)["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Tenant A with a test and a live key, a counting simulator registry, Stripe live credentials
/// (a fake Stripe) registered with the live key.
async fn setup(b: Backend) -> (CredentialSetup, Orchestrator, Arc<AtomicUsize>, FakeStripe) {
    let cs = CredentialSetup::new(b).await;
    let mut a =
        cs.h.stores
            .tenants
            .get(&TenantId::parse("ten_a").expect("id"))
            .await
            .expect("store")
            .expect("tenant a");
    a.api_key_sha256 = vec![hash_api_key(TEST_KEY_A), hash_api_key(LIVE_KEY_A)];
    cs.h.stores.tenants.put(&a).await.expect("keys");
    let calls = Arc::new(AtomicUsize::new(0));
    let mut registry = GatewayRegistry::default();
    let sims: [Arc<dyn Gateway>; 3] = [cs.h.efi.clone(), cs.h.stripe.clone(), cs.h.asaas.clone()];
    for sim in sims {
        registry.register(Arc::new(Counted {
            sim,
            calls: calls.clone(),
        }));
    }
    let svc = cs.instance_on(std::time::Duration::from_secs(30), registry);
    let fake = FakeStripe::start().await;
    let creds = json!({"secret_key": fake.api_key, "base_url": fake.base_url});
    // Credentials are live-mode configuration: a test key may not register them.
    let r = put_creds(&svc, TEST_KEY_A, "stripe", &creds).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (400, "livemode_required"),
        "{}",
        r.body
    );
    let r = put_creds(&svc, LIVE_KEY_A, "stripe", &creds).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (cs, svc, calls, fake)
}

/// One idempotency key in both modes makes two independent payments; each mode sees only its
/// own payments, events and usage; test reaches only simulators, live never.
async fn test_and_live_data_are_separate(b: Backend) {
    let (cs, svc, sim_calls, fake) = setup(b).await;
    assert_eq!(sim_calls.load(Ordering::SeqCst), 0);

    // Test mode: the Stripe simulator, never the tenant's live Stripe.
    let t = post_payment(&svc, TEST_KEY_A, "same-key", &card(2500)).await;
    assert_eq!(t.status, 201, "{}", t.body);
    let test_pay = json(&t);
    assert_eq!(test_pay["livemode"], false, "{test_pay}");
    assert_eq!(test_pay["status"], "succeeded", "{test_pay}");
    assert_eq!(
        fake.intents_created(),
        0,
        "test mode never reaches live credentials"
    );
    let after_test = sim_calls.load(Ordering::SeqCst);
    assert!(after_test >= 1, "test mode uses the simulators");
    // A test Pix: the efi simulator (no credentials needed in test mode).
    let tp = post_payment(&svc, TEST_KEY_A, "pix-1", &pix_body(1990)).await;
    assert_eq!(tp.status, 201, "{}", tp.body);
    assert_eq!(json(&tp)["livemode"], false);
    let after_test = sim_calls.load(Ordering::SeqCst);

    // Live mode, same idempotency key and body: a second, independent payment at Stripe.
    let l = post_payment(&svc, LIVE_KEY_A, "same-key", &card(2500)).await;
    assert_eq!(l.status, 201, "{}", l.body);
    assert!(
        !l.headers
            .iter()
            .any(|(h, _)| h.eq_ignore_ascii_case("idempotent-replayed")),
        "not a replay"
    );
    let live_pay = json(&l);
    assert_eq!(live_pay["livemode"], true, "{live_pay}");
    assert_ne!(live_pay["id"], test_pay["id"]);
    assert_eq!(fake.intents_created(), 1);
    // Live Pix: efi and asaas have no live credentials — not candidates, no simulator.
    let lp = post_payment(&svc, LIVE_KEY_A, "pix-1", &pix_body(1990)).await;
    assert_eq!(
        (lp.status, code(&lp).as_str()),
        (422, "gateway_not_configured"),
        "{}",
        lp.body
    );
    let mut pinned = pix_body(1990);
    pinned["gateway"] = "efi".into();
    let lp = post_payment(&svc, LIVE_KEY_A, "pix-2", &pinned).await;
    assert_eq!(
        (lp.status, code(&lp).as_str()),
        (422, "gateway_not_configured"),
        "{}",
        lp.body
    );

    assert_eq!(
        sim_calls.load(Ordering::SeqCst),
        after_test,
        "a live create called a simulator"
    );
    // The same key again in each mode replays that mode's payment.
    let again = post_payment(&svc, TEST_KEY_A, "same-key", &card(2500)).await;
    assert_eq!(json(&again)["id"], test_pay["id"]);
    let again = post_payment(&svc, LIVE_KEY_A, "same-key", &card(2500)).await;
    assert_eq!(json(&again)["id"], live_pay["id"]);

    let test_id = test_pay["id"].as_str().expect("id").to_string();
    let live_id = live_pay["id"].as_str().expect("id").to_string();
    let pix_id = json(&tp)["id"].as_str().expect("id").to_string();

    // GET by id across modes: 404.
    for (key, own, other) in [
        (TEST_KEY_A, &test_id, &live_id),
        (LIVE_KEY_A, &live_id, &test_id),
    ] {
        let r = get_path(&svc, key, &format!("/v1/payments/{own}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = get_path(&svc, key, &format!("/v1/payments/{other}")).await;
        assert_eq!(r.status, 404, "{}", r.body);
        let r = post_path(
            &svc,
            key,
            &format!("/v1/payments/{other}/refunds"),
            &format!("rf-{other}"),
            &json!({"amount": 100}).to_string(),
        )
        .await;
        assert_eq!(
            r.status, 404,
            "a refund of the other mode's payment: {}",
            r.body
        );
    }

    // Lists.
    let mut listed = ids(&get_path(&svc, TEST_KEY_A, "/v1/payments").await);
    listed.sort();
    let mut want = vec![test_id.clone(), pix_id.clone()];
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(
        ids(&get_path(&svc, LIVE_KEY_A, "/v1/payments").await),
        vec![live_id.clone()]
    );

    // A test refund: the simulator, livemode false, on the test payment only.
    let r = post_path(
        &svc,
        TEST_KEY_A,
        &format!("/v1/payments/{test_id}/refunds"),
        "rf-test",
        &json!({"amount": 500}).to_string(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json(&r)["livemode"], false, "{}", r.body);
    assert_eq!(json(&r)["payment"]["livemode"], false, "{}", r.body);
    assert_eq!(
        fake.refunded(live_pay["gateway_payment_id"].as_str().unwrap_or("")),
        0
    );
    let sims_before_live = sim_calls.load(Ordering::SeqCst);
    assert!(sims_before_live > after_test);
    // Live reads, refresh and refund: Stripe, never a simulator.
    let r = get_path(
        &svc,
        LIVE_KEY_A,
        &format!("/v1/payments/{live_id}?refresh=true"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post_path(
        &svc,
        LIVE_KEY_A,
        &format!("/v1/payments/{live_id}/refunds"),
        "rf-live",
        &json!({"amount": 700}).to_string(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json(&r)["livemode"], true, "{}", r.body);

    // Events: each mode lists its own, every one marked.
    for (key, live, own) in [
        (TEST_KEY_A, false, vec![test_id.clone(), pix_id.clone()]),
        (LIVE_KEY_A, true, vec![live_id.clone()]),
    ] {
        let r = get_path(&svc, key, "/v1/events?limit=100").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let events = json(&r)["data"].as_array().cloned().unwrap_or_default();
        assert!(!events.is_empty(), "{}", r.body);
        for e in &events {
            assert_eq!(e["livemode"], live, "{e}");
            assert!(
                own.iter().any(|p| e["payment_id"] == p.as_str()),
                "an event of the other mode: {e}"
            );
            assert_eq!(e["data"]["livemode"], live, "{e}");
            let id = e["id"].as_str().unwrap_or_default();
            let other = if live { TEST_KEY_A } else { LIVE_KEY_A };
            let r = get_path(&svc, other, &format!("/v1/events/{id}")).await;
            assert_eq!(r.status, 404, "{}", r.body);
        }
        // The callback body written with the change says the mode too.
        let stored =
            cs.h.stores
                .outbox
                .get(
                    &if live {
                        TenantId::parse("ten_a").expect("id")
                    } else {
                        TenantId::parse("ten_a.test").expect("id")
                    },
                    events[0]["id"].as_str().unwrap_or_default(),
                )
                .await
                .expect("store")
                .expect("event");
        let body: Value = serde_json::from_str(&stored.event.payload).expect("payload");
        assert_eq!(body["livemode"], live, "{body}");
        assert_eq!(body["data"]["livemode"], live, "{body}");
    }

    // Usage: each mode counts its own payments.
    for (key, live, total) in [(TEST_KEY_A, false, 2), (LIVE_KEY_A, true, 1)] {
        let r = get_path(&svc, key, "/v1/usage").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let u = json(&r);
        assert_eq!(
            (u["livemode"].clone(), u["payments"]["total"].clone()),
            (json!(live), json!(total)),
            "{u}"
        );
        assert_eq!(u["tenant_id"], "ten_a");
    }
    assert_eq!(
        sim_calls.load(Ordering::SeqCst),
        sims_before_live,
        "live mode called a simulator"
    );
    assert_eq!(fake.intents_created(), 1);
}

/// Keys: a key makes keys of its own mode (or the one asked for); listings name each key's
/// mode; audit entries stay in the mode of the key that made the change.
async fn keys_and_audit_follow_the_mode(b: Backend) {
    let (cs, svc, _calls, _fake) = setup(b).await;
    let svc = svc.with_audit(cs.h.stores.audit.clone());
    let k = call(&svc, TEST_KEY_A, Method::POST, "/v1/api_keys", "").await;
    assert_eq!(k.status, 201, "{}", k.body);
    let test_key = json(&k)["key"].as_str().expect("key").to_string();
    assert!(test_key.starts_with("sk_test_"), "{test_key}");
    assert_eq!(json(&k)["mode"], "test");
    // A test key never leads to live access: no live key, no revoking one, no secret rotation.
    let k = call(
        &svc,
        TEST_KEY_A,
        Method::POST,
        "/v1/api_keys",
        r#"{"mode": "live"}"#,
    )
    .await;
    assert_eq!(
        (k.status, code(&k).as_str()),
        (400, "livemode_required"),
        "{}",
        k.body
    );
    let r = call(
        &svc,
        TEST_KEY_A,
        Method::POST,
        "/v1/webhook_secrets/rotate",
        "",
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (400, "livemode_required"),
        "{}",
        r.body
    );
    let k = call(&svc, LIVE_KEY_A, Method::POST, "/v1/api_keys", "").await;
    assert_eq!(k.status, 201, "{}", k.body);
    let live_key = json(&k)["key"].as_str().expect("key").to_string();
    let live_key_id = json(&k)["id"].as_str().expect("id").to_string();
    assert!(live_key.starts_with("sk_live_"), "{live_key}");
    let r = call(
        &svc,
        TEST_KEY_A,
        Method::DELETE,
        &format!("/v1/api_keys/{live_key_id}"),
        "",
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (400, "livemode_required"),
        "{}",
        r.body
    );
    assert_eq!(
        get_path(&svc, &live_key, "/v1/payments").await.status,
        200,
        "not revoked"
    );
    // A live key may make a test key.
    let k = call(
        &svc,
        LIVE_KEY_A,
        Method::POST,
        "/v1/api_keys",
        r#"{"mode": "test"}"#,
    )
    .await;
    assert_eq!(
        (k.status, json(&k)["mode"].clone()),
        (201, json!("test")),
        "{}",
        k.body
    );
    let bad = call(
        &svc,
        LIVE_KEY_A,
        Method::POST,
        "/v1/api_keys",
        r#"{"mode": "sandbox"}"#,
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    // The new test key sees the test payments; the new live key the live ones.
    let p = post_payment(&svc, &test_key, "k-1", &pix_body(1000)).await;
    assert_eq!(
        (p.status, json(&p)["livemode"].clone()),
        (201, json!(false)),
        "{}",
        p.body
    );
    let id = json(&p)["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        get_path(&svc, TEST_KEY_A, &format!("/v1/payments/{id}"))
            .await
            .status,
        200
    );
    assert_eq!(
        get_path(&svc, &live_key, &format!("/v1/payments/{id}"))
            .await
            .status,
        404
    );

    let list = call(&svc, LIVE_KEY_A, Method::GET, "/v1/api_keys", "").await;
    let modes: Vec<Value> = json(&list)["data"]
        .as_array()
        .map(|a| a.iter().map(|k| k["mode"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        modes,
        vec![
            json!(null),
            json!(null),
            json!("test"),
            json!("live"),
            json!("test")
        ],
        "the keys of the tenant (from the file: no recorded mode): {}",
        list.body
    );

    // Audit: one creation by the test key, two by the live key.
    for (key, live, n) in [(TEST_KEY_A, false, 1), (LIVE_KEY_A, true, 2)] {
        let r = call(&svc, key, Method::GET, "/v1/audit", "").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let entries = json(&r)["data"].as_array().cloned().unwrap_or_default();
        assert_eq!(entries.len(), n, "{}", r.body);
        assert!(entries.iter().all(|e| e["livemode"] == live), "{}", r.body);
    }
}

on_both_backends!(
    test_and_live_data_are_separate,
    keys_and_audit_follow_the_mode
);

/// The twin's gateway webhook URL (`/webhooks/stripe/ten_a.test`) reaches the test payment,
/// and its callback (to the tenant's callback URL, signed with its secret) says
/// `livemode: false`; the same webhook at the live URL never moves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn test_mode_webhooks_and_callbacks() {
    use integration_tests::pipeline::{now, stripe_pi_event, Pipeline, STRIPE_SECRET};
    let p = Pipeline::start(std::time::Duration::from_secs(0)).await;
    let a_id = TenantId::parse("ten_a").expect("id");
    let mut a =
        p.h.stores
            .tenants
            .get(&a_id)
            .await
            .expect("store")
            .expect("a");
    a.api_key_sha256.push(hash_api_key(TEST_KEY_A));
    p.h.stores.tenants.put(&a).await.expect("keys");
    let mut body = pix_body(1990);
    body["gateway"] = "stripe".into();
    let r = p.h.create(TEST_KEY_A, "pix-test", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let pay = json(&r);
    assert_eq!(
        (pay["status"].as_str(), pay["livemode"].as_bool()),
        (Some("pending"), Some(false))
    );
    let id = pay["id"].as_str().expect("id").to_string();
    let pi = pay["gateway_payment_id"].as_str().expect("pi").to_string();
    let sign = |body: &str| {
        let t = now();
        format!(
            "t={t},v1={}",
            shared::signing::stripe::compute(STRIPE_SECRET, t, body.as_bytes())
        )
    };
    // At the live URL: no such live payment; the test payment does not move.
    let event = stripe_pi_event("evt_twin_1", "payment_intent.succeeded", &pi, &id);
    let r = p
        .post(
            "/webhooks/stripe/ten_a",
            &[("stripe-signature", &sign(&event))],
            &event,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    p.drain().await;
    let now_pay = json(&p.h.get(TEST_KEY_A, &format!("/v1/payments/{id}")).await);
    assert_eq!(now_pay["status"], "pending", "{now_pay}");
    // At the twin's URL: applied.
    let event = stripe_pi_event("evt_twin_2", "payment_intent.succeeded", &pi, &id);
    let r = p
        .post(
            "/webhooks/stripe/ten_a.test",
            &[("stripe-signature", &sign(&event))],
            &event,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    p.drain().await;
    let now_pay = json(&p.h.get(TEST_KEY_A, &format!("/v1/payments/{id}")).await);
    assert_eq!(now_pay["status"], "succeeded", "{now_pay}");
    assert_eq!(p.types_for(&id), ["payment.pending", "payment.succeeded"]);
    let callbacks = p.callbacks();
    assert!(!callbacks.is_empty());
    for cb in callbacks {
        assert_eq!(cb.body["livemode"], false, "{}", cb.body);
        assert_eq!(cb.body["data"]["livemode"], false, "{}", cb.body);
    }
}
