//! The Asaas client flow: `access_token` + `User-Agent` headers; customer found by `cpfCnpj`
//! or created; the payment looked up by `externalReference` (the payment id) before any create,
//! because Asaas has no idempotency key and a retry after an unknown outcome must find the
//! charge the first attempt made; Pix QR code fetched for Pix.

use super::transformers::{
    billing_type, classify, due_date, find_refund, json_decimal, to_charge, to_charge_without_qr,
    to_listed, Customer, ErrorBody, List, NewCustomer, NewPayment, NewRefund, Payment, PixQrCode,
};
use crate::domain::{Currency, PaymentMethod};
use crate::gateways::http_errors::{classify_transport, read_json};
use crate::ports::{
    ChargeListing, ChargeLookup, ChargeRequest, ChargeWindow, ErrorClass, Gateway, GatewayCharge,
    GatewayError, GatewayRefund, RefundRequest, MAX_LISTED_CHARGES,
};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Connection settings. The key never appears in `Debug` output.
#[derive(Clone)]
pub struct AsaasConfig {
    pub base_url: String,
    pub access_token: String,
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl std::fmt::Debug for AsaasConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsaasConfig")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl AsaasConfig {
    /// Production base URL with default timeouts (connect 3 s, total 20 s).
    pub fn new(access_token: impl Into<String>) -> Self {
        Self {
            base_url: "https://api.asaas.com/v3".into(),
            access_token: access_token.into(),
            user_agent: "payment-orchestrator/1".into(),
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(20),
        }
    }
}

/// One client per credential, reused across invocations.
pub struct AsaasClient {
    http: reqwest::Client,
    config: AsaasConfig,
}

fn invalid(code: &str, message: &str) -> GatewayError {
    GatewayError {
        class: ErrorClass::Invalid,
        code: code.into(),
        message: message.into(),
    }
}

impl AsaasClient {
    /// Builds the HTTP client once.
    pub fn new(config: AsaasConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(config.user_agent.clone())
            .build()?;
        Ok(Self { http, config })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> Result<T, GatewayError> {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.config.base_url))
            .header("access_token", &self.config.access_token);
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        let res = rb.send().await.map_err(classify_transport)?;
        read_json("Asaas", res, |status, _, body| {
            classify(
                status,
                serde_json::from_slice::<ErrorBody>(body).ok().as_ref(),
            )
        })
        .await
    }

    async fn customer_id(&self, req: &ChargeRequest) -> Result<String, GatewayError> {
        let c = req
            .customer
            .as_ref()
            .ok_or_else(|| invalid("customer_required", "Asaas needs the customer"))?;
        let doc = c.document.as_ref().ok_or_else(|| {
            invalid(
                "customer_document_required",
                "Asaas needs the customer's CPF or CNPJ",
            )
        })?;
        let path = format!("/customers?cpfCnpj={}", doc.as_str());
        let found: List<Customer> = self.call(reqwest::Method::GET, &path, None).await?;
        if let Some(existing) = found.data.into_iter().next() {
            return Ok(existing.id);
        }
        let body = serde_json::to_string(&NewCustomer {
            name: &c.name,
            cpf_cnpj: doc.as_str(),
            email: c.email.as_deref(),
            notification_disabled: true,
        })
        .map_err(|e| invalid("serialize", &e.to_string()))?;
        let created: Customer = self
            .call(reqwest::Method::POST, "/customers", Some(body))
            .await?;
        Ok(created.id)
    }

    /// The live (not deleted) payment whose `externalReference` is our payment id.
    async fn find_existing(&self, reference: &str) -> Result<Option<Payment>, GatewayError> {
        let found: List<Payment> = self
            .call(
                reqwest::Method::GET,
                &format!("/payments?externalReference={reference}"),
                None,
            )
            .await?;
        Ok(found.data.into_iter().find(|p| !p.deleted))
    }

    /// The charge with its Pix QR code (a pending Pix only). With `QrFailure::Propagate` a
    /// failing QR read is the call's error; with `QrFailure::KeepCharge` (create and look-up,
    /// where the charge is known to exist) it never is: see [`to_charge_without_qr`].
    async fn with_qr(
        &self,
        p: Payment,
        method: PaymentMethod,
        expected: Option<crate::domain::Money>,
        on_failure: QrFailure,
    ) -> Result<GatewayCharge, GatewayError> {
        if method != PaymentMethod::Pix || p.status != "PENDING" {
            return to_charge(p, None, expected);
        }
        let qr = self
            .call::<PixQrCode>(
                reqwest::Method::GET,
                &format!("/payments/{}/pixQrCode", p.id),
                None,
            )
            .await;
        match (qr, on_failure) {
            (Ok(qr), _) => to_charge(p, Some(qr), expected),
            (Err(e), QrFailure::KeepCharge) => {
                tracing::warn!(gateway = "asaas", payment = %p.id, code = %e.code, "Pix QR code not read; the charge is kept as processing");
                to_charge_without_qr(p, expected)
            }
            (Err(e), QrFailure::Propagate) => Err(e),
        }
    }
}

