//! A DynamoDB that stops answering must not hang the API. Through an endpoint that accepts
//! connections, reads the requests and never answers (a blackhole), a create answers 503 within
//! the SDK's operation timeout (`adapters::aws::timeouts`, applied by `config_loader`), writes
//! nothing, and the same key then succeeds against the healthy endpoint. Before the timeouts
//! existed this create never returned (found by the fault runs, docs/BENCHMARKS.md).

use aws_sdk_dynamodb::config::{Credentials, Region};
use integration_tests::{fresh_tables, moto_endpoint, post_payment, tenant};
use serde_json::json;
use shared::bootstrap::StoreSet;
use shared::service::ServiceConfig;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// A loopback endpoint that takes every byte and never answers or closes.
async fn blackhole() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                }
            });
        }
    });
    url
}

async fn dynamo_at(endpoint: String) -> aws_sdk_dynamodb::Client {
    let conf = shared::adapters::aws::config_loader()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&conf)
}

#[tokio::test]
async fn a_silent_dynamodb_answers_503_within_the_timeout_and_the_key_recovers() {
    let healthy = dynamo_at(moto_endpoint()).await;
    let tables = fresh_tables(&healthy).await;
    StoreSet::dynamo(healthy.clone(), &tables)
        .tenants
        .put(&tenant("ten_timeouts", "sk_test_timeouts"))
        .await
        .expect("tenant");
    let body = json!({"amount": 1990, "currency": "BRL", "method": "pix"});

    let silent = StoreSet::dynamo(dynamo_at(blackhole().await).await, &tables);
    let (registry, _) = shared::gateways::simulators();
    let svc = silent.orchestrator(registry, ServiceConfig::default());
    let t0 = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        post_payment(&svc, "sk_test_timeouts", "to-silent", &body),
    )
    .await
    .expect("the create hung on a DynamoDB that does not answer");
    let took = t0.elapsed();
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        took < Duration::from_secs(20),
        "503 only after {took:?} (operation timeout 8 s)"
    );

    // the healthy endpoint: nothing was written, so the same key creates the payment
    let (registry, sims) = shared::gateways::simulators();
    let svc = StoreSet::dynamo(healthy, &tables).orchestrator(registry, ServiceConfig::default());
    let r = post_payment(&svc, "sk_test_timeouts", "to-silent", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let charges: usize = sims.iter().map(|s| s.charge_count()).sum();
    assert_eq!(charges, 1, "one charge for the key");
}
