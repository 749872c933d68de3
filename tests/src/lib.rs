//! Test support: a moto-backed DynamoDB client, fresh tables per test, and a harness that runs
//! the real service on either backend (in-memory or DynamoDB over moto) with the simulators.

pub mod credentials;
pub mod dynamo_faults;
pub mod fakes;
pub mod merchant;
pub mod pipeline;
pub mod sqs;
pub mod switchable;

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::Client;
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use shared::adapters::aws::{
    create_tables, DynamoIdempotencyStore, DynamoPaymentStore, DynamoTenantStore, TableNames,
};
use shared::adapters::memory::{MemoryIdempotencyStore, MemoryPaymentStore, MemoryTenantStore};
use shared::api::{handle, ApiRequest, ApiResponse};
use shared::clock::ManualClock;
use shared::domain::{PaymentMethod, TenantId};
use shared::gateways::simulator::SimulatorGateway;
use shared::ports::{hash_api_key, IdempotencyStore, PaymentStore, Tenant, TenantStore};
use shared::service::{Orchestrator, ServiceConfig};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which adapters a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Dynamo,
}

/// The moto endpoint the test command started (`MOTO_ENDPOINT`).
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the suite with `./infra/test.sh`, which starts moto")
    })
}

/// A DynamoDB client pointed at moto.
pub fn dynamo_client() -> Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .http_client(shared::adapters::aws::http_client())
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto_endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    Client::from_conf(conf)
}

/// Fresh, uniquely named tables on moto.
pub async fn fresh_tables(client: &Client) -> TableNames {
    let names = TableNames::with_prefix(&format!(
        "t{}",
        ulid::Ulid::new().to_string().to_lowercase()
    ));
    create_tables(client, &names)
        .await
        .expect("create tables on moto");
    names
}

/// Counts the items of a DynamoDB table.
pub async fn count_items(client: &Client, table: &str) -> usize {
    let out = client
        .scan()
        .table_name(table)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .expect("scan");
    usize::try_from(out.count()).unwrap_or(0)
}

/// A fixed starting instant for manual clocks.
pub fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
        .single()
        .expect("valid instant")
}

/// The stores of one backend.
pub struct Stores {
    pub events: Arc<dyn shared::ports::EventStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub payments: Arc<dyn PaymentStore>,
    pub tenants: Arc<dyn TenantStore>,
    pub breakers: Arc<dyn shared::ports::BreakerStore>,
    pub commit: Arc<dyn shared::ports::CreateCommit>,
    /// Merchant events.
    pub outbox: Arc<dyn shared::ports::OutboxStore>,
    /// The memory outbox's feed (memory backend only; DynamoDB's is the table stream).
    pub memory_outbox: Option<Arc<shared::adapters::memory::MemoryOutbox>>,
    /// Usage counters, written with the payment changes.
    pub usage: Arc<dyn shared::ports::UsageStore>,
    /// The audit log.
    pub audit: Arc<dyn shared::ports::AuditStore>,
    /// Reconciliation runs.
    pub reconciliation: Arc<dyn shared::ports::ReconciliationStore>,
    /// Merchant callback endpoints' health.
    pub endpoints: Arc<dyn shared::ports::EndpointHealthStore>,
    counter: Counter,
}

enum Counter {
    Memory(Arc<MemoryIdempotencyStore>, Arc<MemoryPaymentStore>),
    Dynamo(Client, TableNames),
}

