//! Issue 29, defect 2: a forged "paid" is not believed. EFI and Asaas webhooks carry no body
//! signature — only a static shared value (EFI's `hmac` query value, Asaas's access token)
//! authenticates them — so the worker treats a report of money for a live payment as a hint:
//! it reads the charge at the gateway through the payment's own account first. A forged Asaas
//! `PAYMENT_RECEIVED` and a forged EFI Pix notification, each with the right shared value,
//! change nothing, send no event and are recorded as unconfirmed; the same notifications once
//! the gateway holds the money settle the payment, once. Without the confirmation (the
//! previous main) both forgeries made the payment `succeeded` with a `payment.succeeded`.

use base64::Engine;
use bytes::Bytes;
use http::Method;
use integration_tests::credentials::{put_creds, CredentialSetup};
use integration_tests::fakes::{asaas::FakeAsaas, efi::FakeEfi, efi::TestPki};
use integration_tests::{get_path, json, on_both_backends, pix_body, post_payment, Backend, KEY_A};
use serde_json::{json, Value};
use shared::adapters::memory::MemoryQueue;
use shared::api::ApiRequest;
use shared::service::webhooks::{
    QueueMessage, RetrySchedule, TenantCache, WebhookReceiver, WebhookWorker,
};
use std::sync::Arc;
use std::time::Duration;

const EFI_HMAC: &str = "efi-hmac-unsigned-webhooks-test-0123456789";
const ASAAS_TOKEN: &str = "asaas-token-unsigned-webhooks-test-012345";

async fn post_webhook(
    rx: &WebhookReceiver,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> u16 {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path_and_query.to_string(), None),
    };
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            http::HeaderValue::from_str(v).expect("value"),
        );
    }
    shared::api::handle_webhook(
        rx,
        ApiRequest {
            method: Method::POST,
            path,
            query,
            headers: map,
            body: Bytes::copy_from_slice(body.as_bytes()),
            deadline: None,
            source_ip: None,
        },
    )
    .await
    .status
}

