//! Gateway credentials registered by API and stored encrypted (memory + a local key; the
//! tenants table on moto + KMS on moto): they drive the real Stripe, Asaas and EFI clients
//! against the fake gateways; stored records and answers hold no secret; a rotation reaches
//! this instance at once and another one after its TTL; DELETE leaves the (now live) tenant
//! without the gateway, never on a simulator;
//! verify; bodies refused by field; other tenants see nothing.

use integration_tests::credentials::{
    delete_creds, get_creds, moto_kms_key, put_creds, verify_creds, CredentialSetup,
};
use integration_tests::fakes::asaas::FakeAsaas;
use integration_tests::fakes::efi::{FakeEfi, TestPki};
use integration_tests::fakes::stripe::FakeStripe;
use integration_tests::{json, kms_client, on_both_backends, pix_body, post_payment, Backend};
use integration_tests::{KEY_A, KEY_B};
use serde_json::json;
use shared::adapters::aws::KmsCipher;
use shared::domain::{mask, TenantId};
use shared::ports::{CipherError, CredentialCipher, EncryptionContext};
use std::time::Duration;

fn card(amount: i64) -> serde_json::Value {
    json!({"amount": amount, "currency": "BRL", "method": "card", "gateway": "stripe",
        "card": {"tokens": {"stripe": "pm_card_visa"}}})
}

fn tid(id: &str) -> TenantId {
    TenantId::parse(id).unwrap()
}

async fn live_gateways(s: &CredentialSetup, id: &str) -> Vec<String> {
    s.h.stores
        .tenants
        .get(&tid(id))
        .await
        .unwrap()
        .unwrap()
        .live_gateways
}

