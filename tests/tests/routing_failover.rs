//! Manual routing switch, the failover safety rule, and reconciliation by `?refresh=true`.

use http::Method;
use integration_tests::fakes::efi::{FakeEfi, TestPki};
use integration_tests::{
    json, on_both_backends, pix_body, post_payment, Backend, Harness, KEY_A, KEY_B,
};
use shared::adapters::memory::FileCredentials;
use shared::domain::TenantId;
use shared::gateways::live::LiveGateways;
use shared::service::{Orchestrator, ServiceConfig};
use std::sync::Arc;

async fn put_routing(h: &Harness, key: &str, body: &str) -> shared::api::ApiResponse {
    let auth = format!("Bearer {key}");
    h.call(
        Method::PUT,
        "/v1/routing",
        &[("authorization", &auth)],
        body.to_string(),
    )
    .await
}

async fn routing_switch_applies_to_new_payments(b: Backend) {
    let h = Harness::new(b).await;
    assert_eq!(
        json(&h.create(KEY_A, "before", &pix_body(1990)).await)["gateway"],
        "efi"
    );
    let r = put_routing(&h, KEY_A, r#"{"pix": ["asaas", "efi"]}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        json(&r)["routing"]["pix"],
        serde_json::json!(["asaas", "efi"])
    );
    assert_eq!(
        json(&r)["routing"]["card"],
        serde_json::json!(["stripe", "asaas"]),
        "other methods kept"
    );
    assert_eq!(
        json(&h.create(KEY_A, "after", &pix_body(1990)).await)["gateway"],
        "asaas"
    );
    assert_eq!(
        json(&h.create(KEY_B, "b", &pix_body(1990)).await)["gateway"],
        "efi",
        "other tenants unaffected"
    );
    for body in [
        r#"{"pix": ["paypal"]}"#,
        r#"{"card": ["efi"]}"#,
        r#"{"pix": []}"#,
        r#"{"pix": ["efi", "efi"]}"#,
        r#"{"crypto": ["efi"]}"#,
        r#"{"pix": "efi"}"#,
        "{}",
        "[]",
        "{bad",
    ] {
        let r = put_routing(&h, KEY_A, body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
    assert_eq!(
        json(&h.create(KEY_A, "still", &pix_body(1990)).await)["gateway"],
        "asaas",
        "refused bodies change nothing"
    );
}

async fn ambiguous_card_is_processing_then_refresh_settles_it(b: Backend) {
    let h = Harness::new(b).await;
    let card = serde_json::json!({"amount": 10054, "currency": "BRL", "method": "card",
        "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok"}}});
    let p = json(&h.create(KEY_A, "amb-card", &card).await);
    assert_eq!(
        (p["status"].as_str(), p["gateway"].as_str()),
        (Some("processing"), Some("stripe"))
    );
    assert_eq!(
        h.asaas.create_calls(),
        0,
        "an ambiguous card never goes to a second gateway"
    );
    let id = p["id"].as_str().unwrap();
    let bad = h
        .get(KEY_A, &format!("/v1/payments/{id}?refresh=maybe"))
        .await;
    assert_eq!(bad.status, 400);
    let settled = json(
        &h.get(KEY_A, &format!("/v1/payments/{id}?refresh=true"))
            .await,
    );
    assert_eq!(settled["status"], "succeeded");
    assert!(settled["gateway_payment_id"]
        .as_str()
        .unwrap()
        .starts_with("sim_stripe_"));
    assert_eq!(
        h.stripe.charge_count(),
        1,
        "the refresh found the charge, it did not make another"
    );
    assert_eq!(
        json(&h.get(KEY_A, &format!("/v1/payments/{id}")).await)["status"],
        "succeeded",
        "stored"
    );
}

on_both_backends!(
    routing_switch_applies_to_new_payments,
    ambiguous_card_is_processing_then_refresh_settles_it
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_pix_cancels_the_orphan_then_fails_over() {
    let pki = TestPki::generate();
    let efi = FakeEfi::start(&pki).await;
    let creds = serde_json::json!({"ten_a": {"efi": {
        "client_id": efi.client_id, "client_secret": efi.client_secret, "pix_key": efi.pix_key,
        "certificate_pem": pki.client_identity_pem, "ca_pem": pki.ca_pem, "base_url": efi.base_url, "timeout_ms": 900}}});
    let h = Harness::new(Backend::Memory).await;
    let tid = TenantId::parse("ten_a").unwrap();
    let mut t = h.stores.tenants.get(&tid).await.unwrap().unwrap();
    t.live_gateways = vec!["efi".into()];
    // A test-mode tenant: one gateway through its (fake) sandbox credentials, the others
    // simulated. (In live mode a gateway without credentials is never a candidate.)
    t.mode = Some(shared::domain::AccountMode::Test);
    h.stores.tenants.put(&t).await.unwrap();
    let svc = Orchestrator::new(
        h.stores.idempotency.clone(),
        h.stores.payments.clone(),
        h.stores.tenants.clone(),
        h.registry(),
        h.clock.clone(),
        ServiceConfig::default(),
    )
    .with_live_gateways(Arc::new(LiveGateways::new(Arc::new(
        FileCredentials::from_json(&creds.to_string()).unwrap(),
    ))));
    // 10.77: EFI creates the cob, then stalls past the client's timeout (ambiguous).
    let r = post_payment(&svc, KEY_A, "amb-pix", &pix_body(1077)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = json(&r);
    assert_eq!(
        (p["status"].as_str(), p["gateway"].as_str()),
        (Some("pending"), Some("asaas")),
        "fell over to asaas"
    );
    let attempts = p["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["outcome"], "ambiguous");
    assert!(
        attempts[0]["code"]
            .as_str()
            .unwrap()
            .ends_with("+orphan_canceled"),
        "{attempts:?}"
    );
    let txid = shared::service::gateway_key(
        &shared::domain::PaymentId::parse(p["id"].as_str().unwrap()).unwrap(),
    );
    assert_eq!(
        efi.cob_status(&txid).as_deref(),
        Some("REMOVIDA_PELO_USUARIO_RECEBEDOR"),
        "the orphan is canceled"
    );
    assert_eq!(efi.cobs_created(), 1);
    assert_eq!(h.asaas.charge_count(), 1, "one payable charge");
}
