//! The EFI Pix client flow: every call over mTLS with the account's certificate; an OAuth2
//! client-credentials token cached per credential until shortly before `expires_in`; charges
//! created with `PUT /v2/cob/{txid}` and a txid derived from the payment id, so a retry after
//! an unknown outcome meets `txid_duplicado` and reads back the same cob.

use super::transformers::{
    classify, cob_body, to_charge, to_charge_without_qr, to_listed, to_refund, unread_cob, Cob,
    CobList, Devolucao, ErrorBody, QrCode, Token,
};
use crate::domain::{Currency, Money, PaymentMethod};
use crate::gateways::http_errors::{classify_transport, read_json};
use crate::ports::{
    ChargeListing, ChargeLookup, ChargeRequest, ChargeWindow, ErrorClass, Gateway, GatewayCharge,
    GatewayError, GatewayRefund, RefundRequest, MAX_LISTED_CHARGES,
};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Refresh the token this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// A token is never trusted longer than this, whatever `expires_in` says (EFI issues 3600 s).
const MAX_TOKEN_LIFE: Duration = Duration::from_secs(24 * 3600);

/// Connection settings. Secrets and the key never appear in `Debug` output.
#[derive(Clone)]
pub struct EfiConfig {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// The account's Pix key (`chave`) charges are paid to.
    pub pix_key: String,
    /// Client certificate and private key, PEM (see [`EfiConfig::identity_from_pkcs12`]).
    pub identity_pem: Vec<u8>,
    /// Extra CA to trust (tests, or a private endpoint); public roots are always trusted.
    pub extra_root_pem: Option<Vec<u8>>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl std::fmt::Debug for EfiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EfiConfig")
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// Why a certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("the PKCS#12 file could not be read with its passphrase: {0}")]
    Pkcs12(String),
    #[error("the PKCS#12 file holds no private key with a certificate")]
    NoKey,
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

impl EfiConfig {
    /// Converts the `.p12` EFI issues (empty passphrase) into the PEM identity the client uses.
    pub fn identity_from_pkcs12(der: &[u8]) -> Result<Vec<u8>, CertificateError> {
        Self::identity_from_pkcs12_with_password(der, "")
    }

    /// The same for a `.p12` protected by a passphrase.
    pub fn identity_from_pkcs12_with_password(
        der: &[u8],
        password: &str,
    ) -> Result<Vec<u8>, CertificateError> {
        let ks = p12_keystore::KeyStore::from_pkcs12(
            der,
            password,
            p12_keystore::Pkcs12ImportPolicy::Strict,
        )
        .map_err(|e| CertificateError::Pkcs12(e.to_string()))?;
        let (_, chain) = ks.private_key_chain().ok_or(CertificateError::NoKey)?;
        let mut out = String::new();
        for cert in chain.certs() {
            out.push_str(&pem("CERTIFICATE", cert.as_der()));
        }
        out.push_str(&pem("PRIVATE KEY", chain.key().as_der()));
        Ok(out.into_bytes())
    }
}

/// One client per credential, reused across invocations; it holds the token cache.
pub struct EfiClient {
    http: reqwest::Client,
    config: EfiConfig,
    token: Mutex<Option<(String, Instant)>>,
}

/// Building the client failed (bad certificate or key).
#[derive(Debug, thiserror::Error)]
#[error("EFI client configuration: {0}")]
pub struct EfiSetupError(String);

impl EfiClient {
    /// Builds the mTLS HTTP client once.
    pub fn new(config: EfiConfig) -> Result<Self, EfiSetupError> {
        let identity = reqwest::Identity::from_pem(&config.identity_pem)
            .map_err(|e| EfiSetupError(e.to_string()))?;
        let mut b = reqwest::Client::builder()
            .identity(identity)
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent("payment-orchestrator/1");
        if let Some(ca) = &config.extra_root_pem {
            b = b.add_root_certificate(
                reqwest::Certificate::from_pem(ca).map_err(|e| EfiSetupError(e.to_string()))?,
            );
        }
        Ok(Self {
            http: b.build().map_err(|e| EfiSetupError(e.to_string()))?,
            config,
            token: Mutex::new(None),
        })
    }