/// What a failing Pix QR read means for the call that needed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QrFailure {
    /// The charge exists (create, look-up): report it as processing, never an error, or the
    /// orchestrator would fail over (429, connect) or mark it failed (404) while a payable
    /// charge stays at Asaas.
    KeepCharge,
    /// A status read: the error is the answer, and a later read tries again.
    Propagate,
}

/// Refuses an amount in anything but reais before any request: Asaas would read the minor
/// units as centavos (1000 JPY sent as R$ 10,00).
fn require_brl(amount: crate::domain::Money) -> Result<(), GatewayError> {
    if amount.currency() == Currency::BRL {
        Ok(())
    } else {
        Err(invalid(
            "currency_not_supported",
            &format!(
                "Asaas charges in BRL only, not {}",
                amount.currency().code()
            ),
        ))
    }
}

#[async_trait]
impl Gateway for AsaasClient {
    fn name(&self) -> &str {
        "asaas"
    }

    /// No idempotency key at Asaas: a create re-sent while the first is still processed there
    /// could charge twice.
    fn create_is_idempotent(&self) -> bool {
        false
    }

    fn supports(&self, _method: PaymentMethod) -> bool {
        true
    }

    /// Asaas charges in reais only.
    fn supports_currency(&self, currency: Currency) -> bool {
        currency == Currency::BRL
    }

    /// `GET /finance/balance` (the account's balance): authenticated, read-only.
    async fn verify(&self) -> Result<(), GatewayError> {
        self.call::<serde::de::IgnoredAny>(reqwest::Method::GET, "/finance/balance", None)
            .await
            .map(|_| ())
    }

    /// `GET /v3/payments?dateCreated[ge]=&dateCreated[le]=` (São Paulo dates: Asaas filters by
    /// day), following `offset` pages. Removed payments are listed too (as canceled).
    async fn list_charges(&self, w: &ChargeWindow) -> Result<ChargeListing, GatewayError> {
        let local = |t: chrono::DateTime<chrono::Utc>| {
            t.checked_sub_signed(chrono::TimeDelta::hours(3))
                .unwrap_or(t)
                .format("%Y-%m-%d")
                .to_string()
        };
        // `to` is exclusive: its own day is needed only when the window reaches into it.
        let last =
            w.to.checked_sub_signed(chrono::TimeDelta::seconds(1))
                .unwrap_or(w.to);
        let (from, to) = (local(w.from), local(last.max(w.from)));
        let mut out = ChargeListing::default();
        let mut offset = 0usize;
        loop {
            let page: List<Payment> = self
                .call(
                    reqwest::Method::GET,
                    &format!(
                        "/payments?dateCreated%5Bge%5D={from}&dateCreated%5Ble%5D={to}&offset={offset}&limit=100"
                    ),
                    None,
                )
                .await?;
            let n = page.data.len();
            out.charges.extend(page.data.into_iter().map(to_listed));
            offset += n;
            if !page.has_more || n == 0 {
                out.complete = true;
                return Ok(out);
            }
            if out.charges.len() >= MAX_LISTED_CHARGES {
                return Ok(out);
            }
        }
    }

    async fn lookup(&self, q: &ChargeLookup) -> Result<Option<GatewayCharge>, GatewayError> {
        match self.find_existing(q.payment_id.as_str()).await? {
            Some(p) => Ok(Some(
                self.with_qr(p, q.method, Some(q.amount), QrFailure::KeepCharge)
                    .await?,
            )),
            None => Ok(None),
        }
    }

