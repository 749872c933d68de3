//! Building an [`Orchestrator`] from configuration: in-memory stores (dev default) or DynamoDB
//! (Lambdas, or the dev server pointed at an endpoint), seeded from a tenants file.

use crate::adapters::aws::{
    DynamoIdempotencyStore, DynamoPaymentStore, DynamoTenantStore, TableNames,
};
use crate::adapters::memory::{MemoryIdempotencyStore, MemoryPaymentStore, MemoryTenantStore};
use crate::clock::SystemClock;
use crate::ports::{GatewayRegistry, Tenant, TenantStore};
use crate::service::{Orchestrator, ServiceConfig};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

/// The tenants file (`infra/tenants.dev.json`): demo merchants for local runs and seeding.
#[derive(Debug, Deserialize)]
pub struct TenantsFile {
    pub tenants: Vec<Tenant>,
}

/// Why the tenants file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TenantsFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid tenants file: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    /// A tenant with a blank webhook or callback secret, or an Asaas or EFI webhook secret
    /// under 32 characters (named by tenant and field, no value).
    #[error("{path}: {source}")]
    WeakSecret {
        path: String,
        source: crate::ports::WeakSecretError,
    },
    /// A tenant id of the reserved test-twin form (`<id>.test`).
    #[error("{path}: tenant id {id} is reserved (ids ending in .test name a tenant's test mode)")]
    ReservedId { path: String, id: String },
    /// A callback secret that cannot sign: every callback of the tenant would go unsigned and
    /// fail (named by tenant and field, no value).
    #[error("{path}: tenant {tenant}: {field} is not a callback signing secret (whsec_ + base64 of 16 to 64 bytes)")]
    BadCallbackSecret {
        path: String,
        tenant: String,
        field: String,
    },
}

/// Reads and validates a tenants file (ids, callback URLs and methods are parsed by serde; blank
/// webhook and callback secrets are refused, since they would authenticate an empty header, and
/// so are Asaas and EFI webhook secrets under 32 characters, as the credentials API refuses them).
pub fn load_tenants_file(path: &Path) -> Result<TenantsFile, TenantsFileError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TenantsFileError::Read {
        path: p.clone(),
        source,
    })?;
    let file: TenantsFile =
        serde_json::from_str(&text).map_err(|source| TenantsFileError::Parse {
            path: p.clone(),
            source,
        })?;
    for t in &file.tenants {
        if t.id.is_test() {
            return Err(TenantsFileError::ReservedId {
                path: p.clone(),
                id: t.id.to_string(),
            });
        }
        t.validate_secrets()
            .map_err(|source| TenantsFileError::WeakSecret {
                path: p.clone(),
                source,
            })?;
        if let Some(i) = t
            .callback_secrets
            .iter()
            .position(|s| crate::signing::standard_webhooks::CallbackSecret::parse(s).is_err())
        {
            return Err(TenantsFileError::BadCallbackSecret {
                path: p.clone(),
                tenant: t.id.to_string(),
                field: format!("callback_secrets[{i}]"),
            });
        }
    }
    Ok(file)
}

/// Writes the tenants of the file that the store does not hold yet. A tenant already there is
/// left as it is: what was changed by API since (routing, keys, live gateway credentials) must
/// survive a restart on DynamoDB — reseeding it would silently turn a live gateway back into
/// its simulator for every payment made with it.
pub async fn seed_tenants(
    store: &dyn TenantStore,
    file: &TenantsFile,
) -> Result<(), crate::ports::StoreError> {
    for t in &file.tenants {
        if !store.create(t).await? {
            tracing::info!(tenant = %t.id, "tenant already stored; not reseeded");
        }
    }
    Ok(())
}

