//! Issue 29, defect 2: a forged "paid" is not believed. EFI and Asaas webhooks carry no body
//! signature — only a static shared value (EFI's `hmac` query value, Asaas's access token)
//! authenticates them — so the worker treats a report of money for a live payment as a hint:
//! it reads the charge at the gateway through the payment's own account first. A forged Asaas
//! `PAYMENT_RECEIVED` and a forged EFI Pix notification, each with the right shared value,
//! change nothing, send no event and are recorded as unconfirmed; the same notifications once
//! the gateway holds the money settle the payment, once. Without the confirmation (the
//! previous main) both forgeries made the payment `succeeded` with a `payment.succeeded`.

use integration_tests::credentials::{
    CredentialSetup, LiveFakes, FAKES_ASAAS_TOKEN, FAKES_EFI_HMAC,
};
use integration_tests::pipeline::{drain_memory_queue, post_webhook};
use integration_tests::{get_path, json, on_both_backends, pix_body, post_payment, Backend, KEY_A};
use serde_json::{json, Value};
use shared::adapters::memory::MemoryQueue;
use shared::service::webhooks::{RetrySchedule, TenantCache, WebhookReceiver, WebhookWorker};
use std::sync::Arc;
use std::time::Duration;

const EFI_HMAC: &str = FAKES_EFI_HMAC;
const ASAAS_TOKEN: &str = FAKES_ASAAS_TOKEN;

