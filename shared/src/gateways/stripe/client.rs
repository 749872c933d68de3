//! The Stripe client flow: form-encoded PaymentIntents with a pinned `Stripe-Version` and an
//! `Idempotency-Key` derived from the payment id on every POST.

use super::transformers::{
    check_amount, classify, classify_transport, create_form, payment_id_of, refund_form, to_charge,
    to_listed, to_refund, ErrorBody, IntentList, PaymentIntent, WireRefund,
};
use crate::domain::Currency;
use crate::domain::PaymentMethod;
use crate::gateways::http_errors::read_json;
use crate::ports::{
    ChargeListing, ChargeLookup, ChargeRequest, ChargeWindow, Gateway, GatewayCharge, GatewayError,
    GatewayRefund, RefundRequest, MAX_LISTED_CHARGES,
};
use async_trait::async_trait;
use std::time::Duration;

/// The API version whose response shapes the transformers expect.
pub const STRIPE_VERSION: &str = "2024-06-20";

/// Connection settings. The key never appears in `Debug` output.
#[derive(Clone)]
pub struct StripeConfig {
    pub base_url: String,
    pub secret_key: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl StripeConfig {
    /// Production base URL with default timeouts (connect 3 s, total 20 s).
    pub fn new(secret_key: impl Into<String>) -> Self {
        Self {
            base_url: "https://api.stripe.com".into(),
            secret_key: secret_key.into(),
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(20),
        }
    }
}

/// One client per credential, reused across invocations.
pub struct StripeClient {
    http: reqwest::Client,
    config: StripeConfig,
}

impl StripeClient {
    /// Builds the HTTP client once.
    pub fn new(config: StripeConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent("payment-orchestrator/1")
            .build()?;
        Ok(Self { http, config })
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        idempotency_key: &str,
        form: &[(String, String)],
    ) -> Result<T, GatewayError> {
        let res = self
            .http
            .post(format!("{}{path}", self.config.base_url))
            .bearer_auth(&self.config.secret_key)
            .header("Stripe-Version", STRIPE_VERSION)
            .header("Idempotency-Key", idempotency_key)
            .form(form)
            .send()
            .await
            .map_err(classify_transport)?;
        Self::read(res).await
    }

    async fn read<T: serde::de::DeserializeOwned>(
        res: reqwest::Response,
    ) -> Result<T, GatewayError> {
        read_json("Stripe", res, |status, headers, body| {
            let should_retry = headers
                .get("stripe-should-retry")
                .and_then(|v| v.to_str().ok())
                .map(|v| v == "true");
            let body = serde_json::from_slice::<ErrorBody>(body).ok();
            classify(status, body.as_ref().map(|b| &b.error), should_retry)
        })
        .await
    }
}

#[async_trait]
impl Gateway for StripeClient {
    fn name(&self) -> &str {
        "stripe"
    }

    fn supports(&self, _method: PaymentMethod) -> bool {
        true
    }

    fn supports_currency(&self, _currency: Currency) -> bool {
        true
    }

    /// The answer (a new intent, or the one replayed for the key) must be for the amount and
    /// currency asked: anything else is refused as an amount mismatch.
    async fn create(&self, req: &ChargeRequest) -> Result<GatewayCharge, GatewayError> {
        let pi = self
            .post::<PaymentIntent>("/v1/payment_intents", &req.gateway_key, &create_form(req))
            .await?;
        check_amount(&pi, req.amount)?;
        Ok(to_charge(pi))
    }

    /// Stripe has no read by idempotency key, so the intent is found by the
    /// `metadata[payment_id]` every create carries, through the Search API. When several
    /// intents carry it (a create re-sent after Stripe pruned its idempotency key makes a
    /// second one), the oldest is the payment's charge. Its amount and currency must be the
    /// ones asked for.
    ///
    /// Stripe documents search as eventually consistent (an intent may take up to about a
    /// minute to become searchable), so `Ok(None)` right after a create is not proof of
    /// absence.
    async fn lookup(&self, q: &ChargeLookup) -> Result<Option<GatewayCharge>, GatewayError> {
        let query = format!("metadata['payment_id']:'{}'", q.payment_id);
        let res = self
            .http
            .get(format!(
                "{}/v1/payment_intents/search",
                self.config.base_url
            ))
            .query(&[("query", query.as_str())])
            .bearer_auth(&self.config.secret_key)
            .header("Stripe-Version", STRIPE_VERSION)
            .send()
            .await
            .map_err(classify_transport)?;
        let found: SearchResult = Self::read(res).await?;
        let wanted = q.payment_id.as_str();
        let oldest = found
            .data
            .into_iter()
            // The query already selects these; an intent visibly for another payment is never
            // taken for ours.
            .filter(|pi| payment_id_of(pi).is_none_or(|p| p == wanted))
            .enumerate()
            .min_by_key(|(i, pi)| (pi.created.unwrap_or(i64::MAX), *i))
            .map(|(_, pi)| pi);
        match oldest {
            Some(pi) => {
                check_amount(&pi, q.amount)?;
                Ok(Some(to_charge(pi)))
            }
            None => Ok(None),
        }
    }

