//! Issue 31: a live tenant's EFI webhook needs more than the static `hmac` in its URL. EFI's
//! docs pair it with mutual TLS at the receiver, or with the source-IP allowlist of EFI's
//! sending address; the receiver refuses (401, nothing enqueued) a live tenant's EFI webhook
//! unless its source IP is on the tenant's `webhook_secrets.efi_allowed_ips` or it came over
//! mutual TLS with a client certificate from the issuer the deployment names
//! (`EFI_MTLS_ISSUER_DN`). Registering live EFI credentials with a `webhook_hmac` sets the
//! allowlist from `webhook_allowed_ips`, which a deployment without mutual TLS requires. Test
//! twins keep the `hmac` alone. Before, anyone holding the `hmac` could post from anywhere.

use integration_tests::credentials::{get_creds, CredentialSetup, LiveFakes, FAKES_EFI_HMAC};
use integration_tests::pipeline::{post_webhook_from, WEBHOOK_SOURCE_IP};
use integration_tests::{json, on_both_backends, Backend, KEY_A};
use shared::adapters::memory::MemoryQueue;
use shared::domain::TenantId;
use shared::service::webhooks::{TenantCache, WebhookReceiver};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The issuer DN of EFI's webhook client certificates, as this deployment names it.
const EFI_DN: &str = "CN=EFI Webhooks CA,O=Efi S.A.,C=BR";

async fn live_efi_webhooks_need_a_listed_ip_or_mutual_tls(backend: Backend) {
    let s = CredentialSetup::new(backend).await;
    let svc = Arc::new(s.instance(Duration::from_secs(30)));
    let _fakes = LiveFakes::register(&svc, KEY_A, &["efi"]).await;
    let tid = TenantId::parse("ten_a").expect("id");
    let tenant =
        s.h.stores
            .tenants
            .get(&tid)
            .await
            .expect("get")
            .expect("tenant");
    assert!(tenant.livemode());
    assert_eq!(
        tenant.webhook_secrets.efi_allowed_ips,
        vec![WEBHOOK_SOURCE_IP],
        "set from webhook_allowed_ips"
    );
    let shown = json(&get_creds(&svc, KEY_A, "efi").await);
    assert_eq!(
        shown["credentials"]["webhook_allowed_ips"],
        WEBHOOK_SOURCE_IP.to_string(),
        "{shown}"
    );

    let queue = Arc::new(MemoryQueue::new(3));
    let receiver = |issuer: Option<&str>| {
        let rx = WebhookReceiver::new(
            shared::gateways::webhooks::WebhookRegistry::standard(),
            TenantCache::new(s.h.stores.tenants.clone(), Duration::ZERO),
            queue.clone(),
            Arc::new(shared::clock::SystemClock),
        );
        match issuer {
            Some(dn) => rx.with_client_cert_issuer("efi", dn),
            None => rx,
        }
    };
    let rx = receiver(Some(EFI_DN));
    let hook = |tenant: &str| format!("/webhooks/efi/{tenant}?hmac={FAKES_EFI_HMAC}&ignorar=/pix");
    let body = r#"{"pix": []}"#;
    let other: IpAddr = "203.0.113.9".parse().expect("ip");
    let enqueued = || queue.len();

    // The tenant lists EFI's IP: only that source passes, with or without a certificate.
    for (ip, cert) in [
        (Some(other), None),
        (None, None),
        (Some(other), Some(EFI_DN)),
    ] {
        let r = post_webhook_from(&rx, &hook("ten_a"), &[], body, ip, cert).await;
        assert_eq!(r.status, 401, "{ip:?} {cert:?}: {}", r.body);
    }
    assert_eq!(enqueued(), 0, "nothing enqueued on a refusal");
    let r = post_webhook_from(
        &rx,
        &hook("ten_a"),
        &[],
        body,
        Some(WEBHOOK_SOURCE_IP),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(enqueued(), 1);

    // No allowlist (registered where the deployment verifies EFI's certificate): only a
    // certificate from EFI's issuer vouches for the sender.
    let mut t =
        s.h.stores
            .tenants
            .get(&tid)
            .await
            .expect("get")
            .expect("tenant");
    t.webhook_secrets.efi_allowed_ips.clear();
    s.h.stores.tenants.put(&t).await.expect("put");
    for (ip, cert, want) in [
        (Some(WEBHOOK_SOURCE_IP), None, 401),
        (None, None, 401),
        (None, Some("CN=Someone Else,O=Other,C=BR"), 401),
        (None, Some(EFI_DN), 200),
        (Some(other), Some(EFI_DN), 200),
    ] {
        let r = post_webhook_from(&rx, &hook("ten_a"), &[], body, ip, cert).await;
        assert_eq!(r.status, want, "{ip:?} {cert:?}: {}", r.body);
        if want == 401 {
            assert!(r.body.contains("mutual TLS"), "{}", r.body);
        }
    }
    assert_eq!(enqueued(), 3);
    // Without the deployment's setting (the dev server has no mutual TLS), a certificate
    // counts for nothing.
    let plain = receiver(None);
    let r = post_webhook_from(&plain, &hook("ten_a"), &[], body, None, Some(EFI_DN)).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // The test twin moves no money: the `hmac` alone, as before.
    let r = post_webhook_from(&plain, &hook("ten_a.test"), &[], body, None, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(enqueued(), 4);
}

on_both_backends!(live_efi_webhooks_need_a_listed_ip_or_mutual_tls);
