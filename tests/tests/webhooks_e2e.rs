//! The webhook pipeline end to end over moto's SQS and DynamoDB, with a local HTTP server as
//! the merchant: receiver → SQS → worker (driven as the event source mapping would) → signed
//! callback; retries, DLQ and redrive.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use integration_tests::merchant::Merchant;
use integration_tests::sqs::Queues;
use integration_tests::{json, pix_body, Backend, Harness, KEY_A};
use shared::adapters::aws::{redrive, SqsWebhookQueue};
use shared::adapters::http::HttpCallbackSender;
use shared::api::{handle_webhook, ApiRequest, ApiResponse};
use shared::clock::SystemClock;
use shared::domain::CallbackUrl;
use shared::gateways::webhooks::WebhookRegistry;
use shared::ports::{Tenant, WebhookSecrets};
use shared::service::webhooks::{RetrySchedule, TenantCache, WebhookReceiver, WebhookWorker};
use shared::signing::standard_webhooks::{verify, CallbackSecret};
use shared::signing::stripe::compute;
use std::sync::Arc;
use std::time::Duration;

const STRIPE_SECRET: &str = "whsec_stripe_endpoint_secret_tenant_a";
const ASAAS_TOKEN: &str = "asaas-token-tenant-a-7f3a9c1e5b2d4f60";
const EFI_HMAC: &str = "efi-hmac-tenant-a-2c4e6a8b";
const CALLBACK_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const ATTEMPTS: u32 = 3;

struct Pipeline {
    h: Harness,
    q: Queues,
    merchant: Merchant,
    receiver: WebhookReceiver,
    worker: WebhookWorker,
}