async fn status_and_events(svc: &shared::service::Orchestrator, id: &str) -> (String, Vec<String>) {
    let p = json(&get_path(svc, KEY_A, &format!("/v1/payments/{id}")).await);
    let e = json(&get_path(svc, KEY_A, &format!("/v1/events?payment_id={id}&limit=100")).await);
    let types = e["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_string())
        .collect();
    (p["status"].as_str().unwrap_or("").to_string(), types)
}

async fn forged_paid_reports_change_nothing_and_real_ones_settle(backend: Backend) {
    let s = CredentialSetup::new(backend).await;
    let svc = Arc::new(s.instance(Duration::from_secs(30)));
    let asaas = FakeAsaas::start().await;
    let pki = TestPki::generate();
    let efi = FakeEfi::start(&pki).await;
    let p12 = base64::engine::general_purpose::STANDARD.encode(pki.client_pkcs12());
    for (gateway, body) in [
        (
            "efi",
            json!({"client_id": efi.client_id, "client_secret": efi.client_secret,
                "certificate_p12": p12, "pix_key": efi.pix_key, "webhook_hmac": EFI_HMAC,
                "base_url": efi.base_url, "ca_pem": pki.ca_pem}),
        ),
        (
            "asaas",
            json!({"api_key": asaas.token, "webhook_token": ASAAS_TOKEN, "base_url": asaas.base_url}),
        ),
    ] {
        let r = put_creds(&svc, KEY_A, gateway, &body).await;
        assert_eq!(r.status, 200, "{gateway}: {}", r.body);
    }
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
    )
    .with_confirmer(svc.clone());
    let drain = || async {
        for _ in 0..20 {
            let batch: Vec<QueueMessage> = queue
                .receive(10, Duration::from_secs(60))
                .into_iter()
                .map(|m| QueueMessage {
                    message_id: m.message_id,
                    receipt_handle: m.receipt_handle,
                    body: m.body,
                    receive_count: m.receive_count,
                    trace_header: None,
                })
                .collect();
            if batch.is_empty() {
                return;
            }
            let failed = worker.process_batch(batch.clone()).await.expect("batch");
            assert!(failed.is_empty(), "worker failed {failed:?}");
            for m in &batch {
                queue.delete(&m.receipt_handle);
            }
        }
        panic!("queue did not drain");
    };

    // A pending Pix at each gateway.
    let mut ids = std::collections::BTreeMap::new();
    for gateway in ["efi", "asaas"] {
        let mut b = pix_body(2590);
        b["gateway"] = gateway.into();
        let r = post_payment(&svc, KEY_A, &format!("uw-{gateway}"), &b).await;
        assert_eq!(r.status, 201, "{gateway}: {}", r.body);
        let p = json(&r);
        assert_eq!(p["status"], "pending", "{p}");
        ids.insert(
            gateway,
            (
                p["id"].as_str().expect("id").to_string(),
                p["gateway_payment_id"].as_str().expect("gid").to_string(),
            ),
        );
    }
    let (efi_id, txid) = ids["efi"].clone();
    let (asaas_id, asaas_pay) = ids["asaas"].clone();
    let efi_event = |e2e: &str| {
        json!({"pix": [{"endToEndId": e2e, "txid": txid, "chave": efi.pix_key,
            "valor": "25.90", "horario": "2026-11-21T13:40:34.000Z"}]})
        .to_string()
    };
    let asaas_event = |id: &str| {
        json!({"id": id, "event": "PAYMENT_RECEIVED",
            "payment": {"object": "payment", "id": asaas_pay, "status": "RECEIVED", "value": 25.90,
                "billingType": "PIX", "externalReference": asaas_id}})
        .to_string()
    };
    let efi_hook = format!("/webhooks/efi/ten_a?hmac={EFI_HMAC}&ignorar=/pix");

    // Forged: the right shared values, no money at either gateway.
    assert_eq!(
        post_webhook(
            &rx,
            &efi_hook,
            &[],
            &efi_event("E00000000202611211340FORGED01")
        )
        .await,
        200
    );
    assert_eq!(
        post_webhook(
            &rx,
            "/webhooks/asaas/ten_a",
            &[("asaas-access-token", ASAAS_TOKEN)],
            &asaas_event("evt_forged_1")
        )
        .await,
        200
    );
    drain().await;
    for id in [&efi_id, &asaas_id] {
        let (status, events) = status_and_events(&svc, id).await;
        assert_eq!(status, "pending", "{id}: a forged report moved it");
        assert!(
            !events.iter().any(|t| t == "payment.succeeded"),
            "{id}: {events:?}"
        );
    }
    let unmatched = json(&get_path(&svc, KEY_A, "/v1/webhooks/unmatched?limit=100").await);
    let refused: Vec<&Value> = unmatched["data"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter(|w| w.to_string().contains("unconfirmed"))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        refused.len(),
        2,
        "each forgery recorded for people: {unmatched}"
    );

    // Real: the gateways hold the money; the same notifications settle each payment, once.
    efi.pay(&txid);
    asaas.set_payment_status(&asaas_pay, "RECEIVED");
    assert_eq!(
        post_webhook(
            &rx,
            &efi_hook,
            &[],
            &efi_event("E18236120202611211340s0REAL01")
        )
        .await,
        200
    );
    assert_eq!(
        post_webhook(
            &rx,
            "/webhooks/asaas/ten_a",
            &[("asaas-access-token", ASAAS_TOKEN)],
            &asaas_event("evt_real_1")
        )
        .await,
        200
    );
    drain().await;
    for id in [&efi_id, &asaas_id] {
        let (status, events) = status_and_events(&svc, id).await;
        assert_eq!(status, "succeeded", "{id}");
        assert_eq!(
            events.iter().filter(|t| *t == "payment.succeeded").count(),
            1,
            "{id}: {events:?}"
        );
    }
}

on_both_backends!(forged_paid_reports_change_nothing_and_real_ones_settle);
