//! The dev server's simulator controls (`/simulator/…`) on the memory backend: the harness's
//! simulators, the real webhook receiver on an in-memory queue, and the worker consuming it
//! in the background, as the dev server runs them. Each control must move the payment only
//! through the gateway's own webhook, exactly once.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use integration_tests::pipeline::Pipeline;
use integration_tests::{json, Backend, Harness, LIVE_KEY_A, TEST_KEY_A};
use serde_json::{json as j, Value};
use shared::adapters::memory::MemoryQueues;
use shared::api::{ApiRequest, ApiResponse};
use shared::clock::SystemClock;
use shared::domain::TenantId;
use shared::gateways::simulator::controls::SimulatorControls;
use shared::gateways::webhooks::WebhookRegistry;
use shared::ports::{hash_api_key, QueueKind, WebhookQueue, WebhookSecrets};
use shared::service::webhooks::{QueueMessage, TenantCache, WebhookReceiver};
use std::sync::Arc;
use std::time::Duration;

const BASE: &str = "http://dev.sim.test:8080";

struct Rig {
    h: Harness,
    rx: WebhookReceiver,
    controls: SimulatorControls,
}

/// Tenant A with test and live keys and webhook secrets for the three gateways; the worker
/// consumes the intake queue in the background.
async fn rig() -> Rig {
    let h = Harness::new(Backend::Memory).await;
    let id = TenantId::parse("ten_a").unwrap();
    let mut t = h.stores.tenants.get(&id).await.unwrap().unwrap();
    t.api_key_sha256 = vec![hash_api_key(TEST_KEY_A), hash_api_key(LIVE_KEY_A)];
    t.webhook_secrets = WebhookSecrets {
        stripe: vec!["whsec_sim_controls_stripe".into()],
        asaas_token: Some("sim-controls-asaas-token".into()),
        efi_hmac: Some("sim-controls-efi-hmac".into()),
        ..WebhookSecrets::default()
    };
    h.stores.tenants.put(&t).await.unwrap();
    let queues = Arc::new(MemoryQueues::new(5, 10_000));
    let queue: Arc<dyn WebhookQueue> = queues.clone();
    let rx = WebhookReceiver::new(
        WebhookRegistry::standard(),
        TenantCache::new(h.stores.tenants.clone(), Duration::from_secs(60)),
        queue.clone(),
        Arc::new(SystemClock),
    );
    let worker = Arc::new(Pipeline::worker_on(&h, queue, Duration::from_secs(0)));
    tokio::spawn(async move {
        let intake = queues.of(QueueKind::Intake);
        loop {
            let batch: Vec<QueueMessage> = intake
                .receive(10, Duration::from_secs(30))
                .into_iter()
                .map(|m| QueueMessage {
                    trace_header: None,
                    message_id: m.message_id,
                    receipt_handle: m.receipt_handle,
                    body: m.body,
                    receive_count: m.receive_count,
                })
                .collect();
            if batch.is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            if let Ok(failed) = worker.process_batch(batch.clone()).await {
                for m in batch.iter().filter(|m| !failed.contains(&m.message_id)) {
                    intake.delete(&m.receipt_handle);
                }
            }
        }
    });
    let controls = SimulatorControls::new(&[h.efi.clone(), h.stripe.clone(), h.asaas.clone()])
        .with_wait(Duration::from_secs(5));
    controls.set_public_url(BASE);
    Rig { h, rx, controls }
}