impl Stores {
    /// Fresh, empty stores on the backend.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Memory => {
                let i = Arc::new(MemoryIdempotencyStore::default());
                let p = Arc::new(MemoryPaymentStore::default());
                i.count_refusals_in(p.outbox());
                Stores {
                    events: Arc::new(shared::adapters::memory::MemoryEventStore::counting_in(
                        p.outbox(),
                    )),
                    usage: p.outbox(),
                    audit: Arc::new(shared::adapters::memory::MemoryAuditStore::default()),
                    reconciliation: Arc::new(
                        shared::adapters::memory::MemoryReconciliationStore::default(),
                    ),
                    idempotency: i.clone(),
                    payments: p.clone(),
                    outbox: p.outbox(),
                    memory_outbox: Some(p.outbox()),
                    tenants: Arc::new(MemoryTenantStore::default()),
                    breakers: Arc::new(shared::adapters::memory::MemoryBreakerStore::default()),
                    endpoints: Arc::new(shared::adapters::memory::MemoryEndpointHealth::default()),
                    commit: Arc::new(shared::adapters::memory::MemoryCreateCommit::new(
                        i.clone(),
                        p.clone(),
                    )),
                    counter: Counter::Memory(i, p),
                }
            }
            Backend::Dynamo => Self::dynamo_with(dynamo_client()).await,
        }
    }

    /// Fresh DynamoDB stores whose requests go through `client` (e.g. one that injects faults,
    /// `dynamo_faults::faulty_client`).
    pub async fn dynamo_with(client: Client) -> Self {
        let t = fresh_tables(&client).await;
        Stores {
            events: Arc::new(shared::adapters::aws::DynamoEventStore::new(
                client.clone(),
                &t,
            )),
            usage: Arc::new(shared::adapters::aws::DynamoUsageStore::new(
                client.clone(),
                &t.usage,
            )),
            audit: Arc::new(shared::adapters::aws::DynamoAuditStore::new(
                client.clone(),
                &t.tenants,
            )),
            reconciliation: Arc::new(shared::adapters::aws::DynamoReconciliationStore::new(
                client.clone(),
                &t.events,
            )),
            idempotency: Arc::new(
                DynamoIdempotencyStore::new(client.clone(), &t.idempotency)
                    .counting_refusals_in(&t.usage),
            ),
            payments: Arc::new(DynamoPaymentStore::new(client.clone(), &t)),
            outbox: Arc::new(shared::adapters::aws::DynamoOutbox::new(client.clone(), &t)),
            memory_outbox: None,
            tenants: Arc::new(DynamoTenantStore::new(client.clone(), &t.tenants)),
            endpoints: Arc::new(shared::adapters::aws::DynamoEndpointHealth::new(
                client.clone(),
                &t.breakers,
            )),
            breakers: Arc::new(shared::adapters::aws::DynamoBreakerStore::new(
                client.clone(),
                &t.breakers,
            )),
            commit: Arc::new(shared::adapters::aws::DynamoCreateCommit::new(
                client.clone(),
                &t,
            )),
            counter: Counter::Dynamo(client, t),
        }
    }

    /// What a webhook worker needs of these stores.
    pub fn worker_stores(&self) -> shared::service::webhooks::WorkerStores {
        shared::service::webhooks::WorkerStores {
            payments: self.payments.clone(),
            events: self.events.clone(),
            outbox: self.outbox.clone(),
            endpoints: self.endpoints.clone(),
        }
    }

    /// The outbox feed of this backend: the table's stream read from moto (as the Lambda event
    /// source mapping would) or the in-memory feed.
    pub async fn outbox_feed(&self) -> OutboxFeed {
        match (&self.counter, &self.memory_outbox) {
            (Counter::Dynamo(c, t), _) => OutboxFeed::Stream(
                shared::adapters::aws::OutboxStreamPoller::new(
                    c,
                    dynamodb_streams_client(),
                    &t.outbox,
                )
                .await
                .expect("outbox stream"),
            ),
            (_, Some(m)) => OutboxFeed::Memory(m.clone()),
            _ => panic!("no outbox feed"),
        }
    }

    /// The DynamoDB client and table names of this backend (`None` in memory).
    pub fn dynamo(&self) -> Option<(&Client, &TableNames)> {
        match &self.counter {
            Counter::Dynamo(c, t) => Some((c, t)),
            Counter::Memory(..) => None,
        }
    }

    /// Payment items stored, all tenants.
    pub async fn payment_count(&self) -> usize {
        match &self.counter {
            Counter::Memory(_, p) => p.len(),
            Counter::Dynamo(c, t) => count_items(c, &t.payments).await,
        }
    }

    /// Idempotency records stored, all tenants.
    /// What DynamoDB's TTL process does at `now`: deletes every idempotency item whose `ttl`
    /// (epoch seconds) has passed — on moto by a scan and deletes, since moto never expires
    /// items. Returns how many went. Lets tests show which records TTL can (and cannot) remove.
    pub async fn expire_by_ttl(&self, now: chrono::DateTime<Utc>) -> usize {
        use aws_sdk_dynamodb::types::AttributeValue;
        match &self.counter {
            Counter::Memory(i, _) => i.expire_by_ttl(now),
            Counter::Dynamo(c, t) => {
                let out = c
                    .scan()
                    .table_name(&t.idempotency)
                    .filter_expression("attribute_exists(#ttl) AND #ttl <= :now")
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_values(
                        ":now",
                        AttributeValue::N(now.timestamp().to_string()),
                    )
                    .send()
                    .await
                    .expect("scan");
                let mut gone = 0;
                for item in out.items() {
                    let pk = item.get("pk").cloned().expect("pk");
                    c.delete_item()
                        .table_name(&t.idempotency)
                        .key("pk", pk)
                        .send()
                        .await
                        .expect("delete");
                    gone += 1;
                }
                gone
            }
        }
    }

    pub async fn idempotency_count(&self) -> usize {
        match &self.counter {
            Counter::Memory(i, _) => i.len(),
            Counter::Dynamo(c, t) => {
                // Idempotency records only: the table also holds the rate-limit windows.
                let out = c
                    .scan()
                    .table_name(&t.idempotency)
                    .filter_expression("NOT begins_with(pk, :rl)")
                    .expression_attribute_values(
                        ":rl",
                        aws_sdk_dynamodb::types::AttributeValue::S("#rl#".into()),
                    )
                    .select(aws_sdk_dynamodb::types::Select::Count)
                    .send()
                    .await
                    .expect("scan");
                usize::try_from(out.count()).unwrap_or(0)
            }
        }
    }
}

