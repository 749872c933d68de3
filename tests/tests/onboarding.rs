//! Merchant onboarding and protection, on memory and on DynamoDB (moto): the operator API
//! creates a tenant whose key takes payments; keys overlap during a rotation and a revoked key
//! stops at once here and after the cache period elsewhere; a disabled tenant is refused; the
//! rate limit admits exactly N of N+1 concurrent POSTs and the refused one stores nothing and
//! calls no gateway; callback secrets rotate with a grace; every change is in the audit log.

use bytes::Bytes;
use http::Method;
use integration_tests::{json, on_both_backends, pix_body, Backend, Harness, KEY_A};
use serde_json::{json as j, Value};
use shared::api::{handle, ApiRequest, ApiResponse};
use shared::ports::hash_api_key;
use shared::service::{Orchestrator, ServiceConfig};
use std::sync::Arc;

const OPERATOR: &str = "op_test_000000000000000000000000000000";

/// An orchestrator over the harness's stores and clock with an operator key configured; two of
/// them play two Lambda instances.
fn instance(h: &Harness) -> Arc<Orchestrator> {
    let config = ServiceConfig {
        operator_key_hashes: vec![hash_api_key(OPERATOR)],
        ..ServiceConfig::default()
    };
    Arc::new(
        Orchestrator::new(
            h.stores.idempotency.clone(),
            h.stores.payments.clone(),
            h.stores.tenants.clone(),
            h.registry(),
            h.clock.clone(),
            config,
        )
        .with_create_commit(h.stores.commit.clone())
        .with_events(h.stores.outbox.clone(), h.stores.events.clone())
        .with_usage(h.stores.usage.clone())
        .with_audit(h.stores.audit.clone()),
    )
}

async fn call(
    svc: &Orchestrator,
    method: Method,
    path: &str,
    key: Option<&str>,
    idem: Option<&str>,
    body: &str,
) -> ApiResponse {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path.to_string(), None),
    };
    let mut headers = http::HeaderMap::new();
    if let Some(k) = key {
        headers.insert(
            "authorization",
            http::HeaderValue::from_str(&format!("Bearer {k}")).expect("header"),
        );
    }
    if let Some(i) = idem {
        headers.insert(
            "idempotency-key",
            http::HeaderValue::from_str(i).expect("header"),
        );
    }
    handle(
        svc,
        ApiRequest {
            method,
            path,
            query,
            headers,
            body: Bytes::copy_from_slice(body.as_bytes()),
            deadline: None,
            source_ip: None,
            client_cert_issuer: None,
        },
    )
    .await
}

fn header<'a>(r: &'a ApiResponse, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

async fn pay(svc: &Orchestrator, key: &str, idem: &str) -> ApiResponse {
    call(
        svc,
        Method::POST,
        "/v1/payments",
        Some(key),
        Some(idem),
        &pix_body(1990).to_string(),
    )
    .await
}