/// The receiver's answer to one webhook.
async fn status(rx: &WebhookReceiver, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    post_webhook(rx, path, headers, body).await.status
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
    let LiveFakes { asaas, efi, .. } = LiveFakes::register(&svc, KEY_A, &["efi", "asaas"]).await;
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
    let drain = || drain_memory_queue(&queue, &worker);
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
        status(
            &rx,
            &efi_hook,
            &[],
            &efi_event("E00000000202611211340FORGED01")
        )
        .await,
        200
    );
    assert_eq!(
        status(
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
        status(
            &rx,
            &efi_hook,
            &[],
            &efi_event("E18236120202611211340s0REAL01")
        )
        .await,
        200
    );
    assert_eq!(
        status(
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

/// The refunded amount and status of a payment, and its merchant event types.
async fn refund_state(svc: &shared::service::Orchestrator, id: &str) -> (String, i64, Vec<String>) {
    let p = json(&get_path(svc, KEY_A, &format!("/v1/payments/{id}")).await);
    let (status, events) = status_and_events(svc, id).await;
    (status, p["refunded_amount"].as_i64().unwrap_or(-1), events)
}

/// The unmatched webhooks recorded as unconfirmed refunds.
async fn unconfirmed_refunds(svc: &shared::service::Orchestrator) -> Vec<String> {
    let unmatched = json(&get_path(svc, KEY_A, "/v1/webhooks/unmatched?limit=100").await);
    unmatched["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|w| w["reported"].as_str().map(str::to_string))
        .filter(|r| r.starts_with("unconfirmed: reported refunded"))
        .collect()
}

/// Issue 31: a forged refund report is not believed either. A "refund succeeded" (EFI
/// devolução `DEVOLVIDO`, Asaas `PAYMENT_PARTIALLY_REFUNDED` with a done entry) or an Asaas
/// "refunded in full" for a live payment is applied only once the gateway, read through the
/// payment's account, shows at least that much refunded. Before, each forgery recorded a
/// refund, moved the payment to `partially_refunded`/`refunded` and told the merchant
/// `refund.succeeded` with no money returned.
async fn forged_refund_reports_change_nothing_and_real_ones_apply_once(backend: Backend) {
    let s = CredentialSetup::new(backend).await;
    let svc = Arc::new(s.instance(Duration::from_secs(30)));
    let LiveFakes { asaas, efi, .. } = LiveFakes::register(&svc, KEY_A, &["efi", "asaas"]).await;
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
    let drain = || drain_memory_queue(&queue, &worker);
    let efi_hook = format!("/webhooks/efi/ten_a?hmac={EFI_HMAC}&ignorar=/pix");
    let asaas_hook = "/webhooks/asaas/ten_a";
    let asaas_auth = [("asaas-access-token", ASAAS_TOKEN)];

    // A paid Pix at each gateway, settled by its (confirmed) webhook.
    let mut ids = std::collections::BTreeMap::new();
    for gateway in ["efi", "asaas"] {
        let mut b = pix_body(2590);
        b["gateway"] = gateway.into();
        let r = post_payment(&svc, KEY_A, &format!("uwr-{gateway}"), &b).await;
        assert_eq!(r.status, 201, "{gateway}: {}", r.body);
        let p = json(&r);
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
    efi.pay(&txid);
    asaas.set_payment_status(&asaas_pay, "RECEIVED");
    let e2e = "E18236120202611211340s0RFND01";
    let efi_event = |devolucoes: Value| {
        json!({"pix": [{"endToEndId": e2e, "txid": txid, "chave": efi.pix_key,
            "valor": "25.90", "horario": "2026-11-21T13:40:34.000Z", "devolucoes": devolucoes}]})
        .to_string()
    };
    let devolucao = |id: &str, valor: &str| {
        json!({"id": id, "rtrId": format!("D{id}"), "valor": valor, "status": "DEVOLVIDO",
            "horario": {"solicitacao": "2026-11-22T10:00:00.000Z"}})
    };
    let asaas_event = |id: &str, event: &str, refunds: Value| {
        json!({"id": id, "event": event,
            "payment": {"object": "payment", "id": asaas_pay, "status": "RECEIVED", "value": 25.90,
                "billingType": "PIX", "externalReference": asaas_id, "refunds": refunds}})
        .to_string()
    };
    let done = |value: f64, created: &str| json!([{"status": "DONE", "value": value, "dateCreated": created, "description": null}]);
    assert_eq!(
        status(&rx, &efi_hook, &[], &efi_event(json!([]))).await,
        200
    );
    assert_eq!(
        status(
            &rx,
            asaas_hook,
            &asaas_auth,
            &asaas_event("evt_paid_1", "PAYMENT_RECEIVED", Value::Null)
        )
        .await,
        200
    );
    drain().await;
    for id in [&efi_id, &asaas_id] {
        assert_eq!(refund_state(&svc, id).await.0, "succeeded", "{id}");
    }

    // Forged: the right shared values, nothing refunded at either gateway.
    for (hook, headers, body) in [
        (
            efi_hook.as_str(),
            &[][..],
            efi_event(json!([devolucao("DFORGED1", "10.00")])),
        ),
        (
            asaas_hook,
            &asaas_auth[..],
            asaas_event(
                "evt_forged_part",
                "PAYMENT_PARTIALLY_REFUNDED",
                done(10.0, "2026-11-22 10:00:00"),
            ),
        ),
        (
            asaas_hook,
            &asaas_auth[..],
            asaas_event("evt_forged_full", "PAYMENT_REFUNDED", Value::Null),
        ),
    ] {
        assert_eq!(status(&rx, hook, headers, &body).await, 200, "{body}");
    }
    drain().await;
    for id in [&efi_id, &asaas_id] {
        let (st, refunded, events) = refund_state(&svc, id).await;
        assert_eq!((st.as_str(), refunded), ("succeeded", 0), "{id}: moved");
        assert!(
            !events.iter().any(|t| t.starts_with("refund.")),
            "{id}: {events:?}"
        );
    }
    let refused = unconfirmed_refunds(&svc).await;
    assert_eq!(refused.len(), 3, "each forgery recorded: {refused:?}");

    // Real: the money went back at the gateway (outside the API); the same kind of report
    // applies once, however often it is delivered.
    efi.refund_outside(&txid, "DREAL1", 1000);
    asaas.refund_outside(&asaas_pay, 1000);
    let efi_real = efi_event(json!([devolucao("DREAL1", "10.00")]));
    let asaas_real = asaas_event(
        "evt_real_part",
        "PAYMENT_PARTIALLY_REFUNDED",
        done(10.0, "2026-11-22 11:00:00"),
    );
    for _ in 0..2 {
        assert_eq!(status(&rx, &efi_hook, &[], &efi_real).await, 200);
        assert_eq!(status(&rx, asaas_hook, &asaas_auth, &asaas_real).await, 200);
        drain().await;
    }
    for id in [&efi_id, &asaas_id] {
        let (st, refunded, events) = refund_state(&svc, id).await;
        assert_eq!(
            (st.as_str(), refunded),
            ("partially_refunded", 1000),
            "{id}"
        );
        assert_eq!(
            events.iter().filter(|t| *t == "refund.succeeded").count(),
            1,
            "{id}: {events:?}"
        );
    }

    // More than the gateway shows: a second devolução EFI does not list is refused too.
    assert_eq!(
        status(
            &rx,
            &efi_hook,
            &[],
            &efi_event(json!([
                devolucao("DREAL1", "10.00"),
                devolucao("DFORGED2", "5.00")
            ]))
        )
        .await,
        200
    );
    drain().await;
    assert_eq!(refund_state(&svc, &efi_id).await.1, 1000);
    assert_eq!(unconfirmed_refunds(&svc).await.len(), 4);

    // Asaas refunds the rest: "refunded in full" now applies, once.
    asaas.refund_outside(&asaas_pay, 1590);
    let full = asaas_event("evt_real_full", "PAYMENT_REFUNDED", Value::Null);
    for _ in 0..2 {
        assert_eq!(status(&rx, asaas_hook, &asaas_auth, &full).await, 200);
        drain().await;
    }
    let (st, refunded, events) = refund_state(&svc, &asaas_id).await;
    assert_eq!((st.as_str(), refunded), ("refunded", 2590));
    assert_eq!(
        events.iter().filter(|t| *t == "refund.succeeded").count(),
        2,
        "{events:?}"
    );
    assert_eq!(unconfirmed_refunds(&svc).await.len(), 4);
}

on_both_backends!(forged_refund_reports_change_nothing_and_real_ones_apply_once);

/// A forged "canceled" (Asaas `PAYMENT_DELETED`) for a live, still payable Pix is not believed
/// either: it would tell the merchant a charge the payer can still pay is dead. The payment
/// stays `pending`, no event goes out, and the report is recorded; once the charge really is
/// removed at Asaas the same report cancels it, once.
async fn a_forged_cancel_changes_nothing_and_a_real_one_applies(backend: Backend) {
    let s = CredentialSetup::new(backend).await;
    let svc = Arc::new(s.instance(Duration::from_secs(30)));
    let LiveFakes { asaas, .. } = LiveFakes::register(&svc, KEY_A, &["asaas"]).await;
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
    let mut b = pix_body(2590);
    b["gateway"] = "asaas".into();
    let r = post_payment(&svc, KEY_A, "uw-cancel", &b).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = json(&r);
    let id = p["id"].as_str().expect("id").to_string();
    let pay = p["gateway_payment_id"].as_str().expect("gid").to_string();
    let deleted = |eid: &str| {
        json!({"id": eid, "event": "PAYMENT_DELETED",
            "payment": {"object": "payment", "id": pay, "status": "PENDING", "value": 25.90,
                "billingType": "PIX", "externalReference": id, "deleted": true}})
        .to_string()
    };
    let auth = [("asaas-access-token", ASAAS_TOKEN)];
    assert_eq!(
        status(
            &rx,
            "/webhooks/asaas/ten_a",
            &auth,
            &deleted("evt_forged_del")
        )
        .await,
        200
    );
    drain_memory_queue(&queue, &worker).await;
    let (st, events) = status_and_events(&svc, &id).await;
    assert_eq!(st, "pending", "a forged cancel moved it");
    assert_eq!(events, ["payment.pending"]);
    let unmatched = json(&get_path(&svc, KEY_A, "/v1/webhooks/unmatched?limit=100").await);
    assert!(
        unmatched["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["reported"]
                .as_str()
                .is_some_and(|r| r.starts_with("unconfirmed: reported canceled"))),
        "{unmatched}"
    );
    // Removed at Asaas for real (its own API), then the same kind of report: applied once.
    let removed = reqwest::Client::new()
        .delete(format!("{}/v3/payments/{pay}", asaas.base_url))
        .header("access_token", asaas.token.clone())
        .header("user-agent", "integration-tests")
        .send()
        .await
        .expect("delete at the fake");
    assert!(removed.status().is_success(), "{}", removed.status());
    for _ in 0..2 {
        assert_eq!(
            status(
                &rx,
                "/webhooks/asaas/ten_a",
                &auth,
                &deleted("evt_real_del")
            )
            .await,
            200
        );
    }
    drain_memory_queue(&queue, &worker).await;
    let (st, events) = status_and_events(&svc, &id).await;
    assert_eq!(st, "canceled");
    assert_eq!(
        events.iter().filter(|t| *t == "payment.canceled").count(),
        1,
        "{events:?}"
    );
}

on_both_backends!(a_forged_cancel_changes_nothing_and_a_real_one_applies);