/// One set of stores, in memory or on DynamoDB, shared by the API, the receiver and the worker.
#[derive(Clone)]
pub struct StoreSet {
    pub idempotency: Arc<dyn crate::ports::IdempotencyStore>,
    pub payments: Arc<dyn crate::ports::PaymentStore>,
    pub tenants: Arc<dyn TenantStore>,
    pub events: Arc<dyn crate::ports::EventStore>,
    pub breakers: Arc<dyn crate::ports::BreakerStore>,
    pub commit: Arc<dyn crate::ports::CreateCommit>,
    /// Merchant events, written with the payment changes above and read by the API and worker.
    pub outbox: Arc<dyn crate::ports::OutboxStore>,
    /// The in-memory outbox's feed, which the dev server's relay drains (`None` on DynamoDB,
    /// whose table stream is the feed).
    pub memory_outbox: Option<Arc<crate::adapters::memory::MemoryOutbox>>,
    /// The usage counters those writes keep (read by `GET /v1/usage`).
    pub usage: Arc<dyn crate::ports::UsageStore>,
    /// The audit log of configuration changes.
    pub audit: Arc<dyn crate::ports::AuditStore>,
    /// Reconciliation runs.
    pub reconciliation: Arc<dyn crate::ports::ReconciliationStore>,
    /// Merchant callback endpoints' health (kept in the breaker table).
    pub endpoints: Arc<dyn crate::ports::EndpointHealthStore>,
}

impl StoreSet {
    /// In-memory stores.
    pub fn memory() -> Self {
        let idempotency = Arc::new(MemoryIdempotencyStore::default());
        let payments = Arc::new(MemoryPaymentStore::default());
        let outbox = payments.outbox();
        idempotency.count_refusals_in(outbox.clone());
        Self {
            outbox: outbox.clone(),
            usage: outbox.clone(),
            audit: Arc::new(crate::adapters::memory::MemoryAuditStore::default()),
            reconciliation: Arc::new(crate::adapters::memory::MemoryReconciliationStore::default()),
            events: Arc::new(crate::adapters::memory::MemoryEventStore::counting_in(
                outbox.clone(),
            )),
            memory_outbox: Some(outbox),
            commit: Arc::new(crate::adapters::memory::MemoryCreateCommit::new(
                idempotency.clone(),
                payments.clone(),
            )),
            idempotency,
            payments,
            tenants: Arc::new(MemoryTenantStore::default()),
            breakers: Arc::new(crate::adapters::memory::MemoryBreakerStore::default()),
            endpoints: Arc::new(crate::adapters::memory::MemoryEndpointHealth::default()),
        }
    }

    /// DynamoDB stores on the given tables.
    pub fn dynamo(client: aws_sdk_dynamodb::Client, tables: &TableNames) -> Self {
        Self {
            commit: Arc::new(crate::adapters::aws::DynamoCreateCommit::new(
                client.clone(),
                tables,
            )),
            outbox: Arc::new(crate::adapters::aws::DynamoOutbox::new(
                client.clone(),
                tables,
            )),
            usage: Arc::new(crate::adapters::aws::DynamoUsageStore::new(
                client.clone(),
                &tables.usage,
            )),
            audit: Arc::new(crate::adapters::aws::DynamoAuditStore::new(
                client.clone(),
                &tables.tenants,
            )),
            reconciliation: Arc::new(crate::adapters::aws::DynamoReconciliationStore::new(
                client.clone(),
                &tables.events,
            )),
            memory_outbox: None,
            idempotency: Arc::new(
                DynamoIdempotencyStore::new(client.clone(), &tables.idempotency)
                    .counting_refusals_in(&tables.usage),
            ),
            payments: Arc::new(DynamoPaymentStore::new(client.clone(), tables)),
            tenants: Arc::new(DynamoTenantStore::new(client.clone(), &tables.tenants)),
            events: Arc::new(crate::adapters::aws::DynamoEventStore::new(
                client.clone(),
                tables,
            )),
            endpoints: Arc::new(crate::adapters::aws::DynamoEndpointHealth::new(
                client.clone(),
                &tables.breakers,
            )),
            breakers: Arc::new(crate::adapters::aws::DynamoBreakerStore::new(
                client,
                &tables.breakers,
            )),
        }
    }

    /// What the webhook worker needs of these stores.
    pub fn worker_stores(&self) -> crate::service::webhooks::WorkerStores {
        crate::service::webhooks::WorkerStores {
            payments: self.payments.clone(),
            events: self.events.clone(),
            outbox: self.outbox.clone(),
            endpoints: self.endpoints.clone(),
        }
    }

    /// The payments API on these stores.
    pub fn orchestrator(&self, gateways: GatewayRegistry, config: ServiceConfig) -> Orchestrator {
        self.orchestrator_on(gateways, config, Arc::new(SystemClock))
    }

