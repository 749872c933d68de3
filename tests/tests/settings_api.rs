//! Issue 24: a tenant sees and changes its callback URL (`GET`/`PATCH /v1/settings`; the operator
//! through `PATCH /v1/admin/tenants/{id}`), and sends a signed test event to it
//! (`POST /v1/webhook_endpoint/test`) with the delivery shown. Both backends.
//!
//! The rule pinned here for events already queued when the URL changes: an event without a URL
//! of its own (a payment created without `callback_url`) goes to the tenant's URL as it is at
//! each attempt — so a merchant who fixes a wrong URL gets the waiting events at the new one.
//! Before this change the create copied the tenant's URL onto the payment, and every later
//! attempt (and every later event of that payment) went to the old URL.

use bytes::Bytes;
use chrono::Duration as Span;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use integration_tests::merchant::Merchant;
use integration_tests::pipeline::CALLBACK_SECRET;
use integration_tests::{
    json, on_both_backends, Backend, Harness, OutboxFeed, KEY_A, KEY_B, LIVE_KEY_A, TEST_KEY_A,
};
use serde_json::{json, Value};
use shared::adapters::memory::{MemoryQueue, MemoryQueues};
use shared::api::{handle, ApiRequest, ApiResponse};
use shared::domain::TenantId;
use shared::ports::{hash_api_key, StoreError, WebhookQueue};
use shared::service::webhooks::{QueueMessage, Relay, RetrySchedule, TenantCache, WebhookWorker};
use shared::service::{Orchestrator, ServiceConfig};
use shared::signing::standard_webhooks::{verify, CallbackSecret};
use std::sync::Arc;
use std::time::Duration;

const OPERATOR_KEY: &str = "op_test_settings_0123456789abcdef";

struct Fixture {
    h: Harness,
    /// The API as deployed locally: loopback http callbacks allowed, an operator key.
    svc: Arc<Orchestrator>,
    queues: Arc<MemoryQueues>,
    worker: WebhookWorker,
    feed: OutboxFeed,
    relay: Relay,
}

fn config() -> ServiceConfig {
    ServiceConfig {
        allow_loopback_callbacks: true,
        operator_key_hashes: vec![hash_api_key(OPERATOR_KEY)],
        ..ServiceConfig::default()
    }
}

/// Another API instance on the same stores and clock (its own tenant cache).
fn instance(h: &Harness, queue: Arc<dyn WebhookQueue>) -> Orchestrator {
    Orchestrator::new(
        h.stores.idempotency.clone(),
        h.stores.payments.clone(),
        h.stores.tenants.clone(),
        h.registry(),
        h.clock.clone(),
        config(),
    )
    .with_breaker_store(h.stores.breakers.clone())
    .with_create_commit(h.stores.commit.clone())
    .with_events(h.stores.outbox.clone(), h.stores.events.clone())
    .with_usage(h.stores.usage.clone())
    .with_audit(h.stores.audit.clone())
    .with_endpoints(h.stores.endpoints.clone())
    .with_delivery_queue(queue)
}

async fn fixture(backend: Backend) -> Fixture {
    let h = Harness::new(backend).await;
    for id in ["ten_a", "ten_b"] {
        let tid = TenantId::parse(id).unwrap();
        let mut t = h.stores.tenants.get(&tid).await.unwrap().unwrap();
        t.callback_secrets = vec![CALLBACK_SECRET.into()];
        if id == "ten_a" {
            t.api_key_sha256
                .extend([hash_api_key(TEST_KEY_A), hash_api_key(LIVE_KEY_A)]);
        }
        h.stores.tenants.put(&t).await.unwrap();
    }
    let queues = Arc::new(MemoryQueues::new(
        shared::service::webhooks::MAX_RECEIVE_COUNT,
        10_000,
    ));
    let svc = Arc::new(instance(&h, queues.clone()));
    let worker = WebhookWorker::new(
        shared::gateways::webhooks::WebhookRegistry::standard(),
        // No cache: the worker reads the tenant at each delivery (deployed: at most 60 s old).
        TenantCache::new(h.stores.tenants.clone(), Duration::ZERO),
        h.stores.worker_stores(),
        Arc::new(shared::adapters::http::HttpCallbackSender::new(true).expect("sender")),
        queues.clone(),
        h.clock.clone(),
        RetrySchedule::default(),
    );
    let feed = h.stores.outbox_feed().await;
    Fixture {
        relay: Relay::new(queues.clone()),
        h,
        svc,
        queues,
        worker,
        feed,
    }
}