async fn stripe_credentials_lifecycle(b: Backend) {
    let s = CredentialSetup::new(b).await;
    let fake = FakeStripe::start().await;
    let svc = s.instance(Duration::from_secs(30));
    // Another instance, which re-reads the credential's version on every use.
    let other = s.instance(Duration::ZERO);
    let key1 = fake.api_key.clone();
    let whsec = "whsec_registered_by_api_0123456789";

    assert_eq!(get_creds(&svc, KEY_A, "stripe").await.status, 404);
    assert_eq!(
        put_creds(&svc, KEY_A, "paypal", &json!({"secret_key": key1}))
            .await
            .status,
        404,
        "unknown gateway"
    );

    let r = put_creds(
        &svc,
        KEY_A,
        "stripe",
        &json!({"secret_key": key1, "webhook_secret": whsec, "base_url": fake.base_url}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.contains(&key1) && !r.body.contains(whsec),
        "{}",
        r.body
    );
    let v = json(&r);
    assert_eq!(v["version"], 1);
    assert_eq!(v["credentials"]["secret_key"], mask(&key1));
    assert_eq!(v["credentials"]["secret_key"], "sk****89");
    assert_eq!(v["credentials"]["webhook_secret"], mask(whsec));
    assert_eq!(v["credentials"]["base_url"], fake.base_url.as_str());
    assert_eq!(v["live"], true);
    assert_eq!(v["fingerprint"].as_str().unwrap().len(), 16);
    assert!(v["updated_at"].as_str().unwrap().ends_with('Z'));

    let g = get_creds(&svc, KEY_A, "stripe").await;
    assert_eq!(g.status, 200);
    assert!(!g.body.contains(&key1) && !g.body.contains(whsec));
    assert_eq!(json(&g)["credentials"], v["credentials"]);

    let tenant =
        s.h.stores
            .tenants
            .get(&tid("ten_a"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(tenant.live_gateways, vec!["stripe".to_string()]);
    assert_eq!(tenant.webhook_secrets.stripe, vec![whsec.to_string()]);
    s.assert_stored_without(&[&key1, whsec]).await;

    // A payment goes through the real client, on this instance and another.
    for (instance, idem) in [(&svc, "cred-1"), (&other, "cred-2")] {
        let p = json(&post_payment(instance, KEY_A, idem, &card(2500)).await);
        assert_eq!(p["status"], "succeeded", "{p}");
        assert!(p["gateway_payment_id"]
            .as_str()
            .unwrap()
            .starts_with("pi_fake"));
    }
    assert_eq!(fake.intents_created(), 2);
    assert_eq!(s.h.stripe.create_calls(), 0, "the simulator was not used");

    let ok = verify_creds(&svc, KEY_A, "stripe").await;
    assert_eq!(
        (ok.status, json(&ok)["ok"].as_bool()),
        (200, Some(true)),
        "{}",
        ok.body
    );

    // Tenant B sees none of it, and its payments stay on the simulator.
    assert_eq!(get_creds(&svc, KEY_B, "stripe").await.status, 404);
    assert_eq!(verify_creds(&svc, KEY_B, "stripe").await.status, 404);
    assert_eq!(delete_creds(&svc, KEY_B, "stripe").await.status, 404);
    let pb = json(&post_payment(&svc, KEY_B, "cred-b", &card(2500)).await);
    assert!(pb["gateway_payment_id"]
        .as_str()
        .unwrap()
        .starts_with("sim_stripe_"));
    assert_eq!(
        get_creds(&svc, KEY_A, "stripe").await.status,
        200,
        "A's are intact"
    );

    // Rotation: version 2; the fake accepts only the new key from now on. Both instances'
    // next payments use it (this one dropped its client; the other saw the new version).
    let key2 = "sk_test_rotated_key_9876543210";
    let r = put_creds(
        &svc,
        KEY_A,
        "stripe",
        &json!({"secret_key": key2, "base_url": fake.base_url}),
    )
    .await;
    assert_eq!(
        (r.status, json(&r)["version"].as_u64()),
        (200, Some(2)),
        "{}",
        r.body
    );
    assert_ne!(json(&r)["fingerprint"], v["fingerprint"]);
    fake.rotate_api_key(key2);
    for (instance, idem) in [(&svc, "cred-3"), (&other, "cred-4")] {
        let p = json(&post_payment(instance, KEY_A, idem, &card(2600)).await);
        assert_eq!(
            (p["status"].as_str(), p["gateway"].as_str()),
            (Some("succeeded"), Some("stripe")),
            "{p}"
        );
    }
    assert_eq!(fake.intents_created(), 4);
    assert!(fake.requests_with_key(key2) >= 2);
    assert_eq!(
        s.h.stores
            .tenants
            .get(&tid("ten_a"))
            .await
            .unwrap()
            .unwrap()
            .webhook_secrets
            .stripe,
        vec![whsec.to_string()],
        "a PUT without webhook_secret keeps the tenant's"
    );

    // A key the gateway refuses: verify says so, classified, without quoting it.
    let wrong = "sk_test_wrong_key_000000000000";
    let r = put_creds(
        &svc,
        KEY_A,
        "stripe",
        &json!({"secret_key": wrong, "base_url": fake.base_url}),
    )
    .await;
    assert_eq!(json(&r)["version"], 3);
    let bad = verify_creds(&svc, KEY_A, "stripe").await;
    assert_eq!(bad.status, 200);
    let bv = json(&bad);
    assert_eq!(bv["ok"], false, "{bv}");
    assert_eq!(bv["error"]["class"], "misconfigured", "{bv}");
    assert!(!bad.body.contains(wrong));
    s.assert_stored_without(&[&key1, key2, wrong, whsec]).await;

    // DELETE: registering credentials made this tenant live, and a live tenant never falls
    // back to a simulator: without credentials, Stripe is not configured (422), nothing is
    // charged anywhere. (Tenant B, a test tenant, keeps its simulator, as above.)
    let d = delete_creds(&svc, KEY_A, "stripe").await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(
        (json(&d)["deleted"].as_bool(), json(&d)["version"].as_u64()),
        (Some(true), Some(4))
    );
    assert_eq!(get_creds(&svc, KEY_A, "stripe").await.status, 404);
    assert_eq!(verify_creds(&svc, KEY_A, "stripe").await.status, 404);
    assert_eq!(delete_creds(&svc, KEY_A, "stripe").await.status, 404);
    assert!(live_gateways(&s, "ten_a").await.is_empty());
    let r = post_payment(&svc, KEY_A, "cred-5", &card(2700)).await;
    assert_eq!(
        (r.status, json(&r)["error"]["code"].as_str()),
        (422, Some("gateway_not_configured")),
        "{}",
        r.body
    );
    assert_eq!(s.h.stripe.create_calls(), 1, "only tenant B's payment");
    assert_eq!(fake.intents_created(), 4);
    s.assert_stored_without(&[&key1, key2, wrong, whsec]).await;

    // Registered again: the version keeps counting.
    let r = put_creds(
        &svc,
        KEY_A,
        "stripe",
        &json!({"secret_key": key2, "base_url": fake.base_url}),
    )
    .await;
    assert_eq!(json(&r)["version"], 5);
}

async fn asaas_and_efi_drive_their_real_clients(b: Backend) {
    use base64::Engine;
    let s = CredentialSetup::new(b).await;
    let svc = s.instance(Duration::from_secs(30));
    let asaas = FakeAsaas::start().await;
    let token = "asaas-webhook-token-0123456789abcdef";
    let r = put_creds(
        &svc,
        KEY_A,
        "asaas",
        &json!({"api_key": asaas.token, "webhook_token": token, "base_url": asaas.base_url}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains(&asaas.token) && !r.body.contains(token));
    let mut boleto = pix_body(3300);
    boleto["method"] = "boleto".into();
    boleto["gateway"] = "asaas".into();
    let p = json(&post_payment(&svc, KEY_A, "asaas-1", &boleto).await);
    assert_eq!(
        (p["status"].as_str(), p["gateway"].as_str()),
        (Some("pending"), Some("asaas")),
        "{p}"
    );
    assert_eq!(
        asaas.payments_created(),
        1,
        "the real client reached the fake Asaas"
    );
    assert_eq!(json(&verify_creds(&svc, KEY_A, "asaas").await)["ok"], true);
    let t =
        s.h.stores
            .tenants
            .get(&tid("ten_a"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(t.webhook_secrets.asaas_token.as_deref(), Some(token));

    let pki = TestPki::generate();
    let efi = FakeEfi::start(&pki).await;
    let password = "p12-passphrase-42";
    let p12 =
        base64::engine::general_purpose::STANDARD.encode(pki.client_pkcs12_with_password(password));
    let body = |secret: &str, pw: &str| {
        json!({"client_id": efi.client_id, "client_secret": secret, "certificate_p12": p12,
            "certificate_password": pw, "pix_key": efi.pix_key, "base_url": efi.base_url,
            "ca_pem": pki.ca_pem})
    };
    let wrong_pw = put_creds(
        &svc,
        KEY_A,
        "efi",
        &body(&efi.client_secret, "not-the-passphrase"),
    )
    .await;
    assert_eq!(wrong_pw.status, 400, "{}", wrong_pw.body);
    assert_eq!(json(&wrong_pw)["error"]["param"], "certificate_p12");
    assert!(!wrong_pw.body.contains("not-the-passphrase"));
    let r = put_creds(&svc, KEY_A, "efi", &body(&efi.client_secret, password)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for secret in [efi.client_secret.as_str(), password, p12.as_str()] {
        assert!(!r.body.contains(secret));
    }
    let p = json(&post_payment(&svc, KEY_A, "efi-1", &pix_body(4400)).await);
    assert_eq!(
        (p["status"].as_str(), p["gateway"].as_str()),
        (Some("pending"), Some("efi")),
        "{p}"
    );
    assert_eq!(
        efi.cobs_created(),
        1,
        "the real client reached the fake EFI over mTLS"
    );
    let before = efi.token_requests();
    assert_eq!(json(&verify_creds(&svc, KEY_A, "efi").await)["ok"], true);
    assert_eq!(
        efi.token_requests(),
        before + 1,
        "verify asks for a new token"
    );
    let bad_secret = "efi-client-secret-that-is-wrong";
    put_creds(&svc, KEY_A, "efi", &body(bad_secret, password)).await;
    let v = json(&verify_creds(&svc, KEY_A, "efi").await);
    assert_eq!(
        (v["ok"].as_bool(), v["error"]["class"].as_str()),
        (Some(false), Some("misconfigured")),
        "{v}"
    );
    assert!(!v.to_string().contains(bad_secret));

    let mut live = live_gateways(&s, "ten_a").await;
    live.sort();
    assert_eq!(live, vec!["asaas".to_string(), "efi".to_string()]);
    s.assert_stored_without(&[
        &asaas.token,
        token,
        &efi.client_secret,
        bad_secret,
        password,
        &p12,
        &efi.client_id,
        &efi.pix_key,
    ])
    .await;
}

async fn bodies_are_refused_by_field_without_echo(b: Backend) {
    let s = CredentialSetup::new(b).await;
    let svc = s.instance(Duration::from_secs(30));
    let leak = "sk_live_must_not_be_echoed_123";
    for (gateway, body, param) in [
        ("stripe", json!({}), "secret_key"),
        (
            "stripe",
            json!({"secret_key": 12345678901234u64}),
            "secret_key",
        ),
        (
            "stripe",
            json!({"secret_key": "pk_live_publishable_1234567"}),
            "secret_key",
        ),
        (
            "stripe",
            json!({"secret_key": "sk_live with spaces"}),
            "secret_key",
        ),
        (
            "stripe",
            json!({"secret_key": leak, "webhook_secret": "not-a-whsec-value"}),
            "webhook_secret",
        ),
        ("stripe", json!({"secret_key": leak, "extra": leak}), "body"),
        (
            "stripe",
            json!({"secret_key": leak, "base_url": "ftp://x"}),
            "base_url",
        ),
        ("stripe", json!([leak]), "body"),
        ("asaas", json!({"api_key": ""}), "api_key"),
        (
            "asaas",
            json!({"api_key": leak, "webhook_token": [leak]}),
            "webhook_token",
        ),
        (
            "efi",
            json!({"client_id": "a", "client_secret": leak, "pix_key": "k", "certificate_p12": "!!!"}),
            "certificate_p12",
        ),
        (
            "efi",
            json!({"client_id": "a", "client_secret": leak, "certificate_p12": "AAAA"}),
            "pix_key",
        ),
    ] {
        let r = put_creds(&svc, KEY_A, gateway, &body).await;
        assert_eq!(r.status, 400, "{gateway} {body}: {}", r.body);
        let e = &json(&r)["error"];
        // A refusal of the whole body (or of a field whose name may be a pasted secret)
        // names no field.
        let want = if param == "body" {
            serde_json::Value::Null
        } else {
            param.into()
        };
        assert_eq!(e["param"], want, "{gateway} {body}: {}", r.body);
        assert!(
            !r.body.contains("must_not_be_echoed")
                && !r.body.contains("12345678901234")
                && !r.body.contains("publishable_1234567"),
            "{}",
            r.body
        );
    }
    let raw = integration_tests::credentials::call(
        &svc,
        KEY_A,
        http::Method::PUT,
        "/v1/gateways/stripe/credentials",
        "{\"secret_key\": \"sk_live_must_not_be_echoed",
    )
    .await;
    assert_eq!(raw.status, 400);
    assert!(!raw.body.contains("must_not_be_echoed"));
    let none = integration_tests::credentials::call(
        &svc,
        "sk_wrong",
        http::Method::GET,
        "/v1/gateways/stripe/credentials",
        "",
    )
    .await;
    assert_eq!(none.status, 401);
    let wrong_method = integration_tests::credentials::call(
        &svc,
        KEY_A,
        http::Method::POST,
        "/v1/gateways/stripe/credentials",
        "{}",
    )
    .await;
    assert_eq!(wrong_method.status, 405);
    assert!(
        live_gateways(&s, "ten_a").await.is_empty(),
        "refused bodies change nothing"
    );
    // A deployment that allows only the gateways' own hosts refuses a local base_url.
    let strict = shared::service::credentials::CredentialVault::new(
        std::sync::Arc::new(shared::adapters::memory::MemorySealedCredentials::default()),
        std::sync::Arc::new(shared::adapters::memory::LocalKeyCipher::random()),
    );
    let svc2 = shared::service::Orchestrator::new(
        s.h.stores.idempotency.clone(),
        s.h.stores.payments.clone(),
        s.h.stores.tenants.clone(),
        s.h.registry(),
        s.h.clock.clone(),
        shared::service::ServiceConfig::default(),
    )
    .with_live_gateways(std::sync::Arc::new(
        shared::gateways::live::LiveGateways::with_vault(std::sync::Arc::new(strict), None),
    ));
    let r = put_creds(
        &svc2,
        KEY_A,
        "stripe",
        &json!({"secret_key": leak, "base_url": "http://127.0.0.1:1"}),
    )
    .await;
    assert_eq!(
        (r.status, json(&r)["error"]["param"].as_str()),
        (400, Some("base_url")),
        "{}",
        r.body
    );
    let r = put_creds(
        &svc2,
        KEY_A,
        "stripe",
        &json!({"secret_key": leak, "base_url": "https://api.stripe.com"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

on_both_backends!(
    stripe_credentials_lifecycle,
    asaas_and_efi_drive_their_real_clients,
    bodies_are_refused_by_field_without_echo
);

/// KMS (on moto) refuses a data key asked for under another encryption context.
#[tokio::test]
async fn kms_data_keys_are_bound_to_their_context() {
    let cipher = KmsCipher::new(kms_client(), moto_kms_key().await);
    let a = EncryptionContext::new(&tid("ten_a"), "stripe");
    let dk = cipher.generate_data_key(&a).await.unwrap();
    assert!(dk.key_id.starts_with("arn:"), "{}", dk.key_id);
    let back = cipher
        .decrypt_data_key(&dk.key_id, &dk.encrypted, &a)
        .await
        .unwrap();
    assert_eq!(back.as_slice(), dk.plaintext.as_slice());
    for other in [
        EncryptionContext::new(&tid("ten_b"), "stripe"),
        EncryptionContext::new(&tid("ten_a"), "asaas"),
    ] {
        assert_eq!(
            cipher
                .decrypt_data_key(&dk.key_id, &dk.encrypted, &other)
                .await,
            Err(CipherError::Rejected)
        );
    }
}