    /// The payments API on these stores, on a given clock (tests that must not see time pass).
    pub fn orchestrator_on(
        &self,
        gateways: GatewayRegistry,
        config: ServiceConfig,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Orchestrator {
        Orchestrator::new(
            self.idempotency.clone(),
            self.payments.clone(),
            self.tenants.clone(),
            gateways,
            clock,
            config,
        )
        .with_breaker_store(self.breakers.clone())
        .with_create_commit(self.commit.clone())
        .with_events(self.outbox.clone(), self.events.clone())
        .with_usage(self.usage.clone())
        .with_audit(self.audit.clone())
        .with_reconciliation(self.reconciliation.clone())
        .with_endpoints(self.endpoints.clone())
    }
}

/// The proxy Lambda's wiring: DynamoDB tables from the environment; simulators for every
/// gateway, and real clients for the gateways a tenant lists in `live_gateways`, with
/// credentials from Secrets Manager (`<GATEWAY_SECRETS_PREFIX>/<tenant>/<gateway>`).
pub async fn lambda_orchestrator() -> Result<Orchestrator, String> {
    let config = ServiceConfig {
        breaker: crate::domain::BreakerConfig::from_lookup(|k| std::env::var(k).ok())
            .map_err(|e| e.to_string())?,
        gateway_reserve: ServiceConfig::gateway_reserve_from_lookup(|k| std::env::var(k).ok())?,
        rate_limit_per_minute: ServiceConfig::rate_limit_from_lookup(|k| std::env::var(k).ok())?,
        ..ServiceConfig::default()
    };
    let conf = crate::adapters::aws::load_config().await;
    let mut config = config;
    config.operator_key_hashes = operator_keys_from_secret(&conf).await?;
    let (registry, _) = crate::gateways::simulators();
    let prefix = std::env::var("GATEWAY_SECRETS_PREFIX").unwrap_or_else(|_| "orchestrator".into());
    let secrets = crate::adapters::aws::SecretsManagerCredentials::new(
        aws_sdk_secretsmanager::Client::new(&conf),
        prefix,
    );
    let tables = TableNames::from_env();
    let dynamodb = aws_sdk_dynamodb::Client::new(&conf);
    let live = lambda_live_gateways(&conf, &dynamodb, &tables, Arc::new(secrets));
    let svc = StoreSet::dynamo(dynamodb, &tables)
        .orchestrator(registry, config)
        .with_live_gateways(Arc::new(live));
    // Resends (`POST /v1/events/{id}/resend`) and an enabled endpoint's backlog go to the
    // delivery queue.
    Ok(match sqs_queues_from_env(&conf) {
        Ok(q) => svc.with_delivery_queue(Arc::new(q)),
        Err(_) => svc,
    })
}

/// The pipeline's queues from the environment the SAM template sets: `WEBHOOK_QUEUE_URL`
/// (intake), `DELIVERY_QUEUE_URL` (merchant deliveries; unset: the intake queue carries both),
/// and the dead-letter queues `WEBHOOK_DLQ_URL`, `DELIVERY_DLQ_URL` the worker moves poison and
/// spent messages to.
pub fn sqs_queues_from_env(
    conf: &aws_config::SdkConfig,
) -> Result<crate::adapters::aws::SqsWebhookQueue, String> {
    let intake = queue_url_from_env()?;
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let q = crate::adapters::aws::SqsWebhookQueue::new(aws_sdk_sqs::Client::new(conf), intake)
        .with_dead_letter_queues(var("WEBHOOK_DLQ_URL"), var("DELIVERY_DLQ_URL"));
    Ok(match var("DELIVERY_QUEUE_URL") {
        Some(url) => q.with_delivery_queue(url),
        None => q,
    })
}

/// The operator key hashes: the Secrets Manager secret named by `OPERATOR_KEY_SECRET_ID`
/// holds the SHA-256 (hex) of each operator key, comma-separated (the key itself is stored
/// nowhere). Unset: the operator API stays closed.
async fn operator_keys_from_secret(conf: &aws_config::SdkConfig) -> Result<Vec<String>, String> {
    let Ok(id) = std::env::var("OPERATOR_KEY_SECRET_ID") else {
        return Ok(Vec::new());
    };
    if id.trim().is_empty() {
        return Ok(Vec::new());
    }
    let out = aws_sdk_secretsmanager::Client::new(conf)
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "operator key secret: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            )
        })?;
    Ok(parse_operator_hashes(out.secret_string().unwrap_or("")))
}

