//! Support for the gateway-credentials tests: an orchestrator with the encrypted credential
//! store on a backend (memory + a local key, or the tenants table on moto + KMS on moto), the
//! raw stored bytes for inspection, and the HTTP calls of the credentials API.

use crate::{dynamo_client, kms_client, Backend, Harness};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use shared::adapters::aws::{DynamoSealedCredentials, KmsCipher};
use shared::adapters::memory::{LocalKeyCipher, MemorySealedCredentials};
use shared::api::{handle, ApiRequest, ApiResponse};
use shared::gateways::credential_form::FormPolicy;
use shared::gateways::live::LiveGateways;
use shared::ports::{CredentialCipher, SealedCredentialStore};
use shared::service::credentials::CredentialVault;
use shared::service::{Orchestrator, ServiceConfig};
use std::sync::Arc;
use std::time::Duration;

/// Where the encrypted records are, to read them raw.
pub enum RawStore {
    Memory(Arc<MemorySealedCredentials>),
    Dynamo(aws_sdk_dynamodb::Client, String),
}

/// The harness plus the credential store.
pub struct CredentialSetup {
    pub h: Harness,
    pub vault: Arc<CredentialVault>,
    pub raw: RawStore,
}

/// A KMS key on moto.
pub async fn moto_kms_key() -> String {
    kms_client()
        .create_key()
        .description("orchestrator credentials (tests)")
        .send()
        .await
        .expect("create KMS key on moto")
        .key_metadata
        .expect("key metadata")
        .key_id
}

impl CredentialSetup {
    /// Fresh stores on `backend`; local endpoints allowed in credential bodies.
    pub async fn new(backend: Backend) -> Self {
        let h = Harness::new(backend).await;
        let (store, cipher, raw): (
            Arc<dyn SealedCredentialStore>,
            Arc<dyn CredentialCipher>,
            RawStore,
        ) = match h.stores.dynamo() {
            None => {
                let m = Arc::new(MemorySealedCredentials::default());
                (
                    m.clone(),
                    Arc::new(LocalKeyCipher::random()),
                    RawStore::Memory(m),
                )
            }
            Some((_, tables)) => {
                let table = tables.tenants.clone();
                (
                    Arc::new(DynamoSealedCredentials::new(dynamo_client(), &table)),
                    Arc::new(KmsCipher::new(kms_client(), moto_kms_key().await)),
                    RawStore::Dynamo(dynamo_client(), table),
                )
            }
        };
        let vault = Arc::new(CredentialVault::new(store, cipher).with_policy(FormPolicy {
            allow_custom_endpoints: true,
            efi_mtls: false,
        }));
        Self { h, vault, raw }
    }

    /// An orchestrator (an "instance") on these stores whose cached clients are re-checked
    /// after `ttl`.
    pub fn instance(&self, ttl: Duration) -> Orchestrator {
        self.instance_full(ttl, self.h.registry(), ServiceConfig::default())
    }

    /// [`Self::instance`] with its own configuration (e.g. an operator key).
    pub fn instance_with(&self, ttl: Duration, config: ServiceConfig) -> Orchestrator {
        self.instance_full(ttl, self.h.registry(), config)
    }

    /// An instance like [`Self::instance`] whose simulators are `registry`'s (e.g. wrapped to
    /// count every call).
    pub fn instance_on(
        &self,
        ttl: Duration,
        registry: shared::ports::GatewayRegistry,
    ) -> Orchestrator {
        self.instance_full(ttl, registry, ServiceConfig::default())
    }

    /// An instance with its own simulators and configuration.
    pub fn instance_full(
        &self,
        ttl: Duration,
        registry: shared::ports::GatewayRegistry,
        config: ServiceConfig,
    ) -> Orchestrator {
        let s = &self.h.stores;
        Orchestrator::new(
            s.idempotency.clone(),
            s.payments.clone(),
            s.tenants.clone(),
            registry,
            self.h.clock.clone(),
            config,
        )
        .with_breaker_store(s.breakers.clone())
        .with_create_commit(s.commit.clone())
        .with_events(s.outbox.clone(), s.events.clone())
        .with_usage(s.usage.clone())
        .with_reconciliation(s.reconciliation.clone())
        .with_live_gateways(Arc::new(
            LiveGateways::with_vault(self.vault.clone(), None).with_ttl(ttl),
        ))
    }

    /// Every attribute value of every stored credential record, as bytes.
    pub async fn raw_values(&self) -> Vec<Vec<u8>> {
        match &self.raw {
            RawStore::Memory(m) => m
                .all()
                .into_iter()
                .flat_map(|r| {
                    let mut v = vec![
                        r.tenant_id.as_str().as_bytes().to_vec(),
                        r.gateway.into_bytes(),
                        r.fingerprint.into_bytes(),
                        serde_json::to_vec(&r.masked).unwrap_or_default(),
                    ];
                    if let Some(e) = r.envelope {
                        v.extend([e.key_id.into_bytes(), e.encrypted_data_key, e.ciphertext]);
                    }
                    v
                })
                .collect(),
            RawStore::Dynamo(c, table) => {
                use aws_sdk_dynamodb::types::AttributeValue;
                let out = c.scan().table_name(table).send().await.expect("scan");
                let items: Vec<_> = out
                    .items()
                    .iter()
                    .filter(|i| {
                        matches!(i.get("pk"), Some(AttributeValue::S(pk)) if pk.starts_with("cred#"))
                    })
                    .cloned()
                    .collect();
                assert!(
                    !items.is_empty(),
                    "credential items are on the tenants table"
                );
                items
                    .into_iter()
                    .flat_map(|i| i.into_values())
                    .map(|v| match v {
                        AttributeValue::S(s) | AttributeValue::N(s) => s.into_bytes(),
                        AttributeValue::B(b) => b.into_inner(),
                        other => format!("{other:?}").into_bytes(),
                    })
                    .collect()
            }
        }
    }

