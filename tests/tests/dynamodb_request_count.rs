//! DynamoDB requests per operation, counted by an SDK interceptor on the real client against
//! moto. Pins the counts so an extra request on the hot path fails here (DESIGN §6 target for a
//! successful payment: ≤ 2 — see docs/BENCHMARKS.md).

use aws_sdk_dynamodb::config::{ConfigBag, Credentials, Intercept, Region};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use integration_tests::{
    fresh_tables, moto_endpoint, pix_body, post_payment, tenant, KEY_A, TEST_KEY_A,
};
use shared::bootstrap::StoreSet;
use shared::service::ServiceConfig;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "request-counter"
    }

    fn read_before_execution(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn dynamodb_requests_per_operation() {
    let counter = Counter::default();
    let conf = aws_sdk_dynamodb::Config::builder()
        .http_client(shared::adapters::aws::http_client())
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto_endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .interceptor(counter.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let tables = fresh_tables(&client).await;
    let stores = StoreSet::dynamo(client, &tables);
    let mut a = tenant("ten_a", KEY_A);
    a.api_key_sha256
        .push(shared::ports::hash_api_key(TEST_KEY_A));
    stores.tenants.put(&a).await.unwrap();
    // Steady state: the tenant and breaker records are in the instance's caches (a breaker
    // read costs one GetItem per gateway per instance per `cache_ttl`, 1 s by default; the
    // cache is stretched here so a slow machine cannot add one mid-measurement).
    let mut config = ServiceConfig::default();
    config.breaker.cache_ttl = std::time::Duration::from_secs(3600);
    let svc = stores.orchestrator(shared::gateways::simulators().0, config);
    let post = |idem: String| {
        let svc = &svc;
        async move { post_payment(svc, KEY_A, &idem, &pix_body(1990)).await }
    };
    // Warm-up: the first request also reads the tenant and the primary's breaker record.
    assert_eq!(post("warm".into()).await.status, 201);

    const N: usize = 20;
    counter.0.store(0, Ordering::SeqCst);
    for i in 0..N {
        assert_eq!(post(format!("count-{i}")).await.status, 201);
    }
    let per_payment = counter.0.load(Ordering::SeqCst) as f64 / N as f64;
    counter.0.store(0, Ordering::SeqCst);
    for i in 0..N {
        let r = post(format!("count-{i}")).await;
        assert_eq!(r.header("idempotent-replayed"), Some("true"));
    }
    let per_replay = counter.0.load(Ordering::SeqCst) as f64 / N as f64;
    eprintln!("DynamoDB requests: {per_payment} per successful payment, {per_replay} per replay");
    assert_eq!(
        per_payment, 2.0,
        "claim PutItem + one TransactWriteItems (payment Put + completion Update); a success in a clean breaker window writes nothing"
    );
    assert_eq!(
        per_replay, 1.0,
        "the failed claim returns the stored answer (ALL_OLD)"
    );

    // A test key (the tenant's test twin, derived from the cached tenant): the same 2.
    let warm = post_payment(&svc, TEST_KEY_A, "test-warm", &pix_body(1990)).await;
    assert_eq!(
        (
            warm.status,
            integration_tests::json(&warm)["livemode"].clone()
        ),
        (201, serde_json::json!(false))
    );
    counter.0.store(0, Ordering::SeqCst);
    for i in 0..N {
        let r = post_payment(&svc, TEST_KEY_A, &format!("test-{i}"), &pix_body(1990)).await;
        assert_eq!(r.status, 201);
    }
    let per_test_payment = counter.0.load(Ordering::SeqCst) as f64 / N as f64;
    assert_eq!(per_test_payment, 2.0, "test mode: still claim + commit");

    // The cost of one failover: the primary (EFI) down, Asaas takes the payment.
    let efi = integration_tests::switchable::Switchable::new(Arc::new(
        shared::gateways::simulator::SimulatorGateway::efi(),
    ));
    efi.set_down(true);
    let (mut registry, _) = shared::gateways::simulators();
    registry.register(efi.clone());
    let failover_per_payment = |minimum_calls: u64, label: &'static str| {
        let mut config = ServiceConfig::default();
        config.breaker.cache_ttl = std::time::Duration::from_secs(3600);
        config.breaker.minimum_calls = minimum_calls;
        // A clock that does not move: the breaker's window never rolls over a slot boundary
        // mid-measurement (a new slot costs one more write, which would make the count flaky).
        let clock = Arc::new(shared::clock::ManualClock::new(chrono::Utc::now()));
        let svc = stores.orchestrator_on(registry.clone(), config, clock);
        let counter = counter.clone();
        async move {
            let warm = post_payment(&svc, KEY_A, &format!("warm-{label}"), &pix_body(1990)).await;
            assert_eq!(
                integration_tests::json(&warm)["gateway"],
                "asaas",
                "{}",
                warm.body
            );
            counter.0.store(0, Ordering::SeqCst);
            for i in 0..N {
                let r = post_payment(&svc, KEY_A, &format!("{label}-{i}"), &pix_body(1990)).await;
                assert_eq!(
                    integration_tests::json(&r)["gateway"],
                    "asaas",
                    "{}",
                    r.body
                );
            }
            counter.0.load(Ordering::SeqCst) as f64 / N as f64
        }
    };
    // Breaker kept closed (it never reaches its minimum): each failure is one ADD.
    let down = failover_per_payment(1_000_000, "down").await;
    // Breaker open after the first failure: EFI is skipped uncalled.
    let open = failover_per_payment(1, "open").await;
    eprintln!("DynamoDB requests per failover payment: {down} (primary down, breaker closed), {open} (primary's breaker open)");
    assert_eq!(
        down, 4.0,
        "claim (EFI's intent) + breaker ADD for EFI's failure + step write (EFI nothing, Asaas intent) + commit"
    );
    assert_eq!(
        open, 3.0,
        "claim (EFI's intent) + step write (EFI skipped, Asaas intent) + commit"
    );
}