/// Comma-separated SHA-256 hex digests; anything else is dropped.
pub fn parse_operator_hashes(v: &str) -> Vec<String> {
    v.split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect()
}

/// The proxy's real gateway clients: credentials registered by API, encrypted under the KMS
/// key `CREDENTIALS_KMS_KEY_ID` on the tenants table (`cred#<tenant>#<gateway>` items), then
/// Secrets Manager. Without the key id only Secrets Manager is read and the credentials API
/// answers 404. `ALLOW_CUSTOM_GATEWAY_ENDPOINTS=true` accepts any `base_url` in credential
/// bodies (local emulation against fake gateways; never set by the template).
fn lambda_live_gateways(
    conf: &aws_config::SdkConfig,
    dynamodb: &aws_sdk_dynamodb::Client,
    tables: &TableNames,
    secrets: Arc<dyn crate::ports::CredentialStore>,
) -> crate::gateways::live::LiveGateways {
    use crate::gateways::live::LiveGateways;
    match std::env::var("CREDENTIALS_KMS_KEY_ID") {
        Ok(key) if !key.trim().is_empty() => {
            let vault = crate::service::credentials::CredentialVault::new(
                Arc::new(crate::adapters::aws::DynamoSealedCredentials::new(
                    dynamodb.clone(),
                    &tables.tenants,
                )),
                Arc::new(crate::adapters::aws::KmsCipher::new(
                    aws_sdk_kms::Client::new(conf),
                    key.trim(),
                )),
            )
            .with_policy(crate::gateways::credential_form::FormPolicy {
                allow_custom_endpoints: std::env::var("ALLOW_CUSTOM_GATEWAY_ENDPOINTS")
                    .is_ok_and(|v| v == "true"),
                efi_mtls: efi_mtls_issuer_dn().is_some(),
            });
            LiveGateways::with_vault(Arc::new(vault), Some(secrets))
        }
        _ => LiveGateways::new(secrets),
    }
}

/// The dev server's real gateway clients: credentials registered by API, encrypted with the
/// local key `ORCH_CREDENTIALS_KEY` (64 hex characters; a random key per process if unset, so
/// registered credentials do not survive a restart), in `sealed`; then `fallback` (the
/// `ORCH_CREDENTIALS_FILE` JSON). Any `base_url` is accepted (local fake gateways).
pub fn dev_live_gateways(
    sealed: Arc<dyn crate::ports::SealedCredentialStore>,
    fallback: Option<Arc<dyn crate::ports::CredentialStore>>,
) -> Result<crate::gateways::live::LiveGateways, String> {
    use crate::adapters::memory::LocalKeyCipher;
    let cipher = match std::env::var("ORCH_CREDENTIALS_KEY") {
        Ok(hex) => LocalKeyCipher::from_hex(&hex).map_err(|e| e.to_string())?,
        Err(_) => {
            tracing::warn!("ORCH_CREDENTIALS_KEY is not set: a random key encrypts gateway credentials registered by API, so they will not survive a restart");
            LocalKeyCipher::random()
        }
    };
    let vault = crate::service::credentials::CredentialVault::new(sealed, Arc::new(cipher))
        .with_policy(crate::gateways::credential_form::FormPolicy {
            allow_custom_endpoints: true,
            // The dev server has no mutual TLS: only the allowlist can vouch for EFI.
            efi_mtls: false,
        });
    Ok(crate::gateways::live::LiveGateways::with_vault(
        Arc::new(vault),
        fallback,
    ))
}

/// How long webhook Lambdas trust a cached tenant.
const TENANT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Reads `WEBHOOK_QUEUE_URL`, which the SAM template sets on both webhook Lambdas.
pub fn queue_url_from_env() -> Result<String, String> {
    std::env::var("WEBHOOK_QUEUE_URL").map_err(|_| "WEBHOOK_QUEUE_URL is not set".to_string())
}