    /// `GET /v1/payment_intents?created[gte]=&created[lt]=`, following `starting_after` pages.
    async fn list_charges(&self, w: &ChargeWindow) -> Result<ChargeListing, GatewayError> {
        let (gte, lt) = (w.from.timestamp().to_string(), w.to.timestamp().to_string());
        let mut out = ChargeListing::default();
        let mut after: Option<String> = None;
        loop {
            let mut q: Vec<(&str, &str)> = vec![
                ("created[gte]", gte.as_str()),
                ("created[lt]", lt.as_str()),
                ("limit", "100"),
                // Fee and net of each paid intent, in the same request.
                ("expand[]", "data.latest_charge.balance_transaction"),
            ];
            if let Some(a) = after.as_deref() {
                q.push(("starting_after", a));
            }
            let res = self
                .http
                .get(format!("{}/v1/payment_intents", self.config.base_url))
                .query(&q)
                .bearer_auth(&self.config.secret_key)
                .header("Stripe-Version", STRIPE_VERSION)
                .send()
                .await
                .map_err(classify_transport)?;
            let page: IntentList = Self::read(res).await?;
            // A page that does not advance (empty with `has_more`) would loop forever.
            let last = page.data.last().map(|pi| pi.id.clone());
            out.charges.extend(page.data.into_iter().map(to_listed));
            if !page.has_more || last.is_none() {
                out.complete = true;
                return Ok(out);
            }
            if out.charges.len() >= MAX_LISTED_CHARGES {
                return Ok(out);
            }
            after = last;
        }
    }

    /// `GET /v1/balance`: authenticated, read-only.
    async fn verify(&self) -> Result<(), GatewayError> {
        let res = self
            .http
            .get(format!("{}/v1/balance", self.config.base_url))
            .bearer_auth(&self.config.secret_key)
            .header("Stripe-Version", STRIPE_VERSION)
            .send()
            .await
            .map_err(classify_transport)?;
        Self::read::<serde::de::IgnoredAny>(res).await.map(|_| ())
    }

    async fn retrieve(
        &self,
        id: &str,
        _method: PaymentMethod,
    ) -> Result<GatewayCharge, GatewayError> {
        let res = self
            .http
            .get(format!("{}/v1/payment_intents/{id}", self.config.base_url))
            .bearer_auth(&self.config.secret_key)
            .header("Stripe-Version", STRIPE_VERSION)
            .send()
            .await
            .map_err(classify_transport)?;
        Self::read::<PaymentIntent>(res).await.map(to_charge)
    }

    async fn cancel(&self, id: &str, _method: PaymentMethod) -> Result<(), GatewayError> {
        // The key makes a retried cancel a replay.
        self.post::<PaymentIntent>(
            &format!("/v1/payment_intents/{id}/cancel"),
            &format!("cancel-{id}"),
            &[],
        )
        .await
        .map(|_| ())
    }

    async fn refund(&self, req: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        // The refund key is the Idempotency-Key: a retry is a replay, never a second refund.
        self.post::<WireRefund>("/v1/refunds", &req.refund_key, &refund_form(req))
            .await
            .map(to_refund)
    }
}

/// `GET /v1/payment_intents/search`.
#[derive(serde::Deserialize)]
struct SearchResult {
    data: Vec<PaymentIntent>,
}

/// The credential JSON of a Stripe account.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    secret_key: String,
    base_url: Option<String>,
    connect_timeout_ms: Option<u64>,
    timeout_ms: Option<u64>,
}

impl StripeClient {
    /// Builds a client from `{"secret_key", "base_url"?, "connect_timeout_ms"?, "timeout_ms"?}`.
    pub fn from_credentials(v: &serde_json::Value) -> Result<Self, String> {
        let c: Credentials = crate::gateways::live::parse_credentials("stripe", v)?;
        let mut cfg = StripeConfig::new(c.secret_key);
        if let Some(u) = c.base_url {
            cfg.base_url = u;
        }
        if let Some(ms) = c.connect_timeout_ms {
            cfg.connect_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = c.timeout_ms {
            cfg.timeout = Duration::from_millis(ms);
        }
        StripeClient::new(cfg).map_err(|e| e.to_string())
    }
}