    /// Asserts that no stored byte string holds any of `secrets` (nor its base64).
    pub async fn assert_stored_without(&self, secrets: &[&str]) {
        use base64::Engine;
        let values = self.raw_values().await;
        assert!(!values.is_empty());
        for secret in secrets {
            let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
            for needle in [secret.as_bytes(), b64.as_bytes()] {
                assert!(
                    !values
                        .iter()
                        .any(|v| v.windows(needle.len()).any(|w| w == needle)),
                    "a stored credential record holds a secret in plain text"
                );
            }
        }
    }
}

/// One API call as tenant `api_key`.
pub async fn call(
    svc: &Orchestrator,
    api_key: &str,
    method: Method,
    path: &str,
    body: &str,
) -> ApiResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {api_key}")).expect("header"),
    );
    handle(
        svc,
        ApiRequest {
            method,
            path: path.into(),
            query: None,
            headers,
            body: Bytes::copy_from_slice(body.as_bytes()),
            deadline: None,
            source_ip: None,
            client_cert_issuer: None,
        },
    )
    .await
}

/// `PUT /v1/gateways/{gateway}/credentials`.
pub async fn put_creds(
    svc: &Orchestrator,
    key: &str,
    gateway: &str,
    body: &serde_json::Value,
) -> ApiResponse {
    let path = format!("/v1/gateways/{gateway}/credentials");
    call(svc, key, Method::PUT, &path, &body.to_string()).await
}

/// `GET /v1/gateways/{gateway}/credentials`.
pub async fn get_creds(svc: &Orchestrator, key: &str, gateway: &str) -> ApiResponse {
    let path = format!("/v1/gateways/{gateway}/credentials");
    call(svc, key, Method::GET, &path, "").await
}

/// `DELETE /v1/gateways/{gateway}/credentials`.
pub async fn delete_creds(svc: &Orchestrator, key: &str, gateway: &str) -> ApiResponse {
    let path = format!("/v1/gateways/{gateway}/credentials");
    call(svc, key, Method::DELETE, &path, "").await
}

/// `POST /v1/gateways/{gateway}/credentials/verify`.
pub async fn verify_creds(svc: &Orchestrator, key: &str, gateway: &str) -> ApiResponse {
    let path = format!("/v1/gateways/{gateway}/credentials/verify");
    call(svc, key, Method::POST, &path, "").await
}

/// The EFI `webhook_hmac` and Asaas `webhook_token` [`LiveFakes::register`] sets.
pub const FAKES_EFI_HMAC: &str = "efi-hmac-registered-with-the-fakes-0123456";
pub const FAKES_ASAAS_TOKEN: &str = "asaas-token-registered-with-the-fakes-0123";

/// The fake gateways the real clients reach (EFI over mTLS, with its PKI).
pub struct LiveFakes {
    pub stripe: crate::fakes::stripe::FakeStripe,
    pub asaas: crate::fakes::asaas::FakeAsaas,
    pub efi: crate::fakes::efi::FakeEfi,
    pub pki: crate::fakes::efi::TestPki,
}

impl LiveFakes {
    /// Starts the three fakes and registers credentials for each of `gateways` by API as the
    /// tenant of `key` (EFI and Asaas with their webhook secrets), asserting each 200.
    pub async fn register(svc: &Orchestrator, key: &str, gateways: &[&str]) -> Self {
        use base64::Engine;
        let pki = crate::fakes::efi::TestPki::generate();
        let fakes = Self {
            stripe: crate::fakes::stripe::FakeStripe::start().await,
            asaas: crate::fakes::asaas::FakeAsaas::start().await,
            efi: crate::fakes::efi::FakeEfi::start(&pki).await,
            pki,
        };
        let p12 = base64::engine::general_purpose::STANDARD.encode(fakes.pki.client_pkcs12());
        for gateway in gateways {
            let body = match *gateway {
                "efi" => serde_json::json!({"client_id": fakes.efi.client_id,
                    "client_secret": fakes.efi.client_secret, "certificate_p12": p12,
                    "pix_key": fakes.efi.pix_key, "webhook_hmac": FAKES_EFI_HMAC,
                    "webhook_allowed_ips": [crate::pipeline::WEBHOOK_SOURCE_IP.to_string()],
                    "base_url": fakes.efi.base_url, "ca_pem": fakes.pki.ca_pem}),
                "stripe" => serde_json::json!({"secret_key": fakes.stripe.api_key,
                    "base_url": fakes.stripe.base_url}),
                _ => serde_json::json!({"api_key": fakes.asaas.token,
                    "webhook_token": FAKES_ASAAS_TOKEN, "base_url": fakes.asaas.base_url}),
            };
            let r = put_creds(svc, key, gateway, &body).await;
            assert_eq!(r.status, 200, "{gateway}: {}", r.body);
        }
        fakes
    }
}