/// The receiver Lambda's wiring: tenants from DynamoDB, the queue on SQS.
pub async fn lambda_receiver() -> Result<crate::service::webhooks::WebhookReceiver, String> {
    use crate::adapters::aws::load_config;
    use crate::service::webhooks::{TenantCache, WebhookReceiver};
    let conf = load_config().await;
    let tables = TableNames::from_env();
    let tenants = Arc::new(DynamoTenantStore::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &tables.tenants,
    ));
    Ok(WebhookReceiver::new(
        crate::gateways::webhooks::WebhookRegistry::standard(),
        TenantCache::new(tenants, TENANT_CACHE_TTL),
        Arc::new(sqs_queues_from_env(&conf)?),
        Arc::new(SystemClock),
    )
    .with_client_cert_issuer("efi", &efi_mtls_issuer_dn().unwrap_or_default()))
}

/// `EFI_MTLS_ISSUER_DN`: the issuer DN (as API Gateway reports `clientCert.issuerDN`) of the
/// client certificates EFI presents to the webhook domain's mutual TLS. Set (the template's
/// `EfiMtlsIssuerDn`) only where the webhook custom domain verifies client certificates
/// against EFI's chain; unset, EFI webhooks of live tenants need the source-IP allowlist.
pub fn efi_mtls_issuer_dn() -> Option<String> {
    std::env::var("EFI_MTLS_ISSUER_DN")
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The worker Lambda's wiring: the worker (gateway webhooks and merchant event deliveries from
/// SQS) and the outbox relay (the outbox table's stream into the same queue).
/// `ALLOW_PRIVATE_CALLBACKS=true` lifts the SSRF guard (never in a deployed stack; the template
/// does not set it).
pub async fn lambda_worker() -> Result<
    (
        crate::service::webhooks::WebhookWorker,
        crate::service::webhooks::Relay,
    ),
    String,
> {
    use crate::adapters::aws::load_config;
    use crate::adapters::http::HttpCallbackSender;
    use crate::service::webhooks::{Relay, RetrySchedule, TenantCache, WebhookWorker};
    let conf = load_config().await;
    let tables = TableNames::from_env();
    let stores = StoreSet::dynamo(aws_sdk_dynamodb::Client::new(&conf), &tables);
    let allow_private = std::env::var("ALLOW_PRIVATE_CALLBACKS").is_ok_and(|v| v == "true");
    let queue = Arc::new(sqs_queues_from_env(&conf)?);
    // The confirmer of unsigned webhooks: an orchestrator over the same tables whose only use
    // here is reading a charge through the account that made it.
    let prefix = std::env::var("GATEWAY_SECRETS_PREFIX").unwrap_or_else(|_| "orchestrator".into());
    let secrets = crate::adapters::aws::SecretsManagerCredentials::new(
        aws_sdk_secretsmanager::Client::new(&conf),
        prefix,
    );
    let dynamodb = aws_sdk_dynamodb::Client::new(&conf);
    let live = lambda_live_gateways(&conf, &dynamodb, &tables, Arc::new(secrets));
    let (registry, _) = crate::gateways::simulators();
    let confirmer = StoreSet::dynamo(dynamodb, &tables)
        .orchestrator(registry, ServiceConfig::default())
        .with_live_gateways(Arc::new(live));
    let worker = WebhookWorker::new(
        crate::gateways::webhooks::WebhookRegistry::standard(),
        TenantCache::new(stores.tenants.clone(), TENANT_CACHE_TTL),
        stores.worker_stores(),
        Arc::new(HttpCallbackSender::new(allow_private).map_err(|e| e.to_string())?),
        queue.clone(),
        Arc::new(SystemClock),
        RetrySchedule::default(),
    )
    .with_confirmer(Arc::new(confirmer));
    Ok((worker, Relay::new(queue)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "tenants-{name}-{}-{}.json",
            std::process::id(),
            ulid::Ulid::new()
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A callback secret of the wrong format would sign nothing (every callback failing
    /// unsigned): the file is refused, naming the tenant and the field, never the value.
    #[test]
    fn a_tenants_file_with_a_malformed_callback_secret_is_refused() {
        for bad in [
            "whsec_not-base64-visible!",
            "whsec_c2hvcnQ=",
            "plain-visible-text",
        ] {
            let text = format!(
                r#"{{"tenants":[{{"id":"ten_cb","name":"A","api_key_sha256":[],"callback_secrets":["whsec_deNBX1rNhVB82yDA0ttry1Yakpbc3sfy","{bad}"]}}]}}"#
            );
            let path = write("badcb", &text);
            let e = load_tenants_file(&path).unwrap_err();
            let msg = e.to_string();
            assert!(
                matches!(e, TenantsFileError::BadCallbackSecret { .. }),
                "{msg}"
            );
            assert!(
                msg.contains("ten_cb") && msg.contains("callback_secrets[1]"),
                "{msg}"
            );
            assert!(
                !msg.contains("visible") && !msg.contains("c2hvcnQ"),
                "{msg}"
            );
            let _ = std::fs::remove_file(path);
        }
    }

    /// A blank webhook secret would authenticate an empty header, and a short Asaas or EFI one
    /// could be guessed: the file is refused, and the error names the tenant and the field
    /// without quoting any configured value.
    #[test]
    fn a_tenants_file_with_a_blank_secret_is_refused() {
        let tenant = |secrets: &str| {
            format!(
                r#"{{"tenants":[{{"id":"ten_ok","name":"A","api_key_sha256":[],"callback_secrets":["whsec_deNBX1rNhVB82yDA0ttry1Yakpbc3sfy"],
                  "webhook_secrets":{{"stripe":["whsec_visible_value"],"asaas_token":"tok-visible-0123456789abcdef0123456789","efi_hmac":"hmac-visible-0123456789abcdef012345"}}}},
                  {{"id":"ten_blank","name":"B","api_key_sha256":[],"webhook_secrets":{secrets}}}]}}"#
            )
        };
        let good = write("good", &tenant(r#"{"stripe":["whsec_x"]}"#));
        assert_eq!(load_tenants_file(&good).unwrap().tenants.len(), 2);
        for (secrets, field) in [
            (r#"{"stripe":[""]}"#, "webhook_secrets.stripe[0]"),
            (r#"{"asaas_token":"   "}"#, "webhook_secrets.asaas_token"),
            (r#"{"efi_hmac":""}"#, "webhook_secrets.efi_hmac"),
            (r#"{"asaas_token":"x"}"#, "webhook_secrets.asaas_token"),
            (
                r#"{"asaas_token":"short-visible-token-0123456789a"}"#,
                "webhook_secrets.asaas_token",
            ),
            (
                r#"{"efi_hmac":"short-visible-hmac-0123456789ab"}"#,
                "webhook_secrets.efi_hmac",
            ),
        ] {
            let path = write("blank", &tenant(secrets));
            let e = load_tenants_file(&path).unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, TenantsFileError::WeakSecret { .. }), "{msg}");
            assert!(msg.contains("ten_blank") && msg.contains(field), "{msg}");
            assert!(!msg.contains("visible"), "no value is quoted: {msg}");
            let _ = std::fs::remove_file(path);
        }
        let _ = std::fs::remove_file(good);
    }

    /// The dev tenants file passes the check.
    #[test]
    fn the_dev_tenants_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/tenants.dev.json");
        assert!(load_tenants_file(&path).is_ok());
    }

    /// The demo tenants have the test and live keys of the README's table (and their older
    /// key of neither form).
    #[test]
    fn the_demo_tenants_have_test_and_live_keys() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/tenants.dev.json");
        let file = load_tenants_file(&path).unwrap();
        for (id, suffix) in [
            ("ten_demo_a", "tenant_a_4f9c2b7e1d8a6350"),
            ("ten_demo_b", "tenant_b_0b3e5d7f9a2c4e61"),
        ] {
            let t = file.tenants.iter().find(|t| t.id.as_str() == id).unwrap();
            for prefix in ["sk_test_demo_", "sk_live_demo_", "sk_demo_"] {
                let hash = crate::ports::hash_api_key(&format!("{prefix}{suffix}"));
                assert!(t.api_key_sha256.contains(&hash), "{id}: {prefix}");
            }
        }
    }

    /// A twin's id (`<id>.test`) is reserved: a tenants file may not name one.
    #[test]
    fn a_tenants_file_may_not_name_a_test_twin() {
        let path = write(
            "twin",
            r#"{"tenants":[{"id":"ten_x.test","name":"X","api_key_sha256":[]}]}"#,
        );
        let e = load_tenants_file(&path).unwrap_err();
        assert!(matches!(e, TenantsFileError::ReservedId { .. }), "{e}");
        let _ = std::fs::remove_file(path);
    }
}
