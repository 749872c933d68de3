//! Proxy overhead per payment (DESIGN §6: p50 ≤ 100 µs, p99 ≤ 1 ms): the full API path
//! (routing, auth, parsing, idempotency claim, gateway call, record, completion, rendering) on
//! in-memory stores with a zero-latency simulated gateway. Run with
//! `cargo bench -p shared --bench proxy_overhead`; results go in docs/BENCHMARKS.md.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use shared::api::{handle, ApiRequest};
use shared::bootstrap::StoreSet;
use shared::domain::{PaymentMethod, TenantId};
use shared::ports::{hash_api_key, Tenant};
use shared::service::ServiceConfig;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const N: usize = 20_000;
const KEY: &str = "sk_bench_0123456789abcdef";

fn request(method: Method, path: &str, idem: Option<&str>, body: &'static str) -> ApiRequest {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_static("Bearer sk_bench_0123456789abcdef"),
    );
    if let Some(k) = idem {
        headers.insert(
            "idempotency-key",
            HeaderValue::from_str(k).expect("ascii key"),
        );
    }
    ApiRequest {
        method,
        path: path.to_string(),
        query: None,
        headers,
        body: Bytes::from_static(body.as_bytes()),
        deadline: None,
        source_ip: None,
        client_cert_issuer: None,
    }
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{name:<28} n={:<6} p50={:>8.1?} p90={:>8.1?} p99={:>8.1?} p99.9={:>8.1?} max={:>8.1?}",
        samples.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(0.999),
        samples[samples.len() - 1]
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (registry, _) = shared::gateways::simulators();
        let stores = StoreSet::memory();
        let tenants = stores.tenants.clone();
        let svc = stores.orchestrator(registry, ServiceConfig::default());
        tenants
            .put(&Tenant {
                id: TenantId::parse("ten_bench").expect("id"),
                name: "bench".into(),
                api_key_sha256: vec![hash_api_key(KEY)],
                routing: BTreeMap::from([(PaymentMethod::Pix, vec!["efi".to_string()])]),
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
            })
            .await
            .expect("seed");
        const BODY: &str = r#"{"amount":1990,"currency":"BRL","method":"pix","customer":{"name":"Maria Souza","document":"52998224725","email":"maria@example.com"},"description":"Pedido 42","reference":"order-42","metadata":{"cart":"42"}}"#;
        let keys: Vec<String> = (0..N).map(|i| format!("bench-{i}")).collect();

        // Warm-up (allocator, caches), not measured.
        for k in keys.iter().take(1000) {
            let r = handle(&svc, request(Method::POST, "/v1/payments", Some(&format!("warm-{k}")), BODY)).await;
            assert_eq!(r.status, 201);
        }

        let mut create = Vec::with_capacity(N);
        let mut ids = Vec::with_capacity(N);
        for k in &keys {
            let t = Instant::now();
            let r = handle(&svc, request(Method::POST, "/v1/payments", Some(k), BODY)).await;
            create.push(t.elapsed());
            assert_eq!(r.status, 201, "{}", r.body);
            let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
            ids.push(v["id"].as_str().expect("id").to_string());
        }
        let mut replay = Vec::with_capacity(N);
        for k in &keys {
            let t = Instant::now();
            let r = handle(&svc, request(Method::POST, "/v1/payments", Some(k), BODY)).await;
            replay.push(t.elapsed());
            assert_eq!(r.header("idempotent-replayed"), Some("true"));
        }
        let mut get = Vec::with_capacity(N);
        for id in &ids {
            let t = Instant::now();
            let r = handle(&svc, request(Method::GET, &format!("/v1/payments/{id}"), None, "")).await;
            get.push(t.elapsed());
            assert_eq!(r.status, 200);
        }
        report("create (new key)", create);
        report("create (replay)", replay);
        report("get by id", get);
    });
}
