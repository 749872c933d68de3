//! The orchestrator's API as the load and fault runs call it: one reqwest client (pooled
//! connections, a hard timeout per request), answers reduced to what the checks need.

use crate::loopback;
use crate::stats::NO_ANSWER;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Demo tenant A (infra/tenants.dev.json): its id, API key and Asaas webhook token.
pub const TENANT: &str = "ten_demo_a";
/// Demo tenant A's API key (README "Demo tenants"; not a secret).
pub const API_KEY: &str = "sk_demo_tenant_a_4f9c2b7e1d8a6350";
/// Demo tenant A's `asaas-access-token` for gateway webhooks.
pub const ASAAS_TOKEN: &str = "demo-asaas-token-tenant-a-3b8f1d6e9c2a";

/// One answer: status (`NO_ANSWER` when none came), latency, body when it was JSON.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status, or `NO_ANSWER`.
    pub status: u16,
    /// Send → whole body read.
    pub took: Duration,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// `Idempotent-Replayed: true`.
    pub replayed: bool,
    /// Why there was no answer.
    pub error: Option<String>,
}

impl Answer {
    /// `body.<field>` as a string, e.g. the payment's `id` or `status`.
    pub fn field(&self, field: &str) -> Option<String> {
        self.body
            .as_ref()
            .and_then(|b| b.get(field))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// The payment id of a create's or a read's answer (2xx only).
    pub fn payment_id(&self) -> Option<String> {
        if (200..300).contains(&self.status) {
            self.field("id")
        } else {
            None
        }
    }

    /// The error code of an error body (`idempotency_key_in_use`, …).
    pub fn error_code(&self) -> Option<String> {
        self.body
            .as_ref()
            .and_then(|b| b.pointer("/error/code"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// The API of one dev server on 127.0.0.1.
#[derive(Clone)]
pub struct Api {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::Client,
    /// The API key sent as the bearer token (demo tenant A's unless [`Api::with_key`]).
    key: String,
}

impl Api {
    /// A client for `base` (refused unless it is 127.0.0.1) giving up after `timeout`.
    pub fn new(base: &str, timeout: Duration) -> Result<Api, String> {
        loopback::base_url(base)?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        Ok(Api {
            base: base.trim_end_matches('/').to_string(),
            http,
            key: API_KEY.to_string(),
        })
    }

    /// The same server and connection pool, calling with another tenant's API key.
    pub fn with_key(&self, key: &str) -> Api {
        Api {
            key: key.to_string(),
            ..self.clone()
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let t0 = Instant::now();
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return no_answer(t0, &e),
        };
        let status = resp.status().as_u16();
        let replayed = resp
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v.as_bytes() == b"true");
        match resp.bytes().await {
            Ok(b) => Answer {
                status,
                took: t0.elapsed(),
                body: serde_json::from_slice(&b).ok(),
                replayed,
                error: None,
            },
            Err(e) => no_answer(t0, &e),
        }
    }

    fn authed(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
    }

    /// `POST /v1/payments` with `Idempotency-Key: key`.
    pub async fn create(&self, key: &str, body: &Value) -> Answer {
        self.send(
            self.authed(reqwest::Method::POST, "/v1/payments")
                .header("idempotency-key", key)
                .json(body),
        )
        .await
    }

    /// `GET /v1/payments/{id}`.
    pub async fn get(&self, id: &str) -> Answer {
        self.send(self.authed(reqwest::Method::GET, &format!("/v1/payments/{id}")))
            .await
    }

    /// `GET /v1/payments?…` with a raw query string.
    pub async fn list(&self, query: &str) -> Answer {
        self.send(self.authed(reqwest::Method::GET, &format!("/v1/payments?{query}")))
            .await
    }

    /// `GET /v1/events?…` with a raw query string.
    pub async fn events(&self, query: &str) -> Answer {
        self.send(self.authed(reqwest::Method::GET, &format!("/v1/events?{query}")))
            .await
    }

    /// `POST /v1/events/{id}/resend`.
    pub async fn resend(&self, event_id: &str) -> Answer {
        self.send(
            self.authed(
                reqwest::Method::POST,
                &format!("/v1/events/{event_id}/resend"),
            )
            .header("idempotency-key", format!("resend-{}", ulid::Ulid::new())),
        )
        .await
    }

    /// `PUT /v1/gateways/{gateway}/credentials`.
    pub async fn put_credentials(&self, gateway: &str, body: &Value) -> Answer {
        self.send(
            self.authed(
                reqwest::Method::PUT,
                &format!("/v1/gateways/{gateway}/credentials"),
            )
            .json(body),
        )
        .await
    }

    /// An Asaas `PAYMENT_RECEIVED` webhook for one of tenant A's payments.
    pub async fn asaas_received(&self, event_id: &str, payment: &str, asaas_id: &str) -> Answer {
        self.asaas_paid(TENANT, ASAAS_TOKEN, event_id, payment, asaas_id, 1990)
            .await
    }

    /// An Asaas `PAYMENT_RECEIVED` webhook (`POST /webhooks/asaas/{tenant}` with the tenant's
    /// `asaas-access-token`) saying `payment` (our id, echoed as `externalReference`; Asaas's
    /// id `asaas_id`) was paid `cents`.
    pub async fn asaas_paid(
        &self,
        tenant: &str,
        token: &str,
        event_id: &str,
        payment: &str,
        asaas_id: &str,
        cents: u64,
    ) -> Answer {
        let value = cents as f64 / 100.0;
        let body = json!({"id": event_id, "event": "PAYMENT_RECEIVED",
            "payment": {"object": "payment", "id": asaas_id, "status": "RECEIVED", "value": value,
                "billingType": "PIX", "externalReference": payment}});
        self.send(
            self.http
                .post(format!("{}/webhooks/asaas/{tenant}", self.base))
                .header("asaas-access-token", token)
                .json(&body),
        )
        .await
    }

    /// `GET /metrics` (Prometheus text), `None` without a 200.
    pub async fn metrics_text(&self) -> Option<String> {
        let r = self
            .http
            .get(format!("{}/metrics", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.text().await.ok()
    }

    /// `GET /health` answered 200.
    pub async fn healthy(&self) -> bool {
        self.http
            .get(format!("{}/health", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}

fn no_answer(t0: Instant, e: &reqwest::Error) -> Answer {
    Answer {
        status: NO_ANSWER,
        took: t0.elapsed(),
        body: None,
        replayed: false,
        error: Some(if e.is_timeout() {
            "client timeout".into()
        } else {
            format!("{e}")
        }),
    }
}

/// A Pix create of 19.90 BRL; `gateway` pins one, `callback` sets the merchant URL.
pub fn pix(reference: &str, gateway: Option<&str>, callback: Option<&str>) -> Value {
    let mut b = json!({"amount": 1990, "currency": "BRL", "method": "pix",
        "customer": {"name": "Maria Souza", "document": "52998224725", "email": "maria@example.com"},
        "reference": reference});
    if let Some(g) = gateway {
        b["gateway"] = g.into();
    }
    if let Some(c) = callback {
        b["callback_url"] = c.into();
    }
    b
}

/// A card create of 100.00 BRL with a Stripe token only (so it can go nowhere but Stripe).
pub fn card_stripe_only(reference: &str, callback: Option<&str>) -> Value {
    let mut b = json!({"amount": 10000, "currency": "BRL", "method": "card",
        "card": {"tokens": {"stripe": "pm_card_visa"}}, "reference": reference});
    if let Some(c) = callback {
        b["callback_url"] = c.into();
    }
    b
}
