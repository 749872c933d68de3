//! Webhook pipeline targets (DESIGN §6):
//! - receiver verify + enqueue, excluding SQS latency (in-process queue): p99 ≤ 1 ms;
//! - worker batch of 10 callbacks (merchant event deliveries read from the outbox) with 200 ms
//!   merchant latency: ≤ 300 ms in total.
//!
//! Run with `cargo bench -p integration-tests --bench webhooks`; results in docs/BENCHMARKS.md.

use bytes::Bytes;
use chrono::Utc;
use http::{HeaderMap, HeaderValue, Method};
use integration_tests::merchant::Merchant;
use shared::adapters::http::HttpCallbackSender;
use shared::adapters::memory::{
    MemoryEventStore, MemoryPaymentStore, MemoryQueue, MemoryTenantStore,
};
use shared::api::{handle_webhook, ApiRequest};
use shared::clock::SystemClock;
use shared::domain::{
    CallbackUrl, Currency, Money, Payment, PaymentId, PaymentMethod, PaymentStatus, TenantId,
};
use shared::gateways::webhooks::WebhookRegistry;
use shared::ports::{DeliveryMessage, PaymentStore, Tenant, TenantStore, WebhookSecrets};
use shared::service::effects_for;
use shared::service::webhooks::{
    QueueMessage, RetrySchedule, TenantCache, WebhookReceiver, WebhookWorker, WorkerStores,
};
use shared::signing::stripe::compute;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_bench_stripe_secret";

fn pct(mut v: Vec<Duration>, name: &str) {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    println!(
        "{name:<40} n={:<6} p50={:>9.1?} p90={:>9.1?} p99={:>9.1?} max={:>9.1?}",
        v.len(),
        p(0.5),
        p(0.9),
        p(0.99),
        v[v.len() - 1]
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let merchant = Merchant::start().await;
        let tenants = Arc::new(MemoryTenantStore::default());
        let tenant = Tenant {
            id: TenantId::parse("ten_bench").unwrap(),
            name: "bench".into(),
            api_key_sha256: vec![],
            routing: Default::default(),
            callback_url: Some(CallbackUrl::parse(&merchant.url, true).unwrap()),
            live_gateways: vec![],
            callback_secrets: vec!["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into()],
            webhook_secrets: WebhookSecrets { stripe: vec![SECRET.into()], ..Default::default() },
            api_keys: vec![],
            disabled: false,
            rate_limit_per_minute: None,
            callback_secret_expiry: Default::default(),
            mode: None,
            version: 0,
        };
        tenants.put(&tenant).await.unwrap();
        let queue = Arc::new(MemoryQueue::new(8));
        let rx = WebhookReceiver::new(
            WebhookRegistry::standard(),
            TenantCache::new(tenants.clone(), Duration::from_secs(600)),
            queue.clone(),
            Arc::new(SystemClock),
        );

        // Receiver: verify (Stripe HMAC over the raw body) + enqueue.
        let body = serde_json::json!({"id": "evt_bench", "object": "event", "type": "payment_intent.succeeded",
            "created": Utc::now().timestamp(), "data": {"object": {"id": "pi_bench", "object": "payment_intent", "status": "succeeded", "amount": 1990}}})
        .to_string();
        let t = Utc::now().timestamp();
        let sig = format!("t={t},v1={}", compute(SECRET, t, body.as_bytes()));
        let mut headers = HeaderMap::new();
        headers.insert("stripe-signature", HeaderValue::from_str(&sig).unwrap());
        let req = ApiRequest {
            method: Method::POST,
            path: "/webhooks/stripe/ten_bench".into(),
            query: None,
            headers,
            body: Bytes::from(body),
            deadline: None,
            source_ip: None,
            client_cert_issuer: None,
        };
        for _ in 0..1000 {
            assert_eq!(handle_webhook(&rx, req.clone()).await.status, 200);
        }
        let mut samples = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            let r = req.clone();
            let start = Instant::now();
            let resp = handle_webhook(&rx, r).await;
            samples.push(start.elapsed());
            assert_eq!(resp.status, 200);
        }
        pct(samples, "receiver verify + enqueue (in-process)");

        // Worker: batches of 10 events, merchant answering after 200 ms.
        merchant.delay(200);
        let payments = Arc::new(MemoryPaymentStore::default());
        let worker = WebhookWorker::new(
            WebhookRegistry::standard(),
            TenantCache::new(tenants.clone(), Duration::from_secs(600)),
            WorkerStores {
                payments: payments.clone(),
                events: Arc::new(MemoryEventStore::default()),
                outbox: payments.outbox(),
                endpoints: Arc::new(shared::adapters::memory::MemoryEndpointHealth::default()),
            },
            Arc::new(HttpCallbackSender::new(true).unwrap()),
            queue.clone(),
            Arc::new(SystemClock),
            RetrySchedule::default(),
        );
        let mut batches = Vec::new();
        for round in 0..11 {
            let mut batch = Vec::new();
            for i in 0..10 {
                let pi = format!("pi_bench_{round}_{i}");
                let p = Payment {
                    id: PaymentId::generate(),
                    tenant_id: tenant.id.clone(),
                    status: PaymentStatus::Pending,
                    amount: Money::new(1990, Currency::BRL).unwrap(),
                    method: PaymentMethod::Pix,
                    gateway: Some("stripe".into()),
                    gateway_payment_id: Some(pi.clone()),
                    reference: None,
                    description: None,
                    metadata: Default::default(),
                    customer: None,
                    card_token: None,
                    callback_url: None,
                    pix: None,
                    boleto: None,
                    next_action: None,
                    failure: None,
                    refunded_amount: 0,
                    refunds: vec![],
                    attempts: vec![],
                    created_at: Utc::now(),
                    updated_at: Utc::now(),
                    version: 1,
                    applied_events: vec![],
                    webhooks_applied: 0,
                    account: None,
                    late_payment: None,
                    fee: None,
                    net: None,
                    overdue_at: None,
                };
                // The payment and its event, as the create commit writes them; the relay would
                // hand the event over as this delivery message.
                let effects = effects_for(None, &p, Utc::now());
                payments.insert(&p, &effects).await.unwrap();
                let msg =
                    DeliveryMessage::new(effects.events[0].id.clone(), tenant.id.clone());
                batch.push(QueueMessage {
                trace_header: None,
                    message_id: format!("m{round}-{i}"),
                    receipt_handle: format!("r{round}-{i}"),
                    body: serde_json::to_string(&msg).unwrap(),
                    receive_count: 1,
                });
            }
            let start = Instant::now();
            let failed = worker.process_batch(batch).await.unwrap();
            let took = start.elapsed();
            assert!(failed.is_empty(), "{failed:?}");
            if round > 0 {
                batches.push(took); // round 0 warms the connection pool
            }
        }
        assert_eq!(merchant.received().len(), 110);
        pct(batches, "worker batch of 10, merchant 200 ms");
    });
}
