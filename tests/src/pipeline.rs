//! The whole event pipeline over moto (or memory): the API on a harness, the webhook receiver,
//! SQS with its DLQ, the outbox relay reading the outbox table's stream, the worker, and a
//! merchant on 127.0.0.1 whose every callback is verified (Standard Webhooks signature).

use crate::merchant::Merchant;
use crate::sqs::Queues;
use crate::{json, Backend, Harness, OutboxFeed, KEY_A};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use shared::adapters::aws::SqsWebhookQueue;
use shared::adapters::http::HttpCallbackSender;
use shared::api::{handle_webhook, ApiRequest, ApiResponse};
use shared::clock::SystemClock;
use shared::domain::{CallbackUrl, TenantId};
use shared::gateways::webhooks::WebhookRegistry;
use shared::ports::{Tenant, WebhookQueue, WebhookSecrets};
use shared::service::webhooks::{
    Relay, RetrySchedule, TenantCache, WebhookReceiver, WebhookWorker,
};
use shared::signing::standard_webhooks::{verify, CallbackSecret};
use shared::signing::stripe::compute;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

pub const STRIPE_SECRET: &str = "whsec_stripe_endpoint_secret_tenant_a";
pub const ASAAS_TOKEN: &str = "asaas-token-tenant-a-7f3a9c1e5b2d4f60";
pub const EFI_HMAC: &str = "efi-hmac-tenant-a-2c4e6a8b0d1f3579";
pub const CALLBACK_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/// Delivery attempts before the DLQ (the queue's `maxReceiveCount`).
pub const ATTEMPTS: u32 = 3;

/// One verified callback.
#[derive(Debug, Clone)]
pub struct Seen {
    pub webhook_id: String,
    pub kind: String,
    pub body: serde_json::Value,
}

impl Seen {
    /// The payment the callback is about (`data.id` of a payment, `data.payment_id` of a refund).
    pub fn payment_id(&self) -> &str {
        self.body["data"]["payment_id"]
            .as_str()
            .or_else(|| self.body["data"]["id"].as_str())
            .unwrap_or("")
    }
}

/// The running pipeline.
pub struct Pipeline {
    pub h: Harness,
    pub q: Queues,
    pub merchant: Merchant,
    pub receiver: WebhookReceiver,
    pub worker: WebhookWorker,
    pub relay: Relay,
    pub feed: Mutex<OutboxFeed>,
    pub queue: Arc<dyn WebhookQueue>,
}