    async fn token(&self) -> Result<String, GatewayError> {
        let mut cached = self.token.lock().await;
        if let Some((t, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(t.clone());
            }
        }
        let res = self
            .http
            .post(format!("{}/oauth/token", self.config.base_url))
            .basic_auth(&self.config.client_id, Some(&self.config.client_secret))
            .json(&serde_json::json!({"grant_type": "client_credentials"}))
            .send()
            .await
            // Asking for a token creates no charge, whatever happened.
            .map_err(|e| GatewayError {
                class: ErrorClass::Unavailable,
                ..classify_transport(e)
            })?;
        let t: Token = Self::read(res).await.map_err(|e| match e.class {
            ErrorClass::Misconfigured | ErrorClass::Invalid => GatewayError {
                class: ErrorClass::Misconfigured,
                ..e
            },
            _ => GatewayError {
                class: ErrorClass::Unavailable,
                ..e
            },
        })?;
        // `expires_in` is whatever EFI sent: capped, and added without overflow (a lifetime the
        // clock cannot represent is treated as already over, so the next call asks again).
        let life = Duration::from_secs(u64::try_from(t.expires_in).unwrap_or(0))
            .min(MAX_TOKEN_LIFE)
            .saturating_sub(TOKEN_MARGIN);
        let now = Instant::now();
        *cached = Some((t.access_token.clone(), now.checked_add(life).unwrap_or(now)));
        Ok(t.access_token)
    }

    async fn read<T: DeserializeOwned>(res: reqwest::Response) -> Result<T, GatewayError> {
        read_json("EFI", res, |status, _, body| {
            classify(
                status,
                &serde_json::from_slice::<ErrorBody>(body).unwrap_or_default(),
            )
        })
        .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, GatewayError> {
        let token = self.token().await?;
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.config.base_url))
            .bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        Self::read(rb.send().await.map_err(classify_transport)?).await
    }

    /// The charge with its QR code (an `ATIVA` cob with a location only). With
    /// `QrFailure::Propagate` a failing QR read (or the token refresh it needed) is the call's
    /// error; with `QrFailure::KeepCharge` (create and look-up: the cob exists) it never is, and
    /// the charge is what [`to_charge_without_qr`] makes of the cob alone.
    async fn with_qr(
        &self,
        cob: Cob,
        expected: Option<Money>,
        on_failure: QrFailure,
    ) -> Result<GatewayCharge, GatewayError> {
        let now = chrono::Utc::now();
        let loc = match (&cob.loc, cob.status.as_str()) {
            (Some(loc), "ATIVA") => loc.id,
            _ if on_failure == QrFailure::KeepCharge => {
                return to_charge_without_qr(cob, expected, now)
            }
            _ => return to_charge(cob, None, expected, now),
        };
        let qr = self
            .call::<QrCode>(reqwest::Method::GET, &format!("/v2/loc/{loc}/qrcode"), None)
            .await;
        match (qr, on_failure) {
            (Ok(qr), _) => to_charge(cob, Some(qr), expected, now),
            (Err(e), QrFailure::KeepCharge) => {
                tracing::warn!(gateway = "efi", txid = %cob.txid, code = %e.code, "QR code not read; the cob is kept");
                to_charge_without_qr(cob, expected, now)
            }
            (Err(e), QrFailure::Propagate) => Err(e),
        }
    }
}

/// What a failing QR read means for the call that needed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QrFailure {
    /// The cob exists (create, look-up): report it, never an error, or the orchestrator would
    /// fail over (429, connect) or mark the payment failed (404) while a payable cob stays.
    KeepCharge,
    /// A status read: the error is the answer, and a later read tries again.
    Propagate,
}

#[async_trait]
impl Gateway for EfiClient {
    fn name(&self) -> &str {
        "efi"
    }

    fn supports(&self, method: PaymentMethod) -> bool {
        method == PaymentMethod::Pix
    }

    /// Pix is in reais only.
    fn supports_currency(&self, currency: Currency) -> bool {
        currency == Currency::BRL
    }

