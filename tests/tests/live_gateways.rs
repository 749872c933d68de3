//! Real gateway clients per tenant: credentials from Secrets Manager (moto), the real Stripe
//! client against the fake Stripe, through the API; missing credentials create nothing.

use aws_sdk_secretsmanager::config::{Credentials, Region};
use integration_tests::fakes::stripe::FakeStripe;
use integration_tests::{json, moto_endpoint, post_payment, Backend, Harness, KEY_A};
use shared::adapters::aws::SecretsManagerCredentials;
use shared::adapters::memory::FileCredentials;
use shared::domain::TenantId;
use shared::gateways::live::LiveGateways;
use shared::ports::CredentialStore;
use shared::service::{Orchestrator, ServiceConfig};
use std::sync::Arc;

fn secrets_client() -> aws_sdk_secretsmanager::Client {
    let conf = aws_sdk_secretsmanager::Config::builder()
        .http_client(shared::adapters::aws::http_client())
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto_endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_secrets_manager_drive_the_real_stripe_client() {
    let fake = FakeStripe::start().await;
    let prefix = format!("orch-{}", ulid::Ulid::new().to_string().to_lowercase());
    let sm = secrets_client();
    sm.create_secret()
        .name(format!("{prefix}/ten_a/stripe"))
        .secret_string(serde_json::json!({"secret_key": fake.api_key, "base_url": fake.base_url, "timeout_ms": 2000}).to_string())
        .send()
        .await
        .unwrap();
    let store = Arc::new(SecretsManagerCredentials::new(sm, prefix));
    let tid = TenantId::parse("ten_a").unwrap();
    assert!(store.get(&tid, "stripe").await.unwrap().is_some());
    assert!(
        store.get(&tid, "asaas").await.unwrap().is_none(),
        "absent secret is None"
    );

    let h = Harness::new(Backend::Dynamo).await;
    let mut t = h.stores.tenants.get(&tid).await.unwrap().unwrap();
    t.live_gateways = vec!["stripe".into(), "asaas".into()];
    h.stores.tenants.put(&t).await.unwrap();
    let svc = Orchestrator::new(
        h.stores.idempotency.clone(),
        h.stores.payments.clone(),
        h.stores.tenants.clone(),
        h.registry(),
        h.clock.clone(),
        ServiceConfig::default(),
    )
    .with_live_gateways(Arc::new(LiveGateways::new(store)));
    let call = |body: serde_json::Value, key: &'static str| {
        let svc = &svc;
        async move { post_payment(svc, KEY_A, key, &body).await }
    };
    let card = serde_json::json!({"amount": 10000, "currency": "BRL", "method": "card", "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok"}}});
    let r = call(card.clone(), "live-1").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = json(&r);
    assert_eq!(p["status"], "succeeded");
    assert!(
        p["gateway_payment_id"]
            .as_str()
            .unwrap()
            .starts_with("pi_fake"),
        "the real client reached the fake Stripe"
    );
    assert_eq!(fake.intents_created(), 1);
    assert_eq!(
        call(card, "live-1").await.header("idempotent-replayed"),
        Some("true")
    );
    assert_eq!(fake.intents_created(), 1);
    assert_eq!(h.stripe.create_calls(), 0, "the simulator was not used");

    // Asaas is live for this tenant but has no credentials: misconfigured, nothing created, 502.
    let pinned = serde_json::json!({"amount": 10000, "currency": "BRL", "method": "card", "gateway": "asaas", "card": {"tokens": {"asaas": "tok"}}});
    let r = call(pinned, "live-2").await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("credentials_missing"), "{}", r.body);
    assert_eq!(h.asaas.create_calls(), 0);
}

#[tokio::test]
async fn file_credentials_for_the_dev_server() {
    let f = FileCredentials::from_json(r#"{"ten_a": {"stripe": {"secret_key": "sk_test_x"}}}"#)
        .unwrap();
    let tid = TenantId::parse("ten_a").unwrap();
    assert_eq!(
        f.get(&tid, "stripe").await.unwrap().unwrap().expose()["secret_key"],
        "sk_test_x"
    );
    assert!(f.get(&tid, "efi").await.unwrap().is_none());
    assert!(FileCredentials::from_json("[1]").is_err());
}