async fn call(
    svc: &Orchestrator,
    method: Method,
    path: &str,
    key: &str,
    body: &str,
    idem: Option<&str>,
) -> ApiResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
    );
    if let Some(i) = idem {
        headers.insert(
            HeaderName::from_static("idempotency-key"),
            HeaderValue::from_str(i).unwrap(),
        );
    }
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path.to_string(), None),
    };
    handle(
        svc,
        ApiRequest {
            method,
            path,
            query,
            headers,
            body: Bytes::copy_from_slice(body.as_bytes()),
            deadline: None,
            source_ip: None,
            client_cert_issuer: None,
        },
    )
    .await
}

impl Fixture {
    async fn get_settings(&self, key: &str) -> Value {
        let r = call(&self.svc, Method::GET, "/v1/settings", key, "", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        json(&r)
    }

    async fn patch(&self, key: &str, body: &str) -> ApiResponse {
        call(&self.svc, Method::PATCH, "/v1/settings", key, body, None).await
    }

    async fn set_url(&self, key: &str, url: &str) {
        let r = self
            .patch(key, &json!({ "callback_url": url }).to_string())
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(json(&r)["callback_url"], url);
    }

    async fn test_event(&self, key: &str) -> ApiResponse {
        call(
            &self.svc,
            Method::POST,
            "/v1/webhook_endpoint/test",
            key,
            "{}",
            None,
        )
        .await
    }

    async fn stored_url(&self, id: &str) -> (Option<String>, u64) {
        let t = self
            .h
            .stores
            .tenants
            .get(&TenantId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        (t.callback_url.map(|u| u.as_str().to_string()), t.version)
    }

    async fn audit(&self, key: &str) -> Vec<Value> {
        let r = call(&self.svc, Method::GET, "/v1/audit", key, "", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        json(&r)["data"].as_array().unwrap().clone()
    }

    /// A card payment that succeeds at once (one `payment.succeeded` event), relayed.
    async fn pay(&mut self, idem: &str) -> String {
        let body = json!({"amount": 1011, "currency": "BRL", "method": "card", "gateway": "stripe",
            "card": {"tokens": {"stripe": "pm_card_visa"}}});
        let r = call(
            &self.svc,
            Method::POST,
            "/v1/payments",
            KEY_A,
            &body.to_string(),
            Some(idem),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        while self.feed.relay_once(&self.relay).await.expect("relay") > 0 {}
        json(&r)["id"].as_str().unwrap().to_string()
    }

    /// The delivery queue's consumer until it is empty of visible messages.
    async fn poll(&self) {
        let q = &self.queues.delivery;
        loop {
            let batch = received(q);
            if batch.is_empty() {
                return;
            }
            let failed = self.worker.process_batch(batch.clone()).await.unwrap();
            for m in batch.iter().filter(|m| !failed.contains(&m.message_id)) {
                q.delete(&m.receipt_handle);
            }
        }
    }

    async fn later(&self, by: Span) {
        self.h.clock.advance(by);
        self.queues.delivery.reveal_waiting();
        self.poll().await;
    }

    async fn event_of(&self, payment: &str) -> Value {
        let path = format!("/v1/events?payment_id={payment}");
        let r = call(&self.svc, Method::GET, &path, KEY_A, "", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        json(&r)["data"][0].clone()
    }
}

fn received(q: &MemoryQueue) -> Vec<QueueMessage> {
    q.receive(10, Duration::from_secs(60))
        .into_iter()
        .map(|m| QueueMessage {
            message_id: m.message_id,
            receipt_handle: m.receipt_handle,
            body: m.body,
            receive_count: m.receive_count,
            trace_header: None,
        })
        .collect()
}

/// Every callback `m` received, each signature checked with the tenant's secret; the bodies.
fn verified(m: &Merchant) -> Vec<Value> {
    let secret = CallbackSecret::parse(CALLBACK_SECRET).unwrap();
    m.received()
        .into_iter()
        .map(|cb| {
            // Signed at the service clock's time (the manual clock): checked against it, as a
            // merchant whose clock agrees would.
            verify(
                std::slice::from_ref(&secret),
                &cb.webhook_id,
                cb.timestamp,
                cb.body.as_bytes(),
                &cb.signature,
                cb.timestamp,
            )
            .expect("signature verifies with the tenant's secret");
            let body: Value = serde_json::from_str(&cb.body).unwrap();
            assert_eq!(
                body["id"],
                cb.webhook_id.as_str(),
                "body id is the webhook-id"
            );
            body
        })
        .collect()
}

fn error_of(r: &ApiResponse) -> (u16, String, Option<String>) {
    let e = json(r);
    (
        r.status,
        e["error"]["code"].as_str().unwrap_or("").to_string(),
        e["error"]["param"].as_str().map(str::to_string),
    )
}

/// Read, set, clear; the audit keeps each change with before and after.
async fn settings_are_read_changed_and_cleared(b: Backend) {
    let f = fixture(b).await;
    let s = f.get_settings(KEY_A).await;
    assert_eq!(
        s,
        json!({"object": "settings", "tenant_id": "ten_a", "name": "ten_a",
               "livemode": false, "callback_url": null})
    );
    let live = f.get_settings(LIVE_KEY_A).await;
    assert_eq!(
        (live["livemode"].clone(), live["tenant_id"].clone()),
        (json!(true), json!("ten_a"))
    );
    let test = f.get_settings(TEST_KEY_A).await;
    assert_eq!(
        (test["livemode"].clone(), test["tenant_id"].clone()),
        (json!(false), json!("ten_a"))
    );

    let (_, v0) = f.stored_url("ten_a").await;
    f.set_url(KEY_A, "https://shop.example/hooks").await;
    assert_eq!(
        f.get_settings(KEY_A).await["callback_url"],
        "https://shop.example/hooks"
    );
    assert_eq!(
        f.stored_url("ten_a").await,
        (Some("https://shop.example/hooks".into()), v0 + 1),
        "one versioned write"
    );
    // The same URL again writes nothing.
    f.set_url(KEY_A, "https://shop.example/hooks").await;
    assert_eq!(f.stored_url("ten_a").await.1, v0 + 1);

    let r = f.patch(KEY_A, r#"{"callback_url": null}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["callback_url"], Value::Null);
    assert_eq!(f.stored_url("ten_a").await, (None, v0 + 2));
    // `{}` asks for nothing and changes nothing.
    let r = f.patch(KEY_A, "{}").await;
    assert_eq!(
        (r.status, json(&r)["callback_url"].clone()),
        (200, Value::Null)
    );

    let changes: Vec<(Value, Value)> = f
        .audit(KEY_A)
        .await
        .into_iter()
        .filter(|e| e["action"] == "settings.callback_url")
        .map(|e| {
            (
                e["before"]["callback_url"].clone(),
                e["after"]["callback_url"].clone(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (json!("https://shop.example/hooks"), Value::Null),
            (Value::Null, json!("https://shop.example/hooks")),
        ],
        "newest first, one entry per change"
    );
}

/// Bad URLs, unknown fields, bad JSON and a test key: a clear 400 naming the problem, and
/// nothing stored or audited.
async fn bad_changes_are_refused_and_change_nothing(b: Backend) {
    let f = fixture(b).await;
    f.set_url(KEY_A, "https://shop.example/hooks").await;
    let before = f.stored_url("ten_a").await;
    let audited = f.audit(KEY_A).await.len();
    for (body, code, param) in [
        (
            r#"{"callback_url": "ftp://shop.example/h"}"#,
            "invalid_callback_url",
            Some("callback_url"),
        ),
        (
            r#"{"callback_url": "http://shop.example/h"}"#,
            "invalid_callback_url",
            Some("callback_url"),
        ),
        (
            r#"{"callback_url": "https://"}"#,
            "invalid_callback_url",
            Some("callback_url"),
        ),
        (
            r#"{"callback_url": 42}"#,
            "parameter_invalid_type",
            Some("callback_url"),
        ),
        (
            r#"{"callback_url": "https://ok.example", "url": "x"}"#,
            "unknown_parameter",
            Some("url"),
        ),
        (
            r#"{"callback_url": "https://ok.example"#,
            "body_not_json",
            None,
        ),
        (r#"["https://ok.example"]"#, "body_not_object", None),
        ("", "body_not_json", None),
    ] {
        let r = f.patch(KEY_A, body).await;
        assert_eq!(
            error_of(&r),
            (400, code.to_string(), param.map(str::to_string)),
            "{body}: {}",
            r.body
        );
    }
    let long = format!("https://shop.example/{}", "a".repeat(2100));
    let r = f
        .patch(KEY_A, &json!({ "callback_url": long }).to_string())
        .await;
    assert_eq!(error_of(&r).1, "invalid_callback_url");
    // A test key never moves where live events go.
    let r = f
        .patch(
            TEST_KEY_A,
            r#"{"callback_url": "https://elsewhere.example/h"}"#,
        )
        .await;
    assert_eq!(
        error_of(&r),
        (
            400,
            "livemode_required".into(),
            Some("Authorization".into())
        )
    );
    assert_eq!(f.stored_url("ten_a").await, before, "nothing changed");
    assert_eq!(f.audit(KEY_A).await.len(), audited, "nothing audited");
}

/// Another tenant's key reads and changes only its own settings.
async fn tenants_never_see_or_change_each_other(b: Backend) {
    let f = fixture(b).await;
    f.set_url(KEY_A, "https://a.example/hooks").await;
    let other = f.get_settings(KEY_B).await;
    assert_eq!(
        (other["tenant_id"].clone(), other["callback_url"].clone()),
        (json!("ten_b"), Value::Null)
    );
    f.set_url(KEY_B, "https://b.example/hooks").await;
    assert_eq!(
        f.stored_url("ten_a").await.0.as_deref(),
        Some("https://a.example/hooks")
    );
    assert_eq!(
        f.stored_url("ten_b").await.0.as_deref(),
        Some("https://b.example/hooks")
    );
    assert!(f
        .audit(KEY_A)
        .await
        .iter()
        .all(|e| e["after"]["callback_url"] != "https://b.example/hooks"));
    // B's test event goes to B's URL, never A's.
    let m = Merchant::start().await;
    f.set_url(KEY_A, &m.url).await;
    let r = f.test_event(KEY_B).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["delivery"]["url"], "https://b.example/hooks");
    assert!(m.received().is_empty(), "A's endpoint got nothing of B's");
}

/// The operator sets and clears a tenant's URL; bad input is refused with nothing changed; the
/// tenant's audit shows the operator did it.
async fn the_operator_changes_a_tenants_callback_url(b: Backend) {
    let f = fixture(b).await;
    let admin = |body: &'static str| {
        call(
            &f.svc,
            Method::PATCH,
            "/v1/admin/tenants/ten_a",
            OPERATOR_KEY,
            body,
            None,
        )
    };
    let r = admin(r#"{"callback_url": "https://ops.example/hooks"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["callback_url"], "https://ops.example/hooks");
    assert_eq!(
        f.get_settings(KEY_A).await["callback_url"],
        "https://ops.example/hooks"
    );
    let before = f.stored_url("ten_a").await;
    let r = admin(r#"{"callback_url": "http://ops.example/hooks"}"#).await;
    assert_eq!(
        error_of(&r),
        (
            400,
            "invalid_callback_url".into(),
            Some("callback_url".into())
        )
    );
    let r = admin(r#"{"name": "Renamed", "callback_url": 7}"#).await;
    assert_eq!(error_of(&r).0, 400);
    assert_eq!(f.stored_url("ten_a").await, before, "nothing changed");
    // A patch without the field leaves the URL alone.
    let r = admin(r#"{"name": "Renamed"}"#).await;
    assert_eq!(json(&r)["callback_url"], "https://ops.example/hooks");
    let r = admin(r#"{"callback_url": null}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["callback_url"], Value::Null);
    assert_eq!(f.get_settings(KEY_A).await["callback_url"], Value::Null);
    let by_operator: Vec<Value> = f
        .audit(KEY_A)
        .await
        .into_iter()
        .filter(|e| e["action"] == "settings.callback_url")
        .collect();
    assert_eq!(by_operator.len(), 2);
    assert!(by_operator.iter().all(|e| e["actor"] == "operator"));
    // A tenant key is not an operator key.
    let r = call(
        &f.svc,
        Method::PATCH,
        "/v1/admin/tenants/ten_a",
        KEY_A,
        r#"{"callback_url": "https://x.example"}"#,
        None,
    )
    .await;
    assert_eq!(r.status, 401);
}

/// The next payment's event goes to the new URL, and so does an event still waiting for a retry
/// of the old, failing one (the rule above). Fails before this change: the payment carried the
/// old URL.
async fn events_follow_the_url_they_are_delivered_at(b: Backend) {
    let mut f = fixture(b).await;
    let old = Merchant::start().await;
    old.respond_with(500);
    let new = Merchant::start().await;
    f.set_url(KEY_A, &old.url).await;
    let first = f.pay("before-change").await;
    f.poll().await;
    assert_eq!(
        old.received().len(),
        1,
        "attempted at the old URL and failed"
    );
    assert_eq!(f.event_of(&first).await["delivery"]["state"], "pending");

    f.set_url(KEY_A, &new.url).await;
    let second = f.pay("after-change").await;
    f.poll().await;
    // The waiting retry (5 s on the schedule) comes due.
    for _ in 0..4 {
        f.later(Span::minutes(16)).await;
    }
    let got: Vec<String> = verified(&new)
        .iter()
        .map(|b| b["data"]["id"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(got.contains(&second), "the next payment's event: {got:?}");
    assert!(
        got.contains(&first),
        "the event waiting for a retry: {got:?}"
    );
    assert_eq!(old.received().len(), 1, "the old URL got nothing more");
    for p in [&first, &second] {
        assert_eq!(f.event_of(p).await["delivery"]["state"], "delivered");
    }
}

/// The test event reaches the endpoint signed with the tenant's secret, is shown as delivered,
/// and leaves no event, payment or message behind — only an audit line.
async fn a_test_event_is_delivered_and_verifies(b: Backend) {
    let f = fixture(b).await;
    let m = Merchant::start().await;
    f.set_url(KEY_A, &m.url).await;
    let r = f.test_event(KEY_A).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let out = json(&r);
    assert_eq!(out["object"], "webhook_test");
    let ev = &out["event"];
    assert!(ev["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(
        (
            ev["object"].clone(),
            ev["type"].clone(),
            ev["livemode"].clone()
        ),
        (json!("event"), json!("webhook.test"), json!(false))
    );
    let d = &out["delivery"];
    assert_eq!(
        (
            d["url"].as_str(),
            d["delivered"].clone(),
            d["response_status"].clone(),
            d["error"].clone()
        ),
        (Some(m.url.as_str()), json!(true), json!(200), Value::Null)
    );
    assert!(d["duration_ms"].as_u64().is_some());
    let bodies = verified(&m);
    assert_eq!(bodies.len(), 1, "sent once");
    assert_eq!(bodies[0]["id"], ev["id"]);
    assert_eq!(bodies[0]["type"], "webhook.test");
    assert_eq!(bodies[0]["data"], ev["data"]);
    // With the live key it says live.
    let r = f.test_event(LIVE_KEY_A).await;
    assert_eq!(json(&r)["event"]["livemode"], true);
    assert_eq!(verified(&m)[1]["livemode"], true);
    // Nothing stored as an event, nothing queued.
    let events = call(&f.svc, Method::GET, "/v1/events", KEY_A, "", None).await;
    assert_eq!(json(&events)["data"], json!([]));
    assert_eq!(f.queues.delivery.len(), 0);
    assert_eq!(f.h.stores.payment_count().await, 0);
    let audit = f.audit(KEY_A).await;
    assert_eq!(audit[0]["action"], "webhook_endpoint.test");
    assert_eq!(audit[0]["after"]["delivered"], true);
    // The body takes nothing.
    let r = call(
        &f.svc,
        Method::POST,
        "/v1/webhook_endpoint/test",
        KEY_A,
        r#"{"url": "https://x.example"}"#,
        None,
    )
    .await;
    assert_eq!(
        error_of(&r),
        (400, "unknown_parameter".into(), Some("url".into()))
    );
    let r = call(
        &f.svc,
        Method::POST,
        "/v1/webhook_endpoint/test",
        KEY_A,
        "",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "an empty body is {{}}");
}

/// A failing endpoint: 200 with `delivered: false` and why — refused connection, an error
/// status, a hang cut at the bound — never retried.
async fn a_test_event_to_a_failing_endpoint_shows_the_failure(b: Backend) {
    let f = fixture(b).await;
    // Nothing listens here.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    f.set_url(KEY_A, &format!("http://127.0.0.1:{port}/hooks"))
        .await;
    let r = f.test_event(KEY_A).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = json(&r)["delivery"].clone();
    assert_eq!(
        (d["delivered"].clone(), d["response_status"].clone()),
        (json!(false), Value::Null)
    );
    assert!(d["error"].as_str().is_some_and(|e| !e.is_empty()), "{d}");

    let m = Merchant::start().await;
    m.respond_with(500);
    f.set_url(KEY_A, &m.url).await;
    let d = json(&f.test_event(KEY_A).await)["delivery"].clone();
    assert_eq!(
        (d["delivered"].clone(), d["response_status"].clone()),
        (json!(false), json!(500))
    );
    assert!(d["error"].as_str().is_some());
    assert_eq!(m.received().len(), 1, "never retried");

    m.respond_with(200);
    m.delay(7_000);
    let started = std::time::Instant::now();
    let d = json(&f.test_event(KEY_A).await)["delivery"].clone();
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(6_500),
        "bounded by 5 s: {took:?}"
    );
    assert_eq!(d["delivered"], false);
    assert!(d["error"].as_str().unwrap().contains("5 s"), "{d}");
}

/// At most ten test events a minute per tenant on one instance: the eleventh is a 429 with
/// `Retry-After`, another tenant is unaffected, and the next minute (service clock) allows more.
async fn test_events_are_paced(b: Backend) {
    let f = fixture(b).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    f.set_url(KEY_A, &format!("http://127.0.0.1:{port}/hooks"))
        .await;
    // Start at the top of a minute so all eleven fall in one.
    let now = shared::clock::Clock::now(&*f.h.clock).timestamp();
    f.h.clock.advance(Span::seconds(60 - now.rem_euclid(60)));
    for i in 0..10 {
        let r = f.test_event(KEY_A).await;
        assert_eq!(r.status, 200, "{i}: {}", r.body);
    }
    let r = f.test_event(KEY_A).await;
    assert_eq!(
        error_of(&r),
        (429, "rate_limited".into(), None),
        "{}",
        r.body
    );
    assert!(
        r.headers.iter().any(|(k, _)| *k == "retry-after"),
        "{:?}",
        r.headers
    );
    // Another tenant has its own count (it has no URL: 422, not 429).
    assert_eq!(f.test_event(KEY_B).await.status, 422);
    f.h.clock.advance(Span::seconds(60));
    assert_eq!(f.test_event(KEY_A).await.status, 200);
}

/// Without a callback URL there is nowhere to send: 422 `no_callback_url`.
async fn no_callback_url_is_422(b: Backend) {
    let f = fixture(b).await;
    let r = f.test_event(KEY_A).await;
    assert_eq!(
        error_of(&r),
        (422, "no_callback_url".into(), None),
        "{}",
        r.body
    );
    assert!(f.audit(KEY_A).await.is_empty());
}

/// Another API instance keeps its cached tenant for the cache period (60 s on the service
/// clock): its `GET /v1/settings` shows the old URL until then. The test event reads the stored
/// tenant, so it always goes where the settings now say.
async fn other_instances_see_the_change_within_the_cache_period(b: Backend) {
    let f = fixture(b).await;
    let other = instance(&f.h, f.queues.clone());
    let m = Merchant::start().await;
    f.set_url(KEY_A, "https://old.example/hooks").await;
    let r = call(&other, Method::GET, "/v1/settings", KEY_A, "", None).await;
    assert_eq!(json(&r)["callback_url"], "https://old.example/hooks");
    f.set_url(KEY_A, &m.url).await;
    let r = call(&other, Method::GET, "/v1/settings", KEY_A, "", None).await;
    assert_eq!(
        json(&r)["callback_url"],
        "https://old.example/hooks",
        "cached copy"
    );
    let r = call(
        &other,
        Method::POST,
        "/v1/webhook_endpoint/test",
        KEY_A,
        "{}",
        None,
    )
    .await;
    assert_eq!(
        json(&r)["delivery"]["url"],
        m.url.as_str(),
        "the stored URL"
    );
    assert_eq!(m.received().len(), 1);
    f.h.clock.advance(Span::seconds(61));
    let r = call(&other, Method::GET, "/v1/settings", KEY_A, "", None).await;
    assert_eq!(
        json(&r)["callback_url"],
        m.url.as_str(),
        "after the cache period"
    );
}

/// The store: a change read from an older version is refused (so concurrent changes never undo
/// each other), a keys-unchanged change leaves every key working, and concurrent PATCHes each
/// land once.
async fn the_change_is_one_conditional_write(b: Backend) {
    let f = fixture(b).await;
    let tenants = f.h.stores.tenants.clone();
    let id = TenantId::parse("ten_a").unwrap();
    let read = tenants.get(&id).await.unwrap().unwrap();
    let mut one = read.clone();
    one.callback_url =
        Some(shared::domain::CallbackUrl::parse("https://one.example", false).unwrap());
    let mut two = read.clone();
    two.callback_url =
        Some(shared::domain::CallbackUrl::parse("https://two.example", false).unwrap());
    tenants.replace_keeping_keys(&one).await.unwrap();
    assert!(matches!(
        tenants.replace_keeping_keys(&two).await,
        Err(StoreError::Conflict(_))
    ));
    let now = tenants.get(&id).await.unwrap().unwrap();
    assert_eq!(
        now.callback_url.as_ref().map(|u| u.as_str()),
        Some("https://one.example")
    );
    assert_eq!(now.version, read.version + 1);
    for key in [KEY_A, TEST_KEY_A, LIVE_KEY_A] {
        assert_eq!(
            tenants
                .by_api_key_hash(&hash_api_key(key))
                .await
                .unwrap()
                .map(|t| t.id),
            Some(id.clone()),
            "{key} still authenticates"
        );
    }
    let urls: Vec<String> = (0..4).map(|i| format!("https://c{i}.example/h")).collect();
    let tasks: Vec<_> = urls
        .iter()
        .map(|u| {
            let svc = f.svc.clone();
            let body = json!({ "callback_url": u }).to_string();
            tokio::spawn(async move {
                call(&svc, Method::PATCH, "/v1/settings", KEY_A, &body, None)
                    .await
                    .status
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (url, version) = f.stored_url("ten_a").await;
    assert!(urls.contains(&url.unwrap()));
    assert_eq!(version, read.version + 1 + 4, "each change written once");
    let changes = f
        .audit(KEY_A)
        .await
        .iter()
        .filter(|e| e["action"] == "settings.callback_url")
        .count();
    assert_eq!(changes, 4);
}

on_both_backends!(
    settings_are_read_changed_and_cleared,
    bad_changes_are_refused_and_change_nothing,
    tenants_never_see_or_change_each_other,
    the_operator_changes_a_tenants_callback_url,
    events_follow_the_url_they_are_delivered_at,
    a_test_event_is_delivered_and_verifies,
    a_test_event_to_a_failing_endpoint_shows_the_failure,
    no_callback_url_is_422,
    test_events_are_paced,
    other_instances_see_the_change_within_the_cache_period,
    the_change_is_one_conditional_write,
);

/// Counts the DynamoDB requests a client sends.
#[derive(Debug, Clone, Default)]
struct Requests(Arc<std::sync::atomic::AtomicUsize>);

impl aws_sdk_dynamodb::config::Intercept for Requests {
    fn name(&self) -> &'static str {
        "settings-request-counter"
    }

    fn read_before_execution(
        &self,
        _ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// On DynamoDB a change that keeps the keys is exactly one request (the conditional `PutItem`):
/// no read, no key index write — where `replace` reads and rewrites every key's index item.
#[tokio::test]
async fn on_dynamodb_a_callback_url_change_is_one_request() {
    use aws_sdk_dynamodb::config::{Credentials, Region};
    use std::sync::atomic::Ordering;
    let counter = Requests::default();
    let conf = aws_sdk_dynamodb::Config::builder()
        .http_client(shared::adapters::aws::http_client())
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(integration_tests::moto_endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .interceptor(counter.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let tables = integration_tests::fresh_tables(&client).await;
    let store = shared::adapters::aws::DynamoTenantStore::new(client, &tables.tenants);
    use shared::ports::TenantStore;
    let mut t = integration_tests::tenant("ten_a", KEY_A);
    t.api_key_sha256.push(hash_api_key(LIVE_KEY_A));
    store.put(&t).await.unwrap();
    let mut next = store.get(&t.id).await.unwrap().unwrap();
    next.callback_url =
        Some(shared::domain::CallbackUrl::parse("https://one.example/h", false).unwrap());
    counter.0.store(0, Ordering::SeqCst);
    store.replace_keeping_keys(&next).await.unwrap();
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        1,
        "one conditional PutItem"
    );
    let mut again = store.get(&t.id).await.unwrap().unwrap();
    again.callback_url = None;
    counter.0.store(0, Ordering::SeqCst);
    store.replace(&again).await.unwrap();
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        4,
        "replace: a read, the PutItem and one index write per key"
    );
    for key in [KEY_A, LIVE_KEY_A] {
        assert!(store
            .by_api_key_hash(&hash_api_key(key))
            .await
            .unwrap()
            .is_some());
    }
}