/// Where the relay reads newly written merchant events from.
pub enum OutboxFeed {
    Stream(shared::adapters::aws::OutboxStreamPoller),
    Memory(Arc<shared::adapters::memory::MemoryOutbox>),
}

impl OutboxFeed {
    /// Hands everything new to the relay once; returns how many events, or the relay's error.
    pub async fn relay_once(
        &mut self,
        relay: &shared::service::webhooks::Relay,
    ) -> Result<usize, shared::ports::StoreError> {
        match self {
            OutboxFeed::Stream(p) => p.poll_and_forward(relay).await,
            OutboxFeed::Memory(m) => shared::service::webhooks::relay_memory_feed(m, relay).await,
        }
    }
}

/// A KMS client on the moto endpoint.
pub fn kms_client() -> aws_sdk_kms::Client {
    let conf = aws_sdk_kms::Config::builder()
        .http_client(shared::adapters::aws::http_client())
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_kms::Client::from_conf(conf)
}

/// A DynamoDB Streams client on the moto endpoint.
pub fn dynamodb_streams_client() -> aws_sdk_dynamodbstreams::Client {
    let conf = aws_sdk_dynamodbstreams::Config::builder()
        .http_client(shared::adapters::aws::http_client())
        .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_sdk_dynamodbstreams::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodbstreams::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(conf)
}