async fn pipeline() -> Pipeline {
    let h = Harness::new(Backend::Dynamo).await;
    let merchant = Merchant::start().await;
    let q = Queues::create(ATTEMPTS).await;
    let mut t: Tenant = h
        .stores
        .tenants
        .get(&shared::domain::TenantId::parse("ten_a").unwrap())
        .await
        .unwrap()
        .unwrap();
    t.callback_url = Some(CallbackUrl::parse(&merchant.url, true).unwrap());
    t.callback_secrets = vec![CALLBACK_SECRET.into()];
    t.webhook_secrets = WebhookSecrets {
        stripe: vec![STRIPE_SECRET.into()],
        asaas_token: Some(ASAAS_TOKEN.into()),
        efi_hmac: Some(EFI_HMAC.into()),
        efi_allowed_ips: vec![],
    };
    h.stores.tenants.put(&t).await.unwrap();
    let queue = Arc::new(SqsWebhookQueue::new(q.client.clone(), q.url.clone()));
    let cache = || TenantCache::new(h.stores.tenants.clone(), Duration::from_secs(60));
    let receiver = WebhookReceiver::new(
        WebhookRegistry::standard(),
        cache(),
        queue.clone(),
        Arc::new(SystemClock),
    );
    let worker = WebhookWorker::new(
        WebhookRegistry::standard(),
        cache(),
        h.stores.payments.clone(),
        h.stores.events.clone(),
        Arc::new(HttpCallbackSender::new(true).unwrap()),
        queue,
        Arc::new(SystemClock),
        RetrySchedule::immediate(ATTEMPTS as usize),
    );
    Pipeline {
        h,
        q,
        merchant,
        receiver,
        worker,
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Pipeline {
    async fn post(
        &self,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> ApiResponse {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path_and_query.to_string(), None),
        };
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let req = ApiRequest {
            method: Method::POST,
            path,
            query,
            headers: map,
            body: Bytes::from(body.to_string()),
            deadline: None,
            source_ip: None,
        };
        handle_webhook(&self.receiver, req).await
    }

    async fn stripe(&self, body: &str, t: i64) -> ApiResponse {
        let sig = format!("t={t},v1={}", compute(STRIPE_SECRET, t, body.as_bytes()));
        self.post(
            "/webhooks/stripe/ten_a",
            &[("stripe-signature", &sig)],
            body,
        )
        .await
    }

    /// A Pix payment pinned to `gateway`: (payment id, gateway payment id).
    async fn pix_payment(&self, gateway: &str, key: &str) -> (String, String) {
        let mut body = pix_body(1990);
        body["gateway"] = gateway.into();
        let r = self.h.create(KEY_A, key, &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let p = json(&r);
        assert_eq!(p["status"], "pending");
        (
            p["id"].as_str().unwrap().into(),
            p["gateway_payment_id"].as_str().unwrap().into(),
        )
    }

    async fn status_of(&self, id: &str) -> String {
        json(&self.h.get(KEY_A, &format!("/v1/payments/{id}")).await)["status"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Polls until the source queue is empty (bounded).
    async fn drain(&self) {
        for _ in 0..20 {
            if self.q.poll_once(&self.worker).await.0 == 0 && self.q.depth(&self.q.url).await == 0 {
                return;
            }
        }
        panic!("queue did not drain");
    }
}

fn stripe_event(id: &str, kind: &str, pi: &str) -> String {
    serde_json::json!({"id": id, "object": "event", "type": kind, "created": now(),
        "data": {"object": {"id": pi, "object": "payment_intent", "status": "succeeded"}}})
    .to_string()
}

fn assert_signed_callback(m: &Merchant, payment_id: &str, status: &str) -> String {
    let got = m.received();
    assert_eq!(got.len(), 1, "exactly one callback: {got:?}");
    let cb = &got[0];
    let secret = CallbackSecret::parse(CALLBACK_SECRET).unwrap();
    verify(
        &[secret],
        &cb.webhook_id,
        cb.timestamp,
        cb.body.as_bytes(),
        &cb.signature,
        now(),
    )
    .expect("signature verifies");
    let body: serde_json::Value = serde_json::from_str(&cb.body).unwrap();
    assert_eq!(body["id"], cb.webhook_id.as_str());
    assert_eq!(body["type"], format!("payment.{status}"));
    assert_eq!(body["data"]["id"], payment_id);
    assert_eq!(body["data"]["status"], status);
    cb.webhook_id.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stripe_payment_intent_succeeded_settles_and_calls_back_once() {
    let p = pipeline().await;
    let (id, pi) = p.pix_payment("stripe", "wh-stripe").await;
    let ev = stripe_event("evt_stripe_1", "payment_intent.succeeded", &pi);
    let r = p.stripe(&ev, now()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(p.q.depth(&p.q.url).await, 1);
    p.drain().await;
    assert_eq!(p.status_of(&id).await, "succeeded");
    assert_signed_callback(&p.merchant, &id, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn asaas_payment_received_settles_and_calls_back_once() {
    let p = pipeline().await;
    let (id, gid) = p.pix_payment("asaas", "wh-asaas").await;
    let ev = serde_json::json!({"id": "evt_05b708f961d739ea7eba7e4db318f621&368604920", "event": "PAYMENT_RECEIVED",
        "dateCreated": "2026-11-21 16:45:03",
        "payment": {"object": "payment", "id": gid, "status": "RECEIVED", "value": 19.90, "billingType": "PIX", "externalReference": id}})
    .to_string();
    let r = p
        .post(
            "/webhooks/asaas/ten_a",
            &[("asaas-access-token", ASAAS_TOKEN)],
            &ev,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    p.drain().await;
    assert_eq!(p.status_of(&id).await, "succeeded");
    assert_signed_callback(&p.merchant, &id, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn efi_pix_notification_with_several_items_settles_ours() {
    let p = pipeline().await;
    let (id, txid) = p.pix_payment("efi", "wh-efi").await;
    let ev = serde_json::json!({"pix": [
        {"endToEndId": "E18236120202611211340s08793XPJ", "txid": txid, "chave": "k", "valor": "19.90", "horario": "2026-11-21T13:40:34.000Z"},
        {"endToEndId": "E18236120202611211341s00000OUT", "chave": "k", "valor": "5.00", "horario": "2026-11-21T13:41:00.000Z", "tipo": "SOLICITACAO", "status": "REALIZADO"}
    ]})
    .to_string();
    let r = p
        .post(
            &format!("/webhooks/efi/ten_a?hmac={EFI_HMAC}&ignorar=/pix"),
            &[],
            &ev,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    p.drain().await;
    assert_eq!(p.status_of(&id).await, "succeeded");
    assert_signed_callback(&p.merchant, &id, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_authentication_is_401_and_enqueues_nothing() {
    let p = pipeline().await;
    let ev = stripe_event("evt_x", "payment_intent.succeeded", "pi_x");
    let wrong = format!(
        "t={},v1={}",
        now(),
        compute("whsec_wrong", now(), ev.as_bytes())
    );
    let stale_t = now() - 301;
    let stale = format!(
        "t={stale_t},v1={}",
        compute(STRIPE_SECRET, stale_t, ev.as_bytes())
    );
    let cases: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/webhooks/stripe/ten_a".into(),
            vec![("stripe-signature", wrong.as_str())],
        ),
        (
            "/webhooks/stripe/ten_a".into(),
            vec![("stripe-signature", stale.as_str())],
        ),
        ("/webhooks/stripe/ten_a".into(), vec![]),
        (
            "/webhooks/asaas/ten_a".into(),
            vec![("asaas-access-token", "not-the-token")],
        ),
        ("/webhooks/asaas/ten_a".into(), vec![]),
        ("/webhooks/efi/ten_a?hmac=wrong".into(), vec![]),
        ("/webhooks/efi/ten_a".into(), vec![]),
    ];
    for (path, headers) in cases {
        let r = p.post(&path, &headers, &ev).await;
        assert_eq!(r.status, 401, "{path} {headers:?}: {}", r.body);
        assert_eq!(json(&r)["error"]["type"], "authentication");
    }
    assert_eq!(p.post("/webhooks/paypal/ten_a", &[], &ev).await.status, 404);
    assert_eq!(
        p.post("/webhooks/stripe/ten_nobody", &[], &ev).await.status,
        404
    );
    let huge = "x".repeat(257 * 1024);
    assert_eq!(
        p.post(&format!("/webhooks/efi/ten_a?hmac={EFI_HMAC}"), &[], &huge)
            .await
            .status,
        413
    );
    assert_eq!(
        p.q.depth(&p.q.url).await,
        0,
        "nothing enqueued on any rejection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_webhook_changes_once_and_calls_back_once() {
    let p = pipeline().await;
    let (id, pi) = p.pix_payment("stripe", "wh-dup").await;
    let ev = stripe_event("evt_dup_1", "payment_intent.succeeded", &pi);
    assert_eq!(p.stripe(&ev, now()).await.status, 200);
    assert_eq!(p.stripe(&ev, now()).await.status, 200);
    p.drain().await;
    assert_eq!(p.status_of(&id).await, "succeeded");
    assert_signed_callback(&p.merchant, &id, "succeeded");
    // And again later (a gateway retry days after): still nothing new.
    assert_eq!(p.stripe(&ev, now()).await.status, 200);
    p.drain().await;
    assert_eq!(p.merchant.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn late_pending_after_success_does_not_regress() {
    let p = pipeline().await;
    let (id, pi) = p.pix_payment("stripe", "wh-late").await;
    assert_eq!(
        p.stripe(
            &stripe_event("evt_ok", "payment_intent.succeeded", &pi),
            now()
        )
        .await
        .status,
        200
    );
    p.drain().await;
    assert_eq!(
        p.stripe(
            &stripe_event("evt_late", "payment_intent.processing", &pi),
            now()
        )
        .await
        .status,
        200
    );
    assert_eq!(
        p.stripe(
            &stripe_event("evt_late2", "payment_intent.canceled", &pi),
            now()
        )
        .await
        .status,
        200
    );
    p.drain().await;
    assert_eq!(p.status_of(&id).await, "succeeded");
    assert_eq!(
        p.merchant.received().len(),
        1,
        "no callback for ignored events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merchant_down_goes_to_dlq_and_redrive_delivers_with_the_same_id() {
    let p = pipeline().await;
    let (id, pi) = p.pix_payment("stripe", "wh-down").await;
    p.merchant.respond_with(503);
    assert_eq!(
        p.stripe(
            &stripe_event("evt_down", "payment_intent.succeeded", &pi),
            now()
        )
        .await
        .status,
        200
    );
    for attempt in 1..=ATTEMPTS {
        let (n, failed) = p.q.poll_once(&p.worker).await;
        assert_eq!((n, failed.len()), (1, 1), "attempt {attempt} fails");
    }
    // The next receive finds the message over maxReceiveCount: SQS moves it to the DLQ.
    assert_eq!(p.q.poll_once(&p.worker).await.0, 0);
    assert_eq!(
        p.q.depth(&p.q.dlq_url).await,
        1,
        "in the DLQ after the last attempt"
    );
    assert_eq!(p.q.depth(&p.q.url).await, 0);
    let attempts = p.merchant.received();
    assert_eq!(attempts.len(), ATTEMPTS as usize);
    assert!(
        attempts
            .iter()
            .all(|a| a.webhook_id == attempts[0].webhook_id),
        "stable webhook-id across retries"
    );
    assert_eq!(
        p.status_of(&id).await,
        "succeeded",
        "the status change is applied once, before delivery"
    );

    p.merchant.respond_with(200);
    let moved = redrive(&p.q.client, &p.q.dlq_url, &p.q.url, 100)
        .await
        .unwrap();
    assert_eq!(moved, 1);
    p.drain().await;
    let all = p.merchant.received();
    assert_eq!(all.len(), ATTEMPTS as usize + 1);
    assert_eq!(
        all.last().unwrap().webhook_id,
        attempts[0].webhook_id,
        "same webhook-id after redrive"
    );
    assert_eq!(p.q.depth(&p.q.dlq_url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_of_ten_with_one_poisoned_message() {
    let p = pipeline().await;
    let mut ids = Vec::new();
    for i in 0..9 {
        let (id, pi) = p.pix_payment("stripe", &format!("wh-batch-{i}")).await;
        assert_eq!(
            p.stripe(
                &stripe_event(&format!("evt_b{i}"), "payment_intent.succeeded", &pi),
                now()
            )
            .await
            .status,
            200
        );
        ids.push(id);
    }
    p.q.client
        .send_message()
        .queue_url(&p.q.url)
        .message_body("{not an envelope")
        .send()
        .await
        .unwrap();
    let mut batch = Vec::new();
    for _ in 0..5 {
        batch.extend(p.q.receive().await);
        if batch.len() == 10 {
            break;
        }
    }
    assert_eq!(batch.len(), 10);
    let poisoned: Vec<String> = batch
        .iter()
        .filter(|m| m.body.starts_with("{not"))
        .map(|m| m.message_id.clone())
        .collect();
    let failed = p.worker.process_batch(batch).await.unwrap();
    assert_eq!(failed, poisoned, "exactly the poisoned message is reported");
    assert!(failed.iter().all(|f| !f.is_empty()));
    assert_eq!(p.merchant.received().len(), 9);
    for id in &ids {
        assert_eq!(p.status_of(id).await, "succeeded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receiver_answers_503_when_the_queue_refuses() {
    let p = pipeline().await;
    let broken = Arc::new(SqsWebhookQueue::new(
        p.q.client.clone(),
        format!("{}-missing", p.q.url),
    ));
    let rx = WebhookReceiver::new(
        WebhookRegistry::standard(),
        TenantCache::new(p.h.stores.tenants.clone(), Duration::from_secs(60)),
        broken,
        Arc::new(SystemClock),
    );
    let ev = stripe_event("evt_q", "payment_intent.succeeded", "pi_q");
    let t = now();
    let sig = format!("t={t},v1={}", compute(STRIPE_SECRET, t, ev.as_bytes()));
    let mut headers = HeaderMap::new();
    headers.insert("stripe-signature", HeaderValue::from_str(&sig).unwrap());
    let req = ApiRequest {
        method: Method::POST,
        path: "/webhooks/stripe/ten_a".into(),
        query: None,
        headers,
        body: Bytes::from(ev),
        deadline: None,
        source_ip: None,
    };
    let r = handle_webhook(&rx, req).await;
    assert_eq!(r.status, 503, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_sender_semantics_gone_and_redirects() {
    use shared::ports::{Callback, CallbackSender, DeliveryOutcome};
    let m = Merchant::start().await;
    let sender = HttpCallbackSender::new(true).unwrap();
    let cb = Callback {
        url: m.url.clone(),
        webhook_id: "evt_1".into(),
        timestamp: now(),
        signature: "v1,x".into(),
        body: "{}".into(),
    };
    assert_eq!(sender.send(&cb).await, DeliveryOutcome::Delivered);
    m.respond_with(410);
    assert_eq!(sender.send(&cb).await, DeliveryOutcome::Gone);
    m.respond_with(302);
    assert!(
        matches!(sender.send(&cb).await, DeliveryOutcome::Retry(_)),
        "redirects are not followed"
    );
    m.respond_with(500);
    assert!(matches!(sender.send(&cb).await, DeliveryOutcome::Retry(_)));
    let got = m.received();
    assert_eq!(got.len(), 4);
    assert!(got
        .iter()
        .all(|r| r.webhook_id == "evt_1" && r.signature == "v1,x"));
    // The guarded sender (deployed Lambdas) refuses this loopback merchant outright.
    let guarded = HttpCallbackSender::new(false).unwrap();
    assert!(matches!(guarded.send(&cb).await, DeliveryOutcome::Retry(_)));
    assert_eq!(m.received().len(), 4, "no request reached the merchant");
}