    /// Asks for a new OAuth2 token (mTLS + client credentials): it proves the certificate and
    /// the client id and secret, and creates nothing.
    async fn verify(&self) -> Result<(), GatewayError> {
        *self.token.lock().await = None;
        self.token().await.map(|_| ())
    }

    /// The txid is ours and deterministic: the cob is read by it, and a 404 means none exists.
    async fn lookup(&self, q: &ChargeLookup) -> Result<Option<GatewayCharge>, GatewayError> {
        let token = self.token().await?;
        let res = self
            .http
            .get(format!("{}/v2/cob/{}", self.config.base_url, q.gateway_key))
            .bearer_auth(token)
            .send()
            .await
            .map_err(classify_transport)?;
        if res.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let cob: Cob = Self::read(res).await?;
        self.with_qr(cob, Some(q.amount), QrFailure::KeepCharge)
            .await
            .map(Some)
    }

    /// Once `PUT /v2/cob/{txid}` succeeded (or answered `txid_duplicado`: the cob is ours and
    /// exists), the answer is the charge, never an error, whatever happens next; only an
    /// amount that is not the one asked for is refused.
    async fn create(&self, req: &ChargeRequest) -> Result<GatewayCharge, GatewayError> {
        if req.amount.currency() != Currency::BRL {
            // Nothing is sent: EFI would read the minor units as centavos.
            return Err(GatewayError {
                class: ErrorClass::Invalid,
                code: "currency_not_supported".into(),
                message: format!(
                    "EFI charges Pix in BRL only, not {}",
                    req.amount.currency().code()
                ),
            });
        }
        if req.method != PaymentMethod::Pix {
            return Err(GatewayError {
                class: ErrorClass::Invalid,
                code: "method_not_supported".into(),
                message: "EFI takes Pix only".into(),
            });
        }
        let txid = &req.gateway_key;
        let path = format!("/v2/cob/{txid}");
        let created = self
            .call::<Cob>(
                reqwest::Method::PUT,
                &path,
                Some(cob_body(req, &self.config.pix_key)),
            )
            .await;
        let cob = match created {
            Ok(c) => c,
            // The txid is ours and deterministic: a duplicate is the charge an earlier attempt made.
            Err(e) if e.code == "txid_duplicado" => {
                match self.call::<Cob>(reqwest::Method::GET, &path, None).await {
                    Ok(c) => c,
                    Err(read) => {
                        tracing::warn!(gateway = "efi", txid = %txid, code = %read.code, "existing cob not read back; kept as processing");
                        return Ok(unread_cob(txid));
                    }
                }
            }
            Err(e) => return Err(e),
        };
        self.with_qr(cob, Some(req.amount), QrFailure::KeepCharge)
            .await
    }

    /// `GET /v2/cob?inicio&fim`, following `paginacao.paginaAtual`.
    async fn list_charges(&self, w: &ChargeWindow) -> Result<ChargeListing, GatewayError> {
        let fmt = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        // EFI's `fim` is inclusive; ours is not.
        let last =
            w.to.checked_sub_signed(chrono::TimeDelta::milliseconds(1))
                .unwrap_or(w.to);
        let (inicio, fim) = (fmt(w.from), fmt(last.max(w.from)));
        let now = chrono::Utc::now();
        let mut out = ChargeListing::default();
        let mut page = 0u32;
        loop {
            let path = format!(
                "/v2/cob?inicio={}&fim={}&paginacao.paginaAtual={page}&paginacao.itensPorPagina=100",
                inicio.replace(':', "%3A").replace('+', "%2B"),
                fim.replace(':', "%3A").replace('+', "%2B"),
            );
            let list: CobList = self.call(reqwest::Method::GET, &path, None).await?;
            let more = list.has_next();
            let n = list.cobs.len();
            out.charges
                .extend(list.cobs.into_iter().map(|c| to_listed(c, now)));
            if !more || n == 0 {
                out.complete = true;
                return Ok(out);
            }
            if out.charges.len() >= MAX_LISTED_CHARGES {
                return Ok(out);
            }
            page += 1;
        }
    }