    async fn create(&self, req: &ChargeRequest) -> Result<GatewayCharge, GatewayError> {
        require_brl(req.amount)?;
        let reference = req.payment_id.as_str();
        let existing = self
            .find_existing(reference)
            .await
            // Nothing was created by a failed lookup: whatever it was, creating is not yet attempted.
            .map_err(|e| {
                if e.class == ErrorClass::Ambiguous {
                    GatewayError {
                        class: ErrorClass::Unavailable,
                        ..e
                    }
                } else {
                    e
                }
            })?;
        if let Some(p) = existing {
            return self
                .with_qr(p, req.method, Some(req.amount), QrFailure::KeepCharge)
                .await;
        }
        let customer = self.customer_id(req).await.map_err(|e| {
            // The lookup above found no charge, and customer records move no money: an unknown
            // outcome here still created no charge.
            if e.class == ErrorClass::Ambiguous {
                GatewayError {
                    class: ErrorClass::Unavailable,
                    ..e
                }
            } else {
                e
            }
        })?;
        if req.method == PaymentMethod::Card && req.card_token.is_none() {
            return Err(invalid(
                "missing_card_token",
                "Asaas needs a credit card token",
            ));
        }
        let body = serde_json::to_string(&NewPayment {
            customer: &customer,
            billing_type: billing_type(req.method),
            value: json_decimal(req.amount.minor())
                .map_err(|e| invalid("amount", &e.to_string()))?,
            due_date: due_date(req.method, req.expires_in, chrono::Utc::now().date_naive())
                .format("%Y-%m-%d")
                .to_string(),
            description: req.description.as_deref(),
            external_reference: reference,
            credit_card_token: req.card_token.as_deref(),
        })
        .map_err(|e| invalid("serialize", &e.to_string()))?;
        let p: Payment = self
            .call(reqwest::Method::POST, "/payments", Some(body))
            .await?;
        self.with_qr(p, req.method, Some(req.amount), QrFailure::KeepCharge)
            .await
    }

    async fn retrieve(
        &self,
        id: &str,
        method: PaymentMethod,
    ) -> Result<GatewayCharge, GatewayError> {
        let p: Payment = self
            .call(reqwest::Method::GET, &format!("/payments/{id}"), None)
            .await?;
        self.with_qr(p, method, None, QrFailure::Propagate).await
    }

    async fn cancel(&self, id: &str, _method: PaymentMethod) -> Result<(), GatewayError> {
        let _: serde_json::Value = self
            .call(reqwest::Method::DELETE, &format!("/payments/{id}"), None)
            .await?;
        Ok(())
    }

    /// Asaas has no idempotency key: the refund carries its key as description, and a retry
    /// first looks for a refund with that description on the payment.
    async fn refund(&self, req: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        let path = format!("/payments/{}", req.gateway_payment_id);
        let current: Payment = self.call(reqwest::Method::GET, &path, None).await?;
        if let Some(r) = find_refund(&current, &req.refund_key) {
            return Ok(r);
        }
        let body = serde_json::to_string(&NewRefund {
            value: json_decimal(req.amount.minor())
                .map_err(|e| invalid("amount", &e.to_string()))?,
            description: &req.refund_key,
        })
        .map_err(|e| invalid("serialize", &e.to_string()))?;
        let after: Payment = self
            .call(reqwest::Method::POST, &format!("{path}/refund"), Some(body))
            .await?;
        find_refund(&after, &req.refund_key).ok_or_else(|| GatewayError {
            class: ErrorClass::Ambiguous,
            code: "refund_not_listed".into(),
            message: "Asaas accepted the refund but does not list it".into(),
        })
    }
}

/// The credential JSON of an Asaas account.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    access_token: String,
    base_url: Option<String>,
    user_agent: Option<String>,
    connect_timeout_ms: Option<u64>,
    timeout_ms: Option<u64>,
}

impl AsaasClient {
    /// Builds a client from `{"access_token", "base_url"?, "user_agent"?, "connect_timeout_ms"?, "timeout_ms"?}`.
    pub fn from_credentials(v: &serde_json::Value) -> Result<Self, String> {
        let c: Credentials = crate::gateways::live::parse_credentials("asaas", v)?;
        let mut cfg = AsaasConfig::new(c.access_token);
        if let Some(u) = c.base_url {
            cfg.base_url = u;
        }
        if let Some(a) = c.user_agent {
            cfg.user_agent = a;
        }
        if let Some(ms) = c.connect_timeout_ms {
            cfg.connect_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = c.timeout_ms {
            cfg.timeout = Duration::from_millis(ms);
        }
        AsaasClient::new(cfg).map_err(|e| e.to_string())
    }
}