async fn onboarding_by_the_operator(backend: Backend) {
    let h = Harness::new(backend).await;
    let svc = instance(&h);
    let created = call(
        &svc,
        Method::POST,
        "/v1/admin/tenants",
        Some(OPERATOR),
        None,
        &j!({"name": "Loja Nova", "id": "ten_nova", "callback_url": "https://loja.example/hooks"})
            .to_string(),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let t = json(&created);
    let key = t["api_key"]["key"]
        .as_str()
        .expect("key shown once")
        .to_string();
    assert!(t["callback_secret"]
        .as_str()
        .is_some_and(|s| s.starts_with("whsec_")));
    assert!(
        !created.body.contains(&hash_api_key(&key)),
        "no hash in the answer"
    );
    assert!(key.starts_with("sk_live_"), "api_key is the live key");
    let test_key = t["test_api_key"]["key"]
        .as_str()
        .expect("test key shown once")
        .to_string();
    assert!(test_key.starts_with("sk_test_"));
    assert_eq!(
        (
            t["api_key"]["mode"].as_str(),
            t["test_api_key"]["mode"].as_str()
        ),
        (Some("live"), Some("test"))
    );
    // The live key has no gateway until credentials are registered: never a simulator.
    let r = pay(&svc, &key, "nova-1").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(json(&r)["error"]["code"], "gateway_not_configured");
    // The test key takes a Pix payment on the simulators.
    let r = pay(&svc, &test_key, "nova-1").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json(&r)["status"], "pending");
    assert_eq!(json(&r)["livemode"], false);
    // A tenant key (or none) on the operator API: 401.
    for k in [Some(key.as_str()), Some(KEY_A), None] {
        let r = call(&svc, Method::GET, "/v1/admin/tenants", k, None, "").await;
        assert_eq!(r.status, 401, "{k:?}: {}", r.body);
    }
    let list = call(
        &svc,
        Method::GET,
        "/v1/admin/tenants",
        Some(OPERATOR),
        None,
        "",
    )
    .await;
    assert_eq!(list.status, 200);
    assert!(json(&list)["data"]
        .as_array()
        .expect("data")
        .iter()
        .any(|t| t["id"] == "ten_nova"));
    assert!(!list.body.contains("whsec_"), "no secret in the listing");
    // Same id again: refused, nothing replaced.
    let again = call(
        &svc,
        Method::POST,
        "/v1/admin/tenants",
        Some(OPERATOR),
        None,
        &j!({"name": "X", "id": "ten_nova"}).to_string(),
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    // Bad bodies: 400, nothing created.
    for bad in [
        "{",
        r#"{"name": ""}"#,
        r#"{"name": "x", "routing": {"pix": ["nope"]}}"#,
        r#"{"name": "x", "routing": {"pix": ["efi", "efi"]}}"#,
        r#"{"name": "x", "callback_url": "ftp://x"}"#,
        r#"{"name": "x", "extra": 1}"#,
    ] {
        let r = call(
            &svc,
            Method::POST,
            "/v1/admin/tenants",
            Some(OPERATOR),
            None,
            bad,
        )
        .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }

    // Disabled: its key answers 401 at once here; its gateway webhooks 404.
    let other = instance(&h);
    assert_eq!(
        pay(&other, &test_key, "nova-2").await.status,
        201,
        "warm the other instance"
    );
    let off = call(
        &svc,
        Method::PATCH,
        "/v1/admin/tenants/ten_nova",
        Some(OPERATOR),
        None,
        r#"{"disabled": true}"#,
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(pay(&svc, &test_key, "nova-3").await.status, 401);
    // The other instance trusts its cached copy for the cache period, then refuses.
    h.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(pay(&other, &test_key, "nova-4").await.status, 401);
    let rx = shared::service::webhooks::WebhookReceiver::new(
        shared::gateways::webhooks::WebhookRegistry::standard(),
        shared::service::webhooks::TenantCache::new(
            h.stores.tenants.clone(),
            std::time::Duration::from_secs(0),
        ),
        Arc::new(shared::adapters::memory::MemoryQueue::new(8)),
        h.clock.clone(),
    );
    let hook = rx
        .receive(
            "asaas",
            "ten_nova",
            &http::HeaderMap::new(),
            None,
            b"{}",
            shared::service::webhooks::RequestOrigin::default(),
        )
        .await;
    assert!(
        matches!(hook, Err(shared::error::ApiError::NotFound(_))),
        "{hook:?}"
    );
    // So do its test mode's (the twin is derived from the tenant, disabled with it).
    let hook = rx
        .receive(
            "asaas",
            "ten_nova.test",
            &http::HeaderMap::new(),
            None,
            b"{}",
            shared::service::webhooks::RequestOrigin::default(),
        )
        .await;
    assert!(
        matches!(hook, Err(shared::error::ApiError::NotFound(_))),
        "{hook:?}"
    );
    // An operator can never create a tenant colliding with a twin.
    let r = call(
        &svc,
        Method::POST,
        "/v1/admin/tenants",
        Some(OPERATOR),
        None,
        &j!({"name": "Twin", "id": "ten_nova.test"}).to_string(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = call(
        &svc,
        Method::PATCH,
        "/v1/admin/tenants/ten_nova.test",
        Some(OPERATOR),
        None,
        r#"{"disabled": false}"#,
    )
    .await;
    assert_eq!(r.status, 404, "a twin is not a tenant: {}", r.body);
    // Audit: the operator's creation and change are recorded for the tenant.
    let patch_unknown = call(
        &svc,
        Method::PATCH,
        "/v1/admin/tenants/ten_nobody",
        Some(OPERATOR),
        None,
        r#"{"disabled": true}"#,
    )
    .await;
    assert_eq!(patch_unknown.status, 404);
}

async fn keys_rotate_and_revoke(backend: Backend) {
    let h = Harness::new(backend).await;
    let a = instance(&h);
    let b = instance(&h);
    // A second key that lapses after a day: both work meanwhile.
    let r = call(
        &a,
        Method::POST,
        "/v1/api_keys",
        Some(KEY_A),
        None,
        r#"{"expires_in_days": 1}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let new = json(&r);
    let new_key = new["key"].as_str().expect("key").to_string();
    let new_id = new["id"].as_str().expect("id").to_string();
    assert_eq!(pay(&a, &new_key, "k-1").await.status, 201);
    assert_eq!(pay(&a, KEY_A, "k-2").await.status, 201);
    assert_eq!(pay(&b, KEY_A, "k-3").await.status, 201, "b caches tenant A");
    // Listed with prefix, last 4 and last use; never the key.
    let list = call(&a, Method::GET, "/v1/api_keys", Some(KEY_A), None, "").await;
    let keys = json(&list)["data"].as_array().expect("data").clone();
    assert_eq!(keys.len(), 2);
    let listed = keys
        .iter()
        .find(|k| k["id"] == new_id.as_str())
        .expect("new key");
    assert_eq!(listed["last4"], &new_key[new_key.len() - 4..]);
    // KEY_A (a tenants-file key) is in its test tenant's mode: a new key is a test key.
    assert_eq!(listed["prefix"], "sk_test_");
    assert_eq!(listed["mode"], "test");
    assert_eq!(listed["last_used"], h.clock_now_day());
    assert!(!list.body.contains(&new_key) && !list.body.contains(&hash_api_key(&new_key)));
    // Revoke the old key with the new one: 401 at once on this instance...
    let old_id = keys
        .iter()
        .find(|k| k["id"] != new_id.as_str())
        .and_then(|k| k["id"].as_str())
        .expect("old id")
        .to_string();
    let del = call(
        &a,
        Method::DELETE,
        &format!("/v1/api_keys/{old_id}"),
        Some(&new_key),
        None,
        "",
    )
    .await;
    assert_eq!(del.status, 200, "{}", del.body);
    assert_eq!(pay(&a, KEY_A, "k-4").await.status, 401);
    // ...on the other one within the cache period (60 s), tested with the shared clock.
    assert_eq!(pay(&b, KEY_A, "k-5").await.status, 201, "still cached on b");
    h.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(
        pay(&b, KEY_A, "k-6").await.status,
        401,
        "b after the cache period"
    );
    // The last key cannot be revoked; an unknown one is 404.
    let last = call(
        &a,
        Method::DELETE,
        &format!("/v1/api_keys/{new_id}"),
        Some(&new_key),
        None,
        "",
    )
    .await;
    assert_eq!(last.status, 422, "{}", last.body);
    let unknown = call(
        &a,
        Method::DELETE,
        "/v1/api_keys/key_nope",
        Some(&new_key),
        None,
        "",
    )
    .await;
    assert_eq!(unknown.status, 404);
    // The new key lapses after its day.
    h.clock.advance(chrono::Duration::days(1));
    assert_eq!(pay(&a, &new_key, "k-7").await.status, 401);
}

async fn bad_key_requests_are_400s(backend: Backend) {
    let h = Harness::new(backend).await;
    let a = instance(&h);
    for bad in [
        r#"{"expires_in_days": 0}"#,
        r#"{"expires_in_days": 99999}"#,
        "{",
        r#"{"x": 1}"#,
    ] {
        let r = call(&a, Method::POST, "/v1/api_keys", Some(KEY_A), None, bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let list = call(&a, Method::GET, "/v1/api_keys", Some(KEY_A), None, "").await;
    assert_eq!(
        json(&list)["data"].as_array().map(Vec::len),
        Some(1),
        "nothing created"
    );
}

async fn rate_limit_admits_exactly_n(backend: Backend) {
    let h = Harness::new(backend).await;
    let svc = instance(&h);
    let mut t = h
        .stores
        .tenants
        .get(&shared::domain::TenantId::parse("ten_a").expect("id"))
        .await
        .expect("get")
        .expect("tenant");
    t.rate_limit_per_minute = Some(5);
    h.stores.tenants.put(&t).await.expect("put");
    let calls_before = h.gateway_calls();
    let results = futures::future::join_all((0..6).map(|i| {
        let svc = svc.clone();
        async move { pay(&svc, KEY_A, &format!("rl-{i}")).await }
    }))
    .await;
    let ok: Vec<&ApiResponse> = results.iter().filter(|r| r.status == 201).collect();
    let limited: Vec<&ApiResponse> = results.iter().filter(|r| r.status == 429).collect();
    assert_eq!((ok.len(), limited.len()), (5, 1), "{results:?}");
    let r = limited[0];
    assert_eq!(json(r)["error"]["type"], "rate_limited");
    let retry: u64 = header(r, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("secs");
    assert!((1..=60).contains(&retry));
    assert_eq!(header(r, "ratelimit-policy"), Some("\"default\";q=5;w=60"));
    assert!(header(r, "ratelimit").is_some_and(|v| v.starts_with("\"default\";r=0;t=")));
    assert_eq!(
        header(ok[0], "ratelimit-policy"),
        Some("\"default\";q=5;w=60")
    );
    // The refused one called no gateway and stored nothing.
    assert_eq!(h.gateway_calls() - calls_before, 5);
    let payments = h
        .stores
        .payments
        .list(&t.id, &Default::default(), 100, None)
        .await
        .expect("list");
    assert_eq!(payments.items.len(), 5);
    // A replay of an admitted request is still answered (not charged again).
    let replayed_key = (0..6)
        .find(|i| results[*i].status == 201)
        .map(|i| format!("rl-{i}"))
        .expect("one admitted");
    let replay = pay(&svc, KEY_A, &replayed_key).await;
    assert_eq!(replay.status, 201);
    assert_eq!(header(&replay, "idempotent-replayed"), Some("true"));
    // The next window admits again; GETs are never limited.
    assert_eq!(
        call(&svc, Method::GET, "/v1/payments", Some(KEY_A), None, "")
            .await
            .status,
        200
    );
    h.clock.advance(chrono::Duration::seconds(60));
    assert_eq!(pay(&svc, KEY_A, "rl-next").await.status, 201);
}

async fn secrets_rotate_and_changes_are_audited(backend: Backend) {
    let h = Harness::new(backend).await;
    let svc = instance(&h);
    let before = call(
        &svc,
        Method::GET,
        "/v1/webhook_secrets",
        Some(KEY_A),
        None,
        "",
    )
    .await;
    assert_eq!(before.status, 200);
    let n_before = json(&before)["data"].as_array().map(Vec::len).unwrap_or(0);
    let rot = call(
        &svc,
        Method::POST,
        "/v1/webhook_secrets/rotate",
        Some(KEY_A),
        None,
        r#"{"grace_hours": 2}"#,
    )
    .await;
    assert_eq!(rot.status, 200, "{}", rot.body);
    let body = json(&rot);
    let secret = body["secret"].as_str().expect("new secret").to_string();
    assert!(shared::signing::standard_webhooks::CallbackSecret::parse(&secret).is_ok());
    let listed = call(
        &svc,
        Method::GET,
        "/v1/webhook_secrets",
        Some(KEY_A),
        None,
        "",
    )
    .await;
    let data = json(&listed)["data"].as_array().expect("data").clone();
    assert_eq!(
        data.len(),
        n_before + 1,
        "old ones still sign during the grace"
    );
    assert_eq!(data[0]["current"], true);
    assert!(!listed.body.contains(&secret), "masked");
    h.clock.advance(chrono::Duration::hours(3));
    let later = call(
        &svc,
        Method::GET,
        "/v1/webhook_secrets",
        Some(KEY_A),
        None,
        "",
    )
    .await;
    assert_eq!(json(&later)["data"].as_array().map(Vec::len), Some(1));
    let bad = call(
        &svc,
        Method::POST,
        "/v1/webhook_secrets/rotate",
        Some(KEY_A),
        None,
        r#"{"grace_hours": -1}"#,
    )
    .await;
    assert_eq!(bad.status, 400);

    // Routing and key changes are audited with the key that made them, before and after.
    let routing = call(
        &svc,
        Method::PUT,
        "/v1/routing",
        Some(KEY_A),
        None,
        r#"{"pix": ["asaas", "efi"]}"#,
    )
    .await;
    assert_eq!(routing.status, 200, "{}", routing.body);
    let key = json(&call(&svc, Method::POST, "/v1/api_keys", Some(KEY_A), None, "").await);
    let audit = call(
        &svc,
        Method::GET,
        "/v1/audit?limit=10",
        Some(KEY_A),
        None,
        "",
    )
    .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let entries = json(&audit)["data"].as_array().expect("data").clone();
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        vec!["api_key.create", "routing.update", "webhook_secret.rotate"],
        "newest first"
    );
    let r: &Value = &entries[1];
    assert_eq!(r["before"]["routing"]["pix"], j!(["efi", "asaas"]));
    assert_eq!(r["after"]["routing"]["pix"], j!(["asaas", "efi"]));
    assert!(r["actor"].as_str().is_some_and(|a| a.starts_with("key_")));
    let secret_str = key["key"].as_str().expect("key");
    assert!(!audit.body.contains(secret_str) && !audit.body.contains(&secret));
    assert_eq!(
        call(
            &svc,
            Method::GET,
            "/v1/audit?limit=0",
            Some(KEY_A),
            None,
            ""
        )
        .await
        .status,
        400
    );
}

/// A tenant store whose reads take a while, as a remote store's do: it widens the window
/// between a "does this id exist?" read and the write after it.
struct SlowReads(Arc<dyn shared::ports::TenantStore>);

#[async_trait::async_trait]
impl shared::ports::TenantStore for SlowReads {
    async fn by_api_key_hash(
        &self,
        hash: &str,
    ) -> Result<Option<shared::ports::Tenant>, shared::ports::StoreError> {
        self.0.by_api_key_hash(hash).await
    }
    async fn get(
        &self,
        id: &shared::domain::TenantId,
    ) -> Result<Option<shared::ports::Tenant>, shared::ports::StoreError> {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        self.0.get(id).await
    }
    async fn put(&self, t: &shared::ports::Tenant) -> Result<(), shared::ports::StoreError> {
        self.0.put(t).await
    }
    async fn create(&self, t: &shared::ports::Tenant) -> Result<bool, shared::ports::StoreError> {
        self.0.create(t).await
    }
    async fn replace(&self, t: &shared::ports::Tenant) -> Result<(), shared::ports::StoreError> {
        self.0.replace(t).await
    }
    async fn list(&self) -> Result<Vec<shared::ports::Tenant>, shared::ports::StoreError> {
        self.0.list().await
    }
    async fn touch_key(
        &self,
        hash: &str,
        day: chrono::NaiveDate,
    ) -> Result<(), shared::ports::StoreError> {
        self.0.touch_key(hash, day).await
    }
    async fn key_last_used(
        &self,
        hash: &str,
    ) -> Result<Option<chrono::NaiveDate>, shared::ports::StoreError> {
        self.0.key_last_used(hash).await
    }
}

/// Two operator instances create the same tenant id at the same time: exactly one 201, the
/// others 409 `resource_exists`; the stored tenant is the winner's (its key works, the losers'
/// keys never do), and a later creation of the id is a 409 too.
async fn concurrent_tenant_creations_one_wins(backend: Backend) {
    let h = Harness::new(backend).await;
    let tenants: Arc<dyn shared::ports::TenantStore> =
        Arc::new(SlowReads(h.stores.tenants.clone()));
    let config = ServiceConfig {
        operator_key_hashes: vec![hash_api_key(OPERATOR)],
        ..ServiceConfig::default()
    };
    let make = || {
        Arc::new(
            Orchestrator::new(
                h.stores.idempotency.clone(),
                h.stores.payments.clone(),
                tenants.clone(),
                h.registry(),
                h.clock.clone(),
                config.clone(),
            )
            .with_create_commit(h.stores.commit.clone())
            .with_events(h.stores.outbox.clone(), h.stores.events.clone())
            .with_usage(h.stores.usage.clone()),
        )
    };
    let instances = [make(), make()];
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let svc = instances[i % 2].clone();
            tokio::spawn(async move {
                call(
                    &svc,
                    Method::POST,
                    "/v1/admin/tenants",
                    Some(OPERATOR),
                    None,
                    &j!({"name": format!("Loja {i}"), "id": "ten_race"}).to_string(),
                )
                .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    let won: Vec<&ApiResponse> = answers.iter().filter(|r| r.status == 201).collect();
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(won.len(), 1, "exactly one creation wins: {statuses:?}");
    for r in answers.iter().filter(|r| r.status != 201) {
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(json(r)["error"]["code"], "resource_exists", "{}", r.body);
    }
    let winner = json(won[0]);
    let stored = h
        .stores
        .tenants
        .get(&shared::domain::TenantId::parse("ten_race").expect("id"))
        .await
        .expect("get")
        .expect("tenant");
    assert_eq!(stored.name, winner["name"].as_str().expect("name"));
    let svc = make();
    let key = winner["test_api_key"]["key"].as_str().expect("key");
    assert_eq!(pay(&svc, key, "race-1").await.status, 201);
    let again = call(
        &svc,
        Method::POST,
        "/v1/admin/tenants",
        Some(OPERATOR),
        None,
        &j!({"name": "Later", "id": "ten_race"}).to_string(),
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(
        pay(&svc, key, "race-2").await.status,
        201,
        "the winner's key still works"
    );
}

on_both_backends!(
    concurrent_tenant_creations_one_wins,
    onboarding_by_the_operator,
    keys_rotate_and_revoke,
    rate_limit_admits_exactly_n,
    secrets_rotate_and_changes_are_audited,
    bad_key_requests_are_400s
);

/// The day the harness clock is on, as `last_used` shows it.
trait ClockDay {
    fn clock_now_day(&self) -> String;
}

impl ClockDay for Harness {
    fn clock_now_day(&self) -> String {
        shared::clock::Clock::now(self.clock.as_ref())
            .date_naive()
            .to_string()
    }
}

/// A tenant made with the operator API registers credentials for EFI (mTLS), Stripe and Asaas
/// by API — each with its webhook secret — takes a Pix at each real client (the fakes), and
/// each gateway's webhook authenticates at the receiver and settles its payment through the
/// worker. Before registration the webhooks are refused; short or blank secrets are 400s
/// naming the field.
async fn operator_tenant_registers_every_gateway_and_its_webhooks_settle(backend: Backend) {
    use base64::Engine;
    use integration_tests::credentials::{put_creds, CredentialSetup};
    use integration_tests::fakes::{
        asaas::FakeAsaas, efi::FakeEfi, efi::TestPki, stripe::FakeStripe,
    };
    use integration_tests::pipeline::post_webhook;
    use shared::adapters::memory::MemoryQueue;
    use shared::service::webhooks::{RetrySchedule, TenantCache, WebhookReceiver, WebhookWorker};
    use std::time::Duration;

    let s = CredentialSetup::new(backend).await;
    let config = ServiceConfig {
        operator_key_hashes: vec![hash_api_key(OPERATOR)],
        ..ServiceConfig::default()
    };
    let svc = s.instance_with(Duration::from_secs(30), config);
    let created = call(
        &svc,
        Method::POST,
        "/v1/admin/tenants",
        Some(OPERATOR),
        None,
        &j!({"name": "Loja Três Gateways", "id": "ten_onb"}).to_string(),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let key = json(&created)["api_key"]["key"]
        .as_str()
        .expect("key")
        .to_string();

    let queue = Arc::new(MemoryQueue::new(3));
    let rx = WebhookReceiver::new(
        shared::gateways::webhooks::WebhookRegistry::standard(),
        TenantCache::new(s.h.stores.tenants.clone(), Duration::ZERO),
        queue.clone(),
        Arc::new(shared::clock::SystemClock),
    );
    let worker = WebhookWorker::new(
        shared::gateways::webhooks::WebhookRegistry::standard(),
        TenantCache::new(s.h.stores.tenants.clone(), Duration::ZERO),
        s.h.stores.worker_stores(),
        Arc::new(shared::adapters::http::HttpCallbackSender::new(true).expect("sender")),
        queue.clone(),
        Arc::new(shared::clock::SystemClock),
        RetrySchedule::immediate(3),
    );
    let drain = || integration_tests::pipeline::drain_memory_queue(&queue, &worker);

    let stripe = FakeStripe::start().await;
    let asaas = FakeAsaas::start().await;
    let pki = TestPki::generate();
    let efi = FakeEfi::start(&pki).await;
    let p12 = base64::engine::general_purpose::STANDARD.encode(pki.client_pkcs12());
    let whsec = "whsec_onboarded_by_api_5f1c9e3a7b2d4068";
    let asaas_token = "asaas-token-onboarded-by-api-8d2f6b1e4a9c";
    let efi_hmac = "efi-hmac-onboarded-by-api-3c7e1a9f5b2d8046";
    let efi_body_from = |hmac: &str, ips: serde_json::Value| {
        j!({"client_id": efi.client_id, "client_secret": efi.client_secret,
            "certificate_p12": p12, "pix_key": efi.pix_key, "webhook_hmac": hmac,
            "webhook_allowed_ips": ips, "base_url": efi.base_url, "ca_pem": pki.ca_pem})
    };
    let efi_body = |hmac: &str| {
        efi_body_from(
            hmac,
            j!([integration_tests::pipeline::WEBHOOK_SOURCE_IP.to_string()]),
        )
    };
    let efi_hook = |hmac: &str| format!("/webhooks/efi/ten_onb?hmac={hmac}&ignorar=/pix");

    // No webhook secret yet: EFI's webhook cannot authenticate.
    let early = post_webhook(&rx, &efi_hook(efi_hmac), &[], r#"{"pix": []}"#).await;
    assert_eq!(early.status, 401, "{}", early.body);

    // Blank, short or URL-unsafe secrets: 400 naming the field, nothing stored.
    for (gateway, body, param) in [
        ("efi", efi_body(""), "webhook_hmac"),
        ("efi", efi_body("   "), "webhook_hmac"),
        ("efi", efi_body("x"), "webhook_hmac"),
        ("efi", efi_body(&efi_hmac[..31]), "webhook_hmac"),
        ("efi", efi_body(&format!("{efi_hmac}&a=b")), "webhook_hmac"),
        // Live EFI webhooks need a listed source IP where there is no mutual TLS.
        (
            "efi",
            efi_body_from(efi_hmac, serde_json::Value::Null),
            "webhook_allowed_ips",
        ),
        (
            "efi",
            efi_body_from(efi_hmac, j!([])),
            "webhook_allowed_ips",
        ),
        (
            "efi",
            efi_body_from(efi_hmac, j!(["34.193.116.226", "34.193.116.0/24"])),
            "webhook_allowed_ips[1]",
        ),
        (
            "efi",
            efi_body_from(efi_hmac, j!("34.193.116.226")),
            "webhook_allowed_ips",
        ),
        (
            "asaas",
            j!({"api_key": asaas.token, "webhook_token": "x", "base_url": asaas.base_url}),
            "webhook_token",
        ),
        (
            "asaas",
            j!({"api_key": asaas.token, "webhook_token": "", "base_url": asaas.base_url}),
            "webhook_token",
        ),
        (
            "stripe",
            j!({"secret_key": stripe.api_key, "webhook_secret": "whsec_x", "base_url": stripe.base_url}),
            "webhook_secret",
        ),
    ] {
        let r = put_creds(&svc, &key, gateway, &body).await;
        assert_eq!(r.status, 400, "{gateway} {body}: {}", r.body);
        assert_eq!(json(&r)["error"]["param"], param, "{gateway}: {}", r.body);
    }
    let t =
        s.h.stores
            .tenants
            .get(&shared::domain::TenantId::parse("ten_onb").expect("id"))
            .await
            .expect("get")
            .expect("tenant");
    assert!(t.live_gateways.is_empty(), "{:?}", t.live_gateways);
    assert_eq!(t.webhook_secrets, Default::default());

    // Registration by API, one gateway after the other; answers are masked.
    for (gateway, body, secret) in [
        ("efi", efi_body(efi_hmac), efi_hmac),
        (
            "stripe",
            j!({"secret_key": stripe.api_key, "webhook_secret": whsec, "base_url": stripe.base_url}),
            whsec,
        ),
        (
            "asaas",
            j!({"api_key": asaas.token, "webhook_token": asaas_token, "base_url": asaas.base_url}),
            asaas_token,
        ),
    ] {
        let r = put_creds(&svc, &key, gateway, &body).await;
        assert_eq!(r.status, 200, "{gateway}: {}", r.body);
        assert!(!r.body.contains(secret), "{gateway}: {}", r.body);
        assert_eq!(json(&r)["live"], true);
    }
    let t =
        s.h.stores
            .tenants
            .get(&shared::domain::TenantId::parse("ten_onb").expect("id"))
            .await
            .expect("get")
            .expect("tenant");
    assert_eq!(t.webhook_secrets.efi_hmac.as_deref(), Some(efi_hmac));
    assert_eq!(t.webhook_secrets.stripe, vec![whsec.to_string()]);
    assert_eq!(t.webhook_secrets.asaas_token.as_deref(), Some(asaas_token));
    s.assert_stored_without(&[whsec, asaas_token, efi_hmac, &efi.client_secret])
        .await;

    // A Pix at each gateway, through its real client.
    let mut ids = std::collections::BTreeMap::new();
    for gateway in ["efi", "stripe", "asaas"] {
        let mut body = pix_body(2590);
        body["gateway"] = gateway.into();
        let r = call(
            &svc,
            Method::POST,
            "/v1/payments",
            Some(&key),
            Some(&format!("onb-{gateway}")),
            &body.to_string(),
        )
        .await;
        assert_eq!(r.status, 201, "{gateway}: {}", r.body);
        let p = json(&r);
        assert_eq!(
            (p["status"].as_str(), p["gateway"].as_str()),
            (Some("pending"), Some(gateway)),
            "{p}"
        );
        ids.insert(
            gateway,
            (
                p["id"].as_str().expect("id").to_string(),
                p["gateway_payment_id"].as_str().expect("gid").to_string(),
            ),
        );
    }
    assert_eq!(
        (
            efi.cobs_created(),
            stripe.intents_created(),
            asaas.payments_created()
        ),
        (1, 1, 1),
        "each real client reached its fake"
    );

    // Each gateway's webhook: a wrong secret is refused, the registered one authenticates.
    let (efi_id, txid) = &ids["efi"];
    let efi_event = j!({"pix": [{"endToEndId": "E18236120202611211340s0ONBOARD", "txid": txid,
        "chave": efi.pix_key, "valor": "25.90", "horario": "2026-11-21T13:40:34.000Z"}]})
    .to_string();
    let wrong = post_webhook(
        &rx,
        &efi_hook("efi-hmac-that-is-not-the-registered-one"),
        &[],
        &efi_event,
    )
    .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let ok = post_webhook(&rx, &efi_hook(efi_hmac), &[], &efi_event).await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    let (stripe_id, pi) = &ids["stripe"];
    let stripe_event = integration_tests::pipeline::stripe_pi_event(
        "evt_onb_1",
        "payment_intent.succeeded",
        pi,
        stripe_id,
    );
    let now = chrono::Utc::now().timestamp();
    for (secret, status) in [
        ("whsec_some_other_endpoint_secret_000000", 401),
        (whsec, 200),
    ] {
        let sig = format!(
            "t={now},v1={}",
            shared::signing::stripe::compute(secret, now, stripe_event.as_bytes())
        );
        let r = post_webhook(
            &rx,
            "/webhooks/stripe/ten_onb",
            &[("stripe-signature", &sig)],
            &stripe_event,
        )
        .await;
        assert_eq!(r.status, status, "{}", r.body);
    }

    let (asaas_id, asaas_pay) = &ids["asaas"];
    let asaas_event = j!({"id": "evt_onb_asaas_1", "event": "PAYMENT_RECEIVED",
        "payment": {"object": "payment", "id": asaas_pay, "status": "RECEIVED", "value": 25.90,
            "billingType": "PIX", "externalReference": asaas_id}})
    .to_string();
    for (token, status) in [
        ("asaas-token-that-is-not-the-registered-one", 401),
        (asaas_token, 200),
    ] {
        let r = post_webhook(
            &rx,
            "/webhooks/asaas/ten_onb",
            &[("asaas-access-token", token)],
            &asaas_event,
        )
        .await;
        assert_eq!(r.status, status, "{}", r.body);
    }

    drain().await;
    for id in [efi_id, stripe_id, asaas_id] {
        let r = call(
            &svc,
            Method::GET,
            &format!("/v1/payments/{id}"),
            Some(&key),
            None,
            "",
        )
        .await;
        assert_eq!(json(&r)["status"], "succeeded", "{id}: {}", r.body);
    }
}

on_both_backends!(operator_tenant_registers_every_gateway_and_its_webhooks_settle);