    async fn retrieve(
        &self,
        txid: &str,
        _method: PaymentMethod,
    ) -> Result<GatewayCharge, GatewayError> {
        let cob: Cob = self
            .call(reqwest::Method::GET, &format!("/v2/cob/{txid}"), None)
            .await?;
        self.with_qr(cob, None, QrFailure::Propagate).await
    }

    async fn cancel(&self, txid: &str, _method: PaymentMethod) -> Result<(), GatewayError> {
        let body = serde_json::json!({"status": "REMOVIDA_PELO_USUARIO_RECEBEDOR"});
        let _: Cob = self
            .call(
                reqwest::Method::PATCH,
                &format!("/v2/cob/{txid}"),
                Some(body),
            )
            .await?;
        Ok(())
    }

    /// Refunds the Pix received for the cob; the refund id is the refund key, so a retried
    /// `PUT` lands on the same devolução.
    async fn refund(&self, req: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        let cob: Cob = self
            .call(
                reqwest::Method::GET,
                &format!("/v2/cob/{}", req.gateway_payment_id),
                None,
            )
            .await?;
        let e2e = cob
            .pix
            .first()
            .map(|p| p.end_to_end_id.clone())
            .ok_or_else(|| GatewayError {
                class: ErrorClass::Invalid,
                code: "pix_not_received".into(),
                message: "the cob has no received Pix to refund".into(),
            })?;
        let body = serde_json::json!({"valor": req.amount.to_decimal_string()});
        let d: Devolucao = self
            .call(
                reqwest::Method::PUT,
                &format!("/v2/pix/{e2e}/devolucao/{}", req.refund_key),
                Some(body),
            )
            .await?;
        Ok(to_refund(d))
    }
}

/// The credential JSON of an EFI account.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    client_id: String,
    client_secret: String,
    pix_key: String,
    /// Certificate and key, PEM.
    certificate_pem: Option<String>,
    /// The `.p12` EFI issues, base64 (empty passphrase unless `certificate_p12_password`).
    certificate_p12_base64: Option<String>,
    certificate_p12_password: Option<String>,
    ca_pem: Option<String>,
    base_url: Option<String>,
    connect_timeout_ms: Option<u64>,
    timeout_ms: Option<u64>,
}

impl EfiClient {
    /// Builds a client from `{"client_id", "client_secret", "pix_key", "certificate_pem" |
    /// "certificate_p12_base64" (+ "certificate_p12_password"?), "ca_pem"?, "base_url"?,
    /// "connect_timeout_ms"?, "timeout_ms"?}`.
    pub fn from_credentials(v: &serde_json::Value) -> Result<Self, String> {
        use base64::Engine;
        let c: Credentials = crate::gateways::live::parse_credentials("efi", v)?;
        let identity_pem = match (c.certificate_pem, c.certificate_p12_base64) {
            (Some(pem), _) => pem.into_bytes(),
            (None, Some(p12)) => {
                // The decoder's message names an offending byte of the certificate: not kept.
                let der = base64::engine::general_purpose::STANDARD
                    .decode(p12.trim())
                    .map_err(|_| "efi certificate_p12_base64: not valid base64".to_string())?;
                let password = c.certificate_p12_password.as_deref().unwrap_or("");
                EfiConfig::identity_from_pkcs12_with_password(&der, password)
                    .map_err(|e| e.to_string())?
            }
            (None, None) => {
                return Err("efi credentials need certificate_pem or certificate_p12_base64".into())
            }
        };
        EfiClient::new(EfiConfig {
            base_url: c
                .base_url
                .unwrap_or_else(|| "https://pix.api.efipay.com.br".into()),
            client_id: c.client_id,
            client_secret: c.client_secret,
            pix_key: c.pix_key,
            identity_pem,
            extra_root_pem: c.ca_pem.map(String::into_bytes),
            connect_timeout: Duration::from_millis(c.connect_timeout_ms.unwrap_or(3000)),
            timeout: Duration::from_millis(c.timeout_ms.unwrap_or(20_000)),
        })
        .map_err(|e| e.to_string())
    }
}