/// API key of test tenant A. Neither `sk_test_` nor `sk_live_`: a key from a tenants file
/// written before modes, which keeps the tenant's own mode on the tenant's own id — so the
/// suites that are not about modes address `ten_a` directly. `tests/tests/modes.rs` uses
/// [`TEST_KEY_A`] and [`LIVE_KEY_A`].
pub const KEY_A: &str = "key_tenant_a_0000000000000001";
/// API key of test tenant B (like [`KEY_A`]).
pub const KEY_B: &str = "key_tenant_b_0000000000000002";
/// Tenant A's test-mode key: its requests are the test twin's (`ten_a.test`).
pub const TEST_KEY_A: &str = "sk_test_tenant_a_0000000000000001";
/// Tenant A's live-mode key.
pub const LIVE_KEY_A: &str = "sk_live_tenant_a_0000000000000001";

/// A test tenant with routing for every method.
pub fn tenant(id: &str, key: &str) -> Tenant {
    let routing = BTreeMap::from([
        (
            PaymentMethod::Pix,
            vec!["efi".to_string(), "asaas".to_string()],
        ),
        (
            PaymentMethod::Card,
            vec!["stripe".to_string(), "asaas".to_string()],
        ),
        (
            PaymentMethod::Boleto,
            vec!["asaas".to_string(), "stripe".to_string()],
        ),
    ]);
    Tenant {
        id: TenantId::parse(id).expect("tenant id"),
        name: id.to_string(),
        api_key_sha256: vec![hash_api_key(key)],
        routing,
        callback_url: None,
        live_gateways: vec![],
        callback_secrets: vec![],
        webhook_secrets: Default::default(),
        api_keys: vec![],
        disabled: false,
        rate_limit_per_minute: None,
        callback_secret_expiry: Default::default(),
        mode: None,
        version: 0,
    }
}

/// The service on one backend, with a manual clock, the simulators and tenants A and B.
pub struct Harness {
    pub svc: Orchestrator,
    pub stores: Stores,
    pub clock: Arc<ManualClock>,
    pub efi: Arc<SimulatorGateway>,
    pub stripe: Arc<SimulatorGateway>,
    pub asaas: Arc<SimulatorGateway>,
}

impl Harness {
    /// Builds the harness; tenants A and B are seeded.
    pub async fn new(backend: Backend) -> Self {
        let stores = Stores::new(backend).await;
        for t in [tenant("ten_a", KEY_A), tenant("ten_b", KEY_B)] {
            stores.tenants.put(&t).await.expect("seed tenant");
        }
        let clock = Arc::new(ManualClock::new(t0()));
        let (registry, [efi, stripe, asaas]) =
            shared::gateways::simulators_with_clock(clock.clone());
        let svc = Orchestrator::new(
            stores.idempotency.clone(),
            stores.payments.clone(),
            stores.tenants.clone(),
            registry,
            clock.clone(),
            ServiceConfig::default(),
        )
        .with_breaker_store(stores.breakers.clone())
        .with_create_commit(stores.commit.clone())
        .with_events(stores.outbox.clone(), stores.events.clone())
        .with_usage(stores.usage.clone())
        .with_audit(stores.audit.clone())
        .with_reconciliation(stores.reconciliation.clone())
        .with_endpoints(stores.endpoints.clone());
        Harness {
            svc,
            stores,
            clock,
            efi,
            stripe,
            asaas,
        }
    }

    /// A registry holding this harness's own simulators (for orchestrators built in a test).
    pub fn registry(&self) -> shared::ports::GatewayRegistry {
        let mut r = shared::ports::GatewayRegistry::default();
        r.register(self.efi.clone());
        r.register(self.stripe.clone());
        r.register(self.asaas.clone());
        r
    }

    /// Total create calls across simulators.
    pub fn gateway_calls(&self) -> u64 {
        self.efi.create_calls() + self.stripe.create_calls() + self.asaas.create_calls()
    }

    /// Total distinct charges across simulators.
    pub fn gateway_charges(&self) -> usize {
        self.efi.charge_count() + self.stripe.charge_count() + self.asaas.charge_count()
    }