impl Pipeline {
    /// DynamoDB and SQS on moto; unmatched webhooks are retried for `grace`.
    pub async fn start(grace: Duration) -> Self {
        let mut h = Harness::new(Backend::Dynamo).await;
        let merchant = Merchant::start().await;
        let q = Queues::create(shared::service::webhooks::MAX_RECEIVE_COUNT).await;
        let mut t: Tenant = h
            .stores
            .tenants
            .get(&TenantId::parse("ten_a").unwrap())
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
            stripe_previous_until: None,
        };
        h.stores.tenants.put(&t).await.unwrap();
        let queue: Arc<dyn WebhookQueue> = Arc::new(
            SqsWebhookQueue::new(q.client.clone(), q.url.clone())
                .with_dead_letter_queues(Some(q.dlq_url.clone()), Some(q.dlq_url.clone())),
        );
        h.svc.set_delivery_queue(queue.clone());
        let receiver = WebhookReceiver::new(
            WebhookRegistry::standard(),
            TenantCache::new(h.stores.tenants.clone(), Duration::from_secs(60)),
            queue.clone(),
            Arc::new(SystemClock),
        );
        let worker = Self::worker_on(&h, queue.clone(), grace);
        let feed = Mutex::new(h.stores.outbox_feed().await);
        Pipeline {
            relay: Relay::new(queue.clone()),
            h,
            q,
            merchant,
            receiver,
            worker,
            feed,
            queue,
        }
    }

    /// A worker on this pipeline's stores and queue.
    pub fn worker_on(h: &Harness, queue: Arc<dyn WebhookQueue>, grace: Duration) -> WebhookWorker {
        WebhookWorker::new(
            WebhookRegistry::standard(),
            TenantCache::new(h.stores.tenants.clone(), Duration::from_secs(60)),
            h.stores.worker_stores(),
            Arc::new(HttpCallbackSender::new(true).unwrap()),
            queue,
            Arc::new(SystemClock),
            RetrySchedule::immediate(ATTEMPTS as usize),
        )
        .with_unmatched_grace(grace)
        // Tests drive retries by receiving again; endpoint pacing has tests of its own.
        .with_endpoint_policy(shared::domain::EndpointPolicy::unpaced())
        .with_tenant_share(1_000)
    }

    /// Posts to the webhook receiver.
    pub async fn post(
        &self,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> ApiResponse {
        post_webhook(&self.receiver, path_and_query, headers, body).await
    }

    /// A Stripe webhook signed with the tenant's endpoint secret; asserts 200.
    pub async fn stripe(&self, body: &str) {
        let t = now();
        let sig = format!("t={t},v1={}", compute(STRIPE_SECRET, t, body.as_bytes()));
        let r = self
            .post(
                "/webhooks/stripe/ten_a",
                &[("stripe-signature", &sig)],
                body,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// An Asaas webhook with the tenant's token; asserts 200.
    pub async fn asaas(&self, body: &str) {
        let r = self
            .post(
                "/webhooks/asaas/ten_a",
                &[("asaas-access-token", ASAAS_TOKEN)],
                body,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    /// A payment created through the API; returns its JSON.
    pub async fn create(&self, idem: &str, body: &serde_json::Value) -> serde_json::Value {
        let r = self.h.create(KEY_A, idem, body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        json(&r)
    }

    /// The payment's current JSON.
    pub async fn payment(&self, id: &str) -> serde_json::Value {
        json(&self.h.get(KEY_A, &format!("/v1/payments/{id}")).await)
    }

    /// One relay pass (outbox feed → queue).
    pub async fn relay_once(&self) -> Result<usize, shared::ports::StoreError> {
        self.feed.lock().await.relay_once(&self.relay).await
    }

    /// Relays and runs the worker until nothing moves (bounded).
    pub async fn drain(&self) {
        for _ in 0..40 {
            let relayed = self.relay_once().await.expect("relay");
            let (n, _) = self.q.poll_once(&self.worker).await;
            if relayed == 0 && n == 0 && self.q.depth(&self.q.url).await == 0 {
                return;
            }
        }
        panic!("pipeline did not drain");
    }

    /// Every callback the merchant received, each one's signature verified.
    pub fn callbacks(&self) -> Vec<Seen> {
        let secret = CallbackSecret::parse(CALLBACK_SECRET).unwrap();
        self.merchant
            .received()
            .into_iter()
            .map(|cb| {
                verify(
                    std::slice::from_ref(&secret),
                    &cb.webhook_id,
                    cb.timestamp,
                    cb.body.as_bytes(),
                    &cb.signature,
                    now(),
                )
                .expect("callback signature verifies");
                let body: serde_json::Value = serde_json::from_str(&cb.body).unwrap();
                assert_eq!(
                    body["id"],
                    cb.webhook_id.as_str(),
                    "body id is the webhook-id"
                );
                Seen {
                    webhook_id: cb.webhook_id,
                    kind: body["type"].as_str().unwrap_or("").to_string(),
                    body,
                }
            })
            .collect()
    }

    /// The distinct events (by `webhook-id`) delivered about one payment, in the order they
    /// were written: delivery order is not guaranteed (a batch is delivered concurrently), and
    /// event ids are monotonic ULIDs, so the id order is the write order.
    pub fn types_for(&self, payment_id: &str) -> Vec<String> {
        let mut by_id = std::collections::BTreeMap::new();
        for c in self.callbacks() {
            if c.payment_id() == payment_id {
                by_id.entry(c.webhook_id.clone()).or_insert(c.kind);
            }
        }
        by_id.into_values().collect()
    }
}

/// Unix seconds now.
/// The source IP [`post_webhook`] sends from: the one EFI's docs name for its webhooks, which
/// the live tenants of the tests list (`webhook_allowed_ips`).
pub const WEBHOOK_SOURCE_IP: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(34, 193, 116, 226));

/// Posts a gateway webhook (`/webhooks/{gateway}/{tenant}?query`) to `rx` as API Gateway
/// would hand it over, from [`WEBHOOK_SOURCE_IP`] without a client certificate.
pub async fn post_webhook(
    rx: &shared::service::webhooks::WebhookReceiver,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> ApiResponse {
    post_webhook_from(
        rx,
        path_and_query,
        headers,
        body,
        Some(WEBHOOK_SOURCE_IP),
        None,
    )
    .await
}

/// [`post_webhook`] from `source_ip`, with the issuer DN of a client certificate API Gateway
/// verified over mutual TLS, if any.
pub async fn post_webhook_from(
    rx: &shared::service::webhooks::WebhookReceiver,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &str,
    source_ip: Option<std::net::IpAddr>,
    client_cert_issuer: Option<&str>,
) -> ApiResponse {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path_and_query.to_string(), None),
    };
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(v).expect("header value"),
        );
    }
    let req = ApiRequest {
        method: Method::POST,
        path,
        query,
        headers: map,
        body: Bytes::from(body.to_string()),
        deadline: None,
        source_ip,
        client_cert_issuer: client_cert_issuer.map(str::to_string),
    };
    handle_webhook(rx, req).await
}

/// Runs `worker` over an in-memory queue until it is empty (bounded), asserting that no message
/// fails.
pub async fn drain_memory_queue(
    queue: &shared::adapters::memory::MemoryQueue,
    worker: &WebhookWorker,
) {
    for _ in 0..20 {
        let batch: Vec<shared::service::webhooks::QueueMessage> = queue
            .receive(10, Duration::from_secs(60))
            .into_iter()
            .map(|m| shared::service::webhooks::QueueMessage {
                message_id: m.message_id,
                receipt_handle: m.receipt_handle,
                body: m.body,
                receive_count: m.receive_count,
                trace_header: None,
            })
            .collect();
        if batch.is_empty() {
            return;
        }
        let failed = worker.process_batch(batch.clone()).await.expect("batch");
        assert!(failed.is_empty(), "worker failed {failed:?}");
        for m in &batch {
            queue.delete(&m.receipt_handle);
        }
    }
    panic!("queue did not drain");
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A Stripe PaymentIntent event naming our payment in `metadata.payment_id`.
pub fn stripe_pi_event(id: &str, kind: &str, pi: &str, payment_id: &str) -> String {
    serde_json::json!({"id": id, "object": "event", "type": kind, "created": now(),
        "data": {"object": {"id": pi, "object": "payment_intent", "status": "succeeded",
            "metadata": {"payment_id": payment_id}}}})
    .to_string()
}

/// A Stripe refund event.
pub fn stripe_refund_event(
    id: &str,
    kind: &str,
    refund: &str,
    pi: &str,
    amount: i64,
    status: &str,
    refund_id: Option<&str>,
) -> String {
    let metadata = match refund_id {
        Some(r) => serde_json::json!({"refund_id": r}),
        None => serde_json::json!({}),
    };
    serde_json::json!({"id": id, "object": "event", "type": kind, "created": now(),
        "data": {"object": {"id": refund, "object": "refund", "amount": amount, "currency": "brl",
            "payment_intent": pi, "status": status, "metadata": metadata}}})
    .to_string()
}
