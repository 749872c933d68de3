//! No gateway credential reaches the logs: the whole credentials flow (register, read, pay with
//! the real clients, verify good and bad keys, rotate, refused bodies, delete) on memory and on
//! moto + KMS, under the production JSON subscriber at debug level, its own test binary.

use integration_tests::credentials::{
    call, delete_creds, get_creds, put_creds, verify_creds, CredentialSetup,
};
use integration_tests::fakes::asaas::FakeAsaas;
use integration_tests::fakes::efi::{FakeEfi, TestPki};
use integration_tests::fakes::stripe::FakeStripe;
use integration_tests::{pix_body, post_payment, Backend, KEY_A, KEY_B};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the flow; answers every secret it used.
async fn flow(b: Backend) -> Vec<String> {
    use base64::Engine;
    let s = CredentialSetup::new(b).await;
    let svc = s.instance(Duration::ZERO);
    let stripe = FakeStripe::start().await;
    let asaas = FakeAsaas::start().await;
    let pki = TestPki::generate();
    let efi = FakeEfi::start(&pki).await;
    let whsec = "whsec_logged_never_0123456789abcd";
    let asaas_token = "asaas-webhook-token-never-logged-0123";
    let rotated = "sk_test_rotated_never_logged_42";
    let wrong = "sk_test_wrong_never_logged_4242";
    let refused = "sk_live_refused_never_logged_77";
    let password = "p12-passphrase-never-logged";
    let p12 =
        base64::engine::general_purpose::STANDARD.encode(pki.client_pkcs12_with_password(password));

    let ok = |r: &shared::api::ApiResponse| assert_eq!(r.status, 200, "{}", r.body);
    ok(&put_creds(&svc, KEY_A, "stripe",
        &json!({"secret_key": stripe.api_key, "webhook_secret": whsec, "base_url": stripe.base_url})).await);
    ok(&put_creds(
        &svc,
        KEY_A,
        "asaas",
        &json!({"api_key": asaas.token, "webhook_token": asaas_token, "base_url": asaas.base_url}),
    )
    .await);
    ok(&put_creds(&svc, KEY_A, "efi", &json!({"client_id": efi.client_id,
        "client_secret": efi.client_secret, "certificate_p12": p12, "certificate_password": password,
        "pix_key": efi.pix_key, "base_url": efi.base_url, "ca_pem": pki.ca_pem})).await);
    for g in ["stripe", "asaas", "efi"] {
        ok(&get_creds(&svc, KEY_A, g).await);
        ok(&verify_creds(&svc, KEY_A, g).await);
        assert_eq!(get_creds(&svc, KEY_B, g).await.status, 404);
    }
    let card = json!({"amount": 2500, "currency": "BRL", "method": "card", "gateway": "stripe",
        "card": {"tokens": {"stripe": "pm_card_visa"}}});
    assert_eq!(
        post_payment(&svc, KEY_A, "log-card", &card).await.status,
        201
    );
    assert_eq!(
        post_payment(&svc, KEY_A, "log-pix", &pix_body(1990))
            .await
            .status,
        201
    );
    let mut boleto = pix_body(3300);
    boleto["method"] = "boleto".into();
    boleto["gateway"] = "asaas".into();
    assert_eq!(
        post_payment(&svc, KEY_A, "log-boleto", &boleto)
            .await
            .status,
        201
    );

    // A key the gateway refuses: verify fails, and a payment meets a 401 (misconfigured).
    ok(&put_creds(
        &svc,
        KEY_A,
        "stripe",
        &json!({"secret_key": wrong, "base_url": stripe.base_url}),
    )
    .await);
    assert_eq!(verify_creds(&svc, KEY_A, "stripe").await.status, 200);
    post_payment(&svc, KEY_A, "log-card-wrong", &card).await;
    ok(&put_creds(
        &svc,
        KEY_A,
        "stripe",
        &json!({"secret_key": rotated, "base_url": stripe.base_url}),
    )
    .await);
    stripe.rotate_api_key(rotated);
    assert_eq!(
        post_payment(&svc, KEY_A, "log-card-2", &card).await.status,
        201
    );
    for body in [
        json!({"secret_key": refused, "extra": refused}),
        json!({"secret_key": [refused]}),
        json!({"secret_key": refused, "webhook_secret": refused}),
    ] {
        assert_eq!(put_creds(&svc, KEY_A, "stripe", &body).await.status, 400);
    }
    let truncated = format!("{{\"secret_key\": \"{refused}");
    call(
        &svc,
        KEY_A,
        http::Method::PUT,
        "/v1/gateways/stripe/credentials",
        &truncated,
    )
    .await;
    for g in ["stripe", "asaas", "efi"] {
        ok(&delete_creds(&svc, KEY_A, g).await);
    }
    vec![
        stripe.api_key.clone(),
        whsec.into(),
        asaas.token.clone(),
        asaas_token.into(),
        efi.client_secret.clone(),
        password.into(),
        p12,
        rotated.into(),
        wrong.into(),
        refused.into(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_reaches_the_logs() {
    std::env::set_var("RUST_LOG", "debug");
    let logs = Captured::default();
    let sink = logs.clone();
    tracing::subscriber::set_global_default(shared::telemetry::json_logs_to(move || sink.clone()))
        .expect("subscriber");
    let mut secrets = flow(Backend::Memory).await;
    secrets.extend(flow(Backend::Dynamo).await);

    let text =
        String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|e| e.into_inner())).to_string();
    assert!(
        text.contains("gateway credentials stored")
            && text.contains("gateway credentials verified"),
        "the flow was logged"
    );
    assert!(text.contains("gateway_call"), "gateway calls were logged");
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a credential ({} characters) leaked into the logs",
            secret.len()
        );
    }
}