    /// Sends a request through the real router.
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
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
        let deadline =
            Some(shared::clock::Clock::now(self.clock.as_ref()) + chrono::Duration::seconds(30));
        handle(
            &self.svc,
            ApiRequest {
                method,
                path,
                query,
                headers: map,
                body: body.into(),
                deadline,
                source_ip: None,
                client_cert_issuer: None,
            },
        )
        .await
    }

    /// `POST /v1/payments` as tenant `key` with an Idempotency-Key.
    pub async fn create(&self, key: &str, idem: &str, body: &serde_json::Value) -> ApiResponse {
        let auth = format!("Bearer {key}");
        self.call(
            Method::POST,
            "/v1/payments",
            &[("authorization", &auth), ("idempotency-key", idem)],
            body.to_string(),
        )
        .await
    }

    /// `GET` as tenant `key`.
    pub async fn get(&self, key: &str, path: &str) -> ApiResponse {
        let auth = format!("Bearer {key}");
        self.call(Method::GET, path, &[("authorization", &auth)], Bytes::new())
            .await
    }
}

/// `POST /v1/payments` straight to an orchestrator a test built itself.
pub async fn post_payment(
    svc: &Orchestrator,
    api_key: &str,
    idempotency_key: &str,
    body: &serde_json::Value,
) -> ApiResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {api_key}")).expect("header"),
    );
    headers.insert(
        "idempotency-key",
        HeaderValue::from_str(idempotency_key).expect("header"),
    );
    let req = ApiRequest {
        method: Method::POST,
        path: "/v1/payments".into(),
        query: None,
        headers,
        body: body.to_string().into(),
        deadline: None,
        source_ip: None,
        client_cert_issuer: None,
    };
    handle(svc, req).await
}

/// `POST` of `body` to `path` with an Idempotency-Key, straight to an orchestrator a test built.
pub async fn post_path(
    svc: &Orchestrator,
    api_key: &str,
    path: &str,
    idempotency_key: &str,
    body: &str,
) -> ApiResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {api_key}")).expect("header"),
    );
    headers.insert(
        "idempotency-key",
        HeaderValue::from_str(idempotency_key).expect("header"),
    );
    let req = ApiRequest {
        method: Method::POST,
        path: path.into(),
        query: None,
        headers,
        body: Bytes::copy_from_slice(body.as_bytes()),
        deadline: None,
        source_ip: None,
        client_cert_issuer: None,
    };
    handle(svc, req).await
}

/// `GET` straight to an orchestrator a test built itself, as the tenant with `api_key`.
pub async fn get_path(svc: &Orchestrator, api_key: &str, path_and_query: &str) -> ApiResponse {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path_and_query.to_string(), None),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {api_key}")).expect("header"),
    );
    let req = ApiRequest {
        method: Method::GET,
        path,
        query,
        headers,
        body: Bytes::new(),
        deadline: None,
        source_ip: None,
        client_cert_issuer: None,
    };
    handle(svc, req).await
}

/// Serves plain HTTP/1.1 on `listener` with `handler` until the test's runtime ends.
pub fn serve_http<H, F>(listener: tokio::net::TcpListener, handler: H)
where
    H: Fn(hyper::Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = hyper::Response<http_body_util::Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let fut = handler(req);
                    async move { Ok::<_, std::convert::Infallible>(fut.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}

/// Parses a response body as JSON.
pub fn json(r: &ApiResponse) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", r.body))
}

/// A valid Pix create body.
pub fn pix_body(amount: i64) -> serde_json::Value {
    serde_json::json!({
        "amount": amount, "currency": "BRL", "method": "pix",
        "customer": {"name": "Maria Souza", "document": "52998224725", "email": "maria@example.com"},
        "description": "Pedido 42", "reference": "order-42", "metadata": {"k": "v"}
    })
}

/// Generates a `memory` and a `dynamo` test for an `async fn(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn memory() {
                    super::$name($crate::Backend::Memory).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn dynamo() {
                    super::$name($crate::Backend::Dynamo).await
                }
            }
        )+
    };
}