impl Rig {
    async fn control(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: &str,
    ) -> ApiResponse {
        let mut headers = HeaderMap::new();
        if let Some(k) = key {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {k}")).unwrap(),
            );
        }
        self.controls
            .handle(
                &self.h.svc,
                &self.rx,
                ApiRequest {
                    method,
                    path: path.to_string(),
                    query: None,
                    headers,
                    body: Bytes::from(body.to_string()),
                    deadline: None,
                    source_ip: None,
                    client_cert_issuer: None,
                },
            )
            .await
    }

    async fn post(&self, path: &str, body: &str) -> ApiResponse {
        self.control(Method::POST, path, Some(TEST_KEY_A), body)
            .await
    }

    async fn create(&self, body: Value) -> Value {
        let r = self
            .h
            .create(TEST_KEY_A, &format!("sim-{}", ulid::Ulid::new()), &body)
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        json(&r)
    }

    async fn payment(&self, id: &str) -> Value {
        json(&self.h.get(TEST_KEY_A, &format!("/v1/payments/{id}")).await)
    }

    async fn events(&self, id: &str, kind: &str) -> usize {
        let r = self
            .h
            .get(
                TEST_KEY_A,
                &format!("/v1/events?payment_id={id}&type={kind}"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        json(&r)["data"].as_array().unwrap().len()
    }
}

fn pix(gw: &str, amount: i64) -> Value {
    j!({"amount": amount, "currency": "BRL", "method": "pix", "gateway": gw})
}

fn boleto(gw: &str) -> Value {
    j!({"amount": 5000, "currency": "BRL", "method": "boleto", "gateway": gw,
        "customer": {"name": "Empresa X", "document": "11.222.333/0001-81"}})
}

fn card(gw: &str, amount: i64) -> Value {
    j!({"amount": amount, "currency": "BRL", "method": "card", "gateway": gw,
        "card": {"tokens": {gw: "tok_sim"}}})
}

fn code(r: &ApiResponse) -> String {
    json(r)["error"]["code"].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn pay_a_pix_or_boleto_on_each_gateway_through_its_webhook() {
    let rig = rig().await;
    for body in [
        pix("efi", 1990),
        pix("asaas", 1990),
        pix("stripe", 1990),
        boleto("asaas"),
        boleto("stripe"),
    ] {
        let p = rig.create(body.clone()).await;
        assert_eq!(p["status"], "pending", "{body}");
        let id = p["id"].as_str().unwrap();
        let r = rig.post(&format!("/simulator/payments/{id}/pay"), "").await;
        assert_eq!(r.status, 200, "{body}: {}", r.body);
        assert_eq!(json(&r)["status"], "succeeded", "{body}");
        assert_eq!(rig.payment(id).await["status"], "succeeded");
        assert_eq!(rig.events(id, "payment.succeeded").await, 1, "{body}");
        // The gateway agrees (a refresh reads the simulator's charge).
        let fresh = json(
            &rig.h
                .get(TEST_KEY_A, &format!("/v1/payments/{id}?refresh=true"))
                .await,
        );
        assert_eq!(fresh["status"], "succeeded");
    }
}

#[tokio::test]
async fn paying_twice_or_concurrently_makes_one_success_and_one_event() {
    let rig = rig().await;
    let id = rig.create(pix("efi", 1990)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/simulator/payments/{id}/pay");
    let (a, b) = tokio::join!(rig.post(&path, ""), rig.post(&path, "{}"));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.body, b.body);
    let again = rig.post(&path, "").await;
    assert_eq!(
        (again.status, code(&again)),
        (409, "already_paid".into()),
        "{}",
        again.body
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rig.events(&id, "payment.succeeded").await, 1);
    assert_eq!(rig.payment(&id).await["status"], "succeeded");
}

#[tokio::test]
async fn an_expired_or_canceled_charge_cannot_be_paid() {
    let rig = rig().await;
    let mut body = pix("asaas", 1990);
    body["expires_in"] = j!(60);
    let id = rig.create(body).await["id"].as_str().unwrap().to_string();
    rig.h.clock.advance(chrono::Duration::seconds(61));
    let r = rig.post(&format!("/simulator/payments/{id}/pay"), "").await;
    assert_eq!(
        (r.status, code(&r)),
        (409, "charge_expired".into()),
        "{}",
        r.body
    );
    assert_eq!(rig.payment(&id).await["status"], "pending");
    assert_eq!(rig.events(&id, "payment.succeeded").await, 0);

    let id = rig.create(boleto("stripe")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let auth = format!("Bearer {TEST_KEY_A}");
    let c = rig
        .h
        .call(
            Method::POST,
            &format!("/v1/payments/{id}/cancel"),
            &[("authorization", &auth), ("idempotency-key", "cancel-sim")],
            Bytes::new(),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    let r = rig.post(&format!("/simulator/payments/{id}/pay"), "").await;
    assert_eq!(
        (r.status, code(&r)),
        (409, "charge_canceled".into()),
        "{}",
        r.body
    );
    assert_eq!(rig.payment(&id).await["status"], "canceled");
}

#[tokio::test]
async fn three_ds_page_completes_or_fails_through_the_gateway_webhook() {
    let rig = rig().await;
    for (gw, outcome, want) in [
        ("stripe", "complete", "succeeded"),
        ("asaas", "complete", "succeeded"),
        ("asaas", "fail", "failed"),
        // Stripe keeps the PaymentIntent open after a failed authentication.
        ("stripe", "fail", "requires_action"),
    ] {
        let p = rig.create(card(gw, 1957)).await;
        assert_eq!(p["status"], "requires_action");
        let id = p["id"].as_str().unwrap();
        let url = p["next_action"]["url"].as_str().unwrap();
        assert_eq!(url, format!("{BASE}/simulator/3ds/{id}"));
        let path = url.strip_prefix(BASE).unwrap();
        let page = rig.control(Method::GET, path, None, "").await;
        assert_eq!(page.status, 200);
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"));
        assert!(page.body.contains("value=\"complete\"") && !page.body.contains("<script"));
        let r = rig
            .control(Method::POST, path, None, &format!("outcome={outcome}"))
            .await;
        assert_eq!(r.status, 303, "{gw} {outcome}: {}", r.body);
        assert_eq!(r.header("location"), Some(path));
        assert_eq!(rig.payment(id).await["status"], want, "{gw} {outcome}");
        let event = format!("payment.{want}");
        // One event either way: the outcome's, or (still `requires_action`) the create's own.
        assert_eq!(rig.events(id, &event).await, 1, "{gw} {outcome}");
    }
    // The JSON twin, and a second completion is refused.
    let id = rig.create(card("stripe", 1957)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/simulator/payments/{id}/authenticate");
    let r = rig.post(&path, r#"{"outcome":"complete"}"#).await;
    assert_eq!(json(&r)["status"], "succeeded", "{}", r.body);
    let r = rig.post(&path, r#"{"outcome":"complete"}"#).await;
    assert_eq!((r.status, code(&r)), (409, "already_paid".into()));
    // A page for an id that is no test payment.
    let r = rig
        .control(
            Method::GET,
            "/simulator/3ds/pay_01J9ZQ4M3K8D2B6X7Y5W0V1T2S",
            None,
            "",
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn settle_a_pending_refund_on_each_gateway() {
    let rig = rig().await;
    for gw in ["efi", "asaas", "stripe"] {
        let id = rig.create(pix(gw, 5000)).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            rig.post(&format!("/simulator/payments/{id}/pay"), "")
                .await
                .status,
            200
        );
        let mut refunded = 0;
        for (outcome, gives) in [("succeeded", 1058), ("failed", 0)] {
            let auth = format!("Bearer {TEST_KEY_A}");
            let r = rig
                .h
                .call(
                    Method::POST,
                    &format!("/v1/payments/{id}/refunds"),
                    &[
                        ("authorization", &auth),
                        ("idempotency-key", &format!("r-{}", ulid::Ulid::new())),
                    ],
                    j!({"amount": 1058}).to_string(),
                )
                .await;
            assert_eq!(json(&r)["status"], "pending", "{}", r.body);
            let rid = json(&r)["id"].as_str().unwrap().to_string();
            let path = format!("/simulator/refunds/{rid}/settle");
            let s = rig.post(&path, &j!({"outcome": outcome}).to_string()).await;
            assert_eq!(s.status, 200, "{gw} {outcome}: {}", s.body);
            refunded += gives;
            let p = json(&s);
            assert_eq!(p["refunded_amount"], refunded, "{gw} {outcome}");
            let stored = p["refunds"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == rid.as_str())
                .cloned()
                .unwrap();
            assert_eq!(stored["status"], outcome, "{gw}");
            let again = rig.post(&path, r#"{"outcome":"succeeded"}"#).await;
            assert_eq!(
                (again.status, code(&again)),
                (409, "refund_not_pending".into())
            );
        }
        assert_eq!(rig.events(&id, "refund.succeeded").await, 1, "{gw}");
        assert_eq!(rig.events(&id, "refund.failed").await, 1, "{gw}");
    }
    let r = rig
        .post(
            "/simulator/refunds/ref_01J9ZQ5A0B1C2D3E4F5G6H7J8K/settle",
            r#"{"outcome":"failed"}"#,
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn one_gateway_down_the_next_approves_and_its_breaker_opens() {
    let rig = rig().await;
    let r = rig
        .post("/simulator/gateways/efi", r#"{"mode":"unavailable"}"#)
        .await;
    assert_eq!(
        json(&r),
        j!({"object": "simulator_gateway", "gateway": "efi", "mode": "unavailable"})
    );
    let p = rig
        .create(j!({"amount": 1990, "currency": "BRL", "method": "pix"}))
        .await;
    assert_eq!(
        (p["gateway"].as_str(), p["status"].as_str()),
        (Some("asaas"), Some("pending"))
    );
    assert_eq!(p["attempts"][0]["code"], "http_503");
    let mut last = Value::Null;
    for _ in 0..10 {
        last = rig
            .create(j!({"amount": 1990, "currency": "BRL", "method": "pix"}))
            .await;
        assert_eq!(last["gateway"], "asaas");
    }
    assert_eq!(last["attempts"][0]["code"], "breaker_open");
    let gws = json(&rig.h.get(TEST_KEY_A, "/v1/gateways").await);
    let efi = gws["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gateway"] == "efi")
        .cloned()
        .unwrap();
    assert_eq!(efi["state"], "open");
    let r = rig
        .post("/simulator/gateways/efi", r#"{"mode":"normal"}"#)
        .await;
    assert_eq!(json(&r)["mode"], "normal");
    let modes = rig
        .control(Method::GET, "/simulator/gateways", Some(TEST_KEY_A), "")
        .await;
    assert!(json(&modes)["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["mode"] == "normal"));
}

#[tokio::test]
async fn wrong_requests_are_clear_4xx_and_change_nothing() {
    let rig = rig().await;
    let pid = rig.create(pix("efi", 1990)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pay = format!("/simulator/payments/{pid}/pay");
    // A live key, no key.
    let r = rig.control(Method::POST, &pay, Some(LIVE_KEY_A), "").await;
    assert_eq!(
        (r.status, code(&r)),
        (403, "simulator_test_mode_only".into())
    );
    let r = rig.control(Method::POST, &pay, None, "").await;
    assert_eq!(r.status, 401);
    // Unknown payment, malformed id, another tenant's.
    for bad in ["pay_01J9ZQ4M3K8D2B6X7Y5W0V1T2S", "nope"] {
        let r = rig
            .post(&format!("/simulator/payments/{bad}/pay"), "")
            .await;
        assert_eq!(r.status, 404, "{bad}");
    }
    // Wrong method of payment, unknown fields, bad values.
    let cid = rig.create(card("stripe", 1990)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = rig
        .post(&format!("/simulator/payments/{cid}/pay"), "")
        .await;
    assert_eq!((r.status, code(&r)), (422, "wrong_payment_method".into()));
    let r = rig
        .post(
            &format!("/simulator/payments/{pid}/authenticate"),
            r#"{"outcome":"complete"}"#,
        )
        .await;
    assert_eq!((r.status, code(&r)), (422, "wrong_payment_method".into()));
    let r = rig.post(&pay, r#"{"amount":1}"#).await;
    assert_eq!((r.status, code(&r)), (400, "unknown_parameter".into()));
    assert_eq!(json(&r)["error"]["param"], "amount");
    let r = rig
        .post("/simulator/gateways/efi", r#"{"mode":"sleepy"}"#)
        .await;
    assert_eq!((r.status, code(&r)), (400, "parameter_invalid".into()));
    assert_eq!(json(&r)["error"]["param"], "mode");
    let r = rig.post("/simulator/gateways/efi", "{}").await;
    assert_eq!((r.status, code(&r)), (400, "parameter_missing".into()));
    let r = rig
        .post("/simulator/gateways/paypal", r#"{"mode":"normal"}"#)
        .await;
    assert_eq!(r.status, 404);
    let r = rig
        .controls
        .handle(
            &rig.h.svc,
            &rig.rx,
            ApiRequest {
                method: Method::POST,
                path: pay.clone(),
                query: Some("force=true".into()),
                headers: HeaderMap::from_iter([(
                    http::header::AUTHORIZATION,
                    HeaderValue::from_str(&format!("Bearer {TEST_KEY_A}")).unwrap(),
                )]),
                body: Bytes::new(),
                deadline: None,
                source_ip: None,
                client_cert_issuer: None,
            },
        )
        .await;
    assert_eq!((r.status, code(&r)), (400, "unknown_parameter".into()));
    assert_eq!(json(&r)["error"]["param"], "force");
    let r = rig.post(&pay, "[1]").await;
    assert_eq!(r.status, 400);
    let r = rig.control(Method::GET, &pay, Some(TEST_KEY_A), "").await;
    assert_eq!(r.status, 405);
    // No webhook secret: refused before the charge moves, so a later pay still works once.
    let id = TenantId::parse("ten_a").unwrap();
    let mut t = rig.h.stores.tenants.get(&id).await.unwrap().unwrap();
    let secrets = std::mem::take(&mut t.webhook_secrets);
    rig.h.stores.tenants.put(&t).await.unwrap();
    let r = rig.post(&pay, "").await;
    assert_eq!(
        (r.status, code(&r)),
        (409, "webhook_secret_missing".into()),
        "{}",
        r.body
    );
    t.webhook_secrets = secrets;
    rig.h.stores.tenants.put(&t).await.unwrap();
    assert_eq!(rig.payment(&pid).await["status"], "pending");
    let r = rig.post(&pay, "").await;
    assert_eq!(json(&r)["status"], "succeeded", "{}", r.body);
    // The API router (what the Lambdas serve) has no simulator route.
    let r = rig
        .h
        .call(
            Method::GET,
            "/simulator/gateways",
            &[("authorization", &format!("Bearer {TEST_KEY_A}"))],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn expiry_is_each_gateways_own_and_an_overdue_boleto_is_still_paid_once() {
    let rig = rig().await;
    for (body, expired, then) in [
        (pix("efi", 1990), "expired", "charge_expired"),
        (boleto("stripe"), "canceled", "charge_canceled"),
        (boleto("asaas"), "pending", ""),
    ] {
        let id = rig.create(body.clone()).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = rig
            .post(&format!("/simulator/payments/{id}/expire"), "")
            .await;
        assert_eq!(r.status, 200, "{body}: {}", r.body);
        assert_eq!(json(&r)["status"], expired, "{body}");
        let pay = rig.post(&format!("/simulator/payments/{id}/pay"), "").await;
        if then.is_empty() {
            // Asaas: overdue, still payable; paid late it succeeds, once.
            assert!(json(&r)["overdue_at"].is_string(), "{}", r.body);
            assert_eq!(json(&pay)["status"], "succeeded", "{}", pay.body);
            assert_eq!(rig.events(&id, "payment.succeeded").await, 1);
            let again = rig
                .post(&format!("/simulator/payments/{id}/expire"), "")
                .await;
            assert_eq!((again.status, code(&again)), (409, "already_paid".into()));
        } else {
            assert_eq!((pay.status, code(&pay)), (409, then.into()), "{}", pay.body);
            assert_eq!(rig.payment(&id).await["status"], expired);
            assert_eq!(rig.events(&id, "payment.succeeded").await, 0);
        }
    }
    let cid = rig.create(card("stripe", 1990)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = rig
        .post(&format!("/simulator/payments/{cid}/expire"), "")
        .await;
    assert_eq!((r.status, code(&r)), (422, "wrong_payment_method".into()));
}
