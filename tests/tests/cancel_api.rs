//! `POST /v1/payments/{id}/cancel` and Pix `expires_in` through the router, on both backends.

use chrono::Duration;
use http::Method;
use integration_tests::pipeline::{Pipeline, ATTEMPTS};
use integration_tests::switchable::Switchable;
use integration_tests::{
    json, on_both_backends, pix_body, post_path, Backend, Harness, KEY_A, KEY_B,
};
use shared::adapters::memory::MemoryQueue;
use shared::domain::{PaymentStatus, TenantId};
use shared::ports::WebhookEnvelope;
use shared::service::webhooks::QueueMessage;
use shared::service::{Orchestrator, ServiceConfig};
use std::sync::Arc;

fn card(amount: i64) -> serde_json::Value {
    serde_json::json!({"amount": amount, "currency": "BRL", "method": "card", "card": {"tokens": {"stripe": "pm_card_visa"}}})
}

fn pix_at(gateway: &str) -> serde_json::Value {
    let mut b = pix_body(1990);
    b["gateway"] = gateway.into();
    b
}

async fn cancel(h: &Harness, key: &str, id: &str, idem: &str) -> shared::api::ApiResponse {
    cancel_with(h, key, id, idem, "").await
}

async fn cancel_with(
    h: &Harness,
    key: &str,
    id: &str,
    idem: &str,
    body: &str,
) -> shared::api::ApiResponse {
    let auth = format!("Bearer {key}");
    h.call(
        Method::POST,
        &format!("/v1/payments/{id}/cancel"),
        &[("authorization", &auth), ("idempotency-key", idem)],
        body.to_string(),
    )
    .await
}

/// The event types stored for a payment, oldest first.
async fn event_types(h: &Harness, id: &str) -> Vec<String> {
    let r = h.get(KEY_A, &format!("/v1/events?payment_id={id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut types: Vec<String> = json(&r)["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_string())
        .collect();
    types.reverse();
    types
}

fn s(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

async fn pending_pix_is_canceled_once_and_replayed(b: Backend) {
    let h = Harness::new(b).await;
    let p = json(&h.create(KEY_A, "pay-pix", &pix_body(1990)).await);
    assert_eq!(
        (p["status"].as_str(), p["gateway"].as_str()),
        (Some("pending"), Some("efi"))
    );
    let id = s(&p, "id");

    let r = cancel(&h, KEY_A, &id, "cancel-1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = json(&r);
    assert_eq!(body["status"], "canceled");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(h.efi.cancel_calls(), 1);
    assert!(
        h.efi.live_charges().is_empty(),
        "the charge is canceled at EFI"
    );

    let again = cancel(&h, KEY_A, &id, "cancel-1").await;
    assert_eq!((again.status, again.body.as_str()), (200, r.body.as_str()));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // Another key: the payment is canceled already, answered without a gateway call.
    let other = cancel(&h, KEY_A, &id, "cancel-2").await;
    assert_eq!(other.status, 200, "{}", other.body);
    assert_eq!(json(&other)["status"], "canceled");
    assert_eq!(other.header("idempotent-replayed"), None);
    // The same key with another body.
    let reused = cancel_with(&h, KEY_A, &id, "cancel-1", "{}").await;
    assert_eq!(
        (reused.status, json(&reused)["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(h.efi.cancel_calls(), 1, "one gateway cancel in all");

    let got = json(&h.get(KEY_A, &format!("/v1/payments/{id}")).await);
    assert_eq!(got["status"], "canceled");
    assert_eq!(got["version"], 2, "one write for the cancel");
    assert_eq!(
        event_types(&h, &id).await,
        ["payment.pending", "payment.canceled"]
    );
    // A refund of a canceled payment is refused.
    let auth = format!("Bearer {KEY_A}");
    let refund = h
        .call(
            Method::POST,
            &format!("/v1/payments/{id}/refunds"),
            &[("authorization", &auth), ("idempotency-key", "r")],
            "",
        )
        .await;
    assert_eq!(refund.status, 422);
}

async fn requires_action_card_is_canceled(b: Backend) {
    let h = Harness::new(b).await;
    let p = json(&h.create(KEY_A, "pay-3ds", &card(1057)).await);
    assert_eq!(p["status"], "requires_action");
    assert!(p["next_action"].is_object());
    let id = s(&p, "id");
    let r = cancel(&h, KEY_A, &id, "c").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = json(&r);
    assert_eq!(body["status"], "canceled");
    assert!(body["next_action"].is_null());
    assert_eq!(h.stripe.cancel_calls(), 1);
    assert_eq!(
        event_types(&h, &id).await,
        ["payment.requires_action", "payment.canceled"]
    );
}

async fn refusals_call_no_gateway_and_free_the_key(b: Backend) {
    let h = Harness::new(b).await;
    let paid = json(&h.create(KEY_A, "pay-card", &card(5000)).await);
    let cid = s(&paid, "id");
    assert_eq!(paid["status"], "succeeded");
    let pix = json(&h.create(KEY_A, "pay-pix", &pix_body(1990)).await);
    let pid = s(&pix, "id");
    let records = h.stores.idempotency_count().await;

    let r = cancel(&h, KEY_A, &cid, "ck").await;
    let e = json(&r);
    assert_eq!(
        (
            r.status,
            e["error"]["type"].as_str(),
            e["error"]["code"].as_str()
        ),
        (422, Some("invalid_request"), Some("invalid_state"))
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("succeeded"),
        "{e}"
    );
    assert_eq!(h.stripe.cancel_calls(), 0, "no gateway call");

    let auth = format!("Bearer {KEY_A}");
    let no_key = h
        .call(
            Method::POST,
            &format!("/v1/payments/{pid}/cancel"),
            &[("authorization", &auth)],
            "",
        )
        .await;
    assert_eq!(
        (no_key.status, json(&no_key)["error"]["code"].as_str()),
        (400, Some("idempotency_key_invalid"))
    );
    assert_eq!(
        cancel(&h, KEY_B, &pid, "ck").await.status,
        404,
        "another tenant's"
    );
    assert_eq!(
        cancel(&h, KEY_A, "pay_01J00000000000000000000000", "ck")
            .await
            .status,
        404
    );
    assert_eq!(cancel(&h, KEY_A, "nope", "ck").await.status, 404);
    for (body, code) in [
        (r#"{"reason": "x"}"#, "unknown_parameter"),
        ("{oops", "body_not_json"),
    ] {
        let r = cancel_with(&h, KEY_A, &pid, "ck", body).await;
        assert_eq!(
            (r.status, json(&r)["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    let unauth = h
        .call(
            Method::POST,
            &format!("/v1/payments/{pid}/cancel"),
            &[("idempotency-key", "ck")],
            "",
        )
        .await;
    assert_eq!(unauth.status, 401);
    let get = h.get(KEY_A, &format!("/v1/payments/{pid}/cancel")).await;
    assert_eq!(get.status, 405);
    assert_eq!(
        h.stores.idempotency_count().await,
        records,
        "refusals leave no idempotency record"
    );
    assert_eq!(h.efi.cancel_calls() + h.stripe.cancel_calls(), 0);
    // The key is free: the same key now cancels the Pix.
    let ok = cancel(&h, KEY_A, &pid, "ck").await;
    assert_eq!(
        (ok.status, json(&ok)["status"].as_str()),
        (200, Some("canceled"))
    );
    let after = json(&h.get(KEY_A, &format!("/v1/payments/{cid}")).await);
    assert_eq!(after["status"], "succeeded");
}

async fn fifty_concurrent_cancels_with_one_key_cancel_once(b: Backend) {
    let h = Harness::new(b).await;
    let p = json(&h.create(KEY_A, "pay-pix", &pix_body(1990)).await);
    let id = s(&p, "id");
    let answers = futures::future::join_all((0..50).map(|_| cancel(&h, KEY_A, &id, "same"))).await;
    let ok: Vec<_> = answers.iter().filter(|r| r.status == 200).collect();
    assert!(!ok.is_empty());
    assert!(
        answers.iter().all(|r| r.status == 200 || r.status == 409),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(ok.iter().all(|r| json(r)["status"] == "canceled"));
    assert_eq!(h.efi.cancel_calls(), 1, "one gateway cancel");
    assert_eq!(
        event_types(&h, &id).await,
        ["payment.pending", "payment.canceled"]
    );
}

/// The payer paid just before the cancel: the gateway refuses, the charge is read back, and
/// the payment is stored as succeeded (its event included) and answered 422.
async fn paid_meanwhile_is_stored_and_refused(b: Backend) {
    let h = Harness::new(b).await;
    let p = json(&h.create(KEY_A, "pay-pix", &pix_body(1990)).await);
    let id = s(&p, "id");
    assert!(h
        .efi
        .set_status(&s(&p, "gateway_payment_id"), PaymentStatus::Succeeded));
    let r = cancel(&h, KEY_A, &id, "c1").await;
    let e = json(&r);
    assert_eq!(
        (r.status, e["error"]["code"].as_str()),
        (422, Some("invalid_state")),
        "{e}"
    );
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("succeeded"));
    assert_eq!(h.efi.cancel_calls(), 1);
    let got = json(&h.get(KEY_A, &format!("/v1/payments/{id}")).await);
    assert_eq!(got["status"], "succeeded");
    assert_eq!(
        event_types(&h, &id).await,
        ["payment.pending", "payment.succeeded"]
    );
    // Now known as paid: refused at once, no gateway call.
    assert_eq!(cancel(&h, KEY_A, &id, "c2").await.status, 422);
    assert_eq!(h.efi.cancel_calls(), 1);
}

/// An unknown cancel outcome leaves the payment as it was and keeps the key (503, then 409);
/// once the claim expires the retry cancels and records it.
async fn ambiguous_cancel_keeps_the_payment_and_the_key(b: Backend) {
    let h = Harness::new(b).await;
    let efi = Switchable::new(h.efi.clone());
    let mut registry = h.registry();
    registry.register(efi.clone());
    let svc: Orchestrator = Orchestrator::new(
        h.stores.idempotency.clone(),
        h.stores.payments.clone(),
        h.stores.tenants.clone(),
        registry,
        h.clock.clone(),
        ServiceConfig::default(),
    )
    .with_breaker_store(h.stores.breakers.clone())
    .with_create_commit(h.stores.commit.clone())
    .with_events(h.stores.outbox.clone(), h.stores.events.clone())
    .with_usage(h.stores.usage.clone());
    let p = json(&h.create(KEY_A, "pay-pix", &pix_body(1990)).await);
    let id = s(&p, "id");
    let path = format!("/v1/payments/{id}/cancel");
    efi.set_cancel_fails(true);
    let r = post_path(&svc, KEY_A, &path, "amb", "").await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"));
    let got = json(&h.get(KEY_A, &format!("/v1/payments/{id}")).await);
    assert_eq!(
        (got["status"].as_str(), got["version"].as_i64()),
        (Some("pending"), Some(1)),
        "untouched"
    );
    assert_eq!(event_types(&h, &id).await, ["payment.pending"]);
    assert_eq!(post_path(&svc, KEY_A, &path, "amb", "").await.status, 409);

    efi.set_cancel_fails(false);
    h.clock.advance(Duration::seconds(31));
    let r = post_path(&svc, KEY_A, &path, "amb", "").await;
    assert_eq!(
        (r.status, json(&r)["status"].as_str()),
        (200, Some("canceled")),
        "{}",
        r.body
    );
    assert_eq!(
        h.efi.cancel_calls(),
        1,
        "the simulator saw the one cancel that got through"
    );
    assert_eq!(
        event_types(&h, &id).await,
        ["payment.pending", "payment.canceled"]
    );
}

/// The gateway's own webhook reporting the cancellation afterwards changes nothing: canceled is
/// final, the report is a no-op (no write, no second event).
async fn cancel_webhook_afterwards_changes_nothing(b: Backend) {
    let h = Harness::new(b).await;
    let stripe = json(&h.create(KEY_A, "pay-st", &pix_at("stripe")).await);
    let asaas = json(&h.create(KEY_A, "pay-as", &pix_at("asaas")).await);
    // Not canceled through the API: the same kind of report cancels it (so the reports below
    // do reach their payments).
    let control = json(&h.create(KEY_A, "pay-control", &pix_at("stripe")).await);
    for (p, k) in [(&stripe, "c-st"), (&asaas, "c-as")] {
        let r = cancel(&h, KEY_A, &s(p, "id"), k).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let stored = |id: String| {
        let h = &h;
        async move {
            h.stores
                .payments
                .get(
                    &TenantId::parse("ten_a").unwrap(),
                    &shared::domain::PaymentId::parse(&id).unwrap(),
                )
                .await
                .unwrap()
                .unwrap()
        }
    };
    let before = [
        stored(s(&stripe, "id")).await,
        stored(s(&asaas, "id")).await,
    ];
    let queue = Arc::new(MemoryQueue::new(ATTEMPTS));
    let worker = Pipeline::worker_on(&h, queue, std::time::Duration::from_secs(300));
    let event = |evt: &str, p: &serde_json::Value| {
        integration_tests::pipeline::stripe_pi_event(
            evt,
            "payment_intent.canceled",
            &s(p, "gateway_payment_id"),
            &s(p, "id"),
        )
        .replace(r#""status":"succeeded""#, r#""status":"canceled""#)
    };
    let bodies = [
        ("stripe", event("evt_control", &control)),
        (
            "stripe",
            event("evt_canceled_1", &stripe),
        ),
        (
            "asaas",
            serde_json::json!({"id": "evt_deleted_1", "event": "PAYMENT_DELETED",
                "payment": {"object": "payment", "id": s(&asaas, "gateway_payment_id"), "status": "PENDING",
                    "value": 19.90, "billingType": "PIX", "deleted": true, "externalReference": s(&asaas, "id")}})
            .to_string(),
        ),
    ];
    for (i, (gateway, body)) in bodies.iter().enumerate() {
        let env = WebhookEnvelope::new(
            *gateway,
            TenantId::parse("ten_a").unwrap(),
            chrono::Utc::now(),
            body.as_bytes(),
        );
        let msg = QueueMessage {
            message_id: format!("m{i}"),
            receipt_handle: format!("r{i}"),
            body: serde_json::to_string(&env).unwrap(),
            receive_count: 1,
            trace_header: None,
        };
        worker.process(&msg).await.unwrap();
    }
    let after = [
        stored(s(&stripe, "id")).await,
        stored(s(&asaas, "id")).await,
    ];
    assert_eq!(before, after, "nothing written");
    assert_eq!(
        event_types(&h, &s(&control, "id")).await,
        ["payment.pending", "payment.canceled"]
    );
    for p in [&stripe, &asaas] {
        assert_eq!(
            event_types(&h, &s(p, "id")).await,
            ["payment.pending", "payment.canceled"]
        );
    }
}

async fn pix_expires_in_sets_expires_at(b: Backend) {
    let h = Harness::new(b).await;
    for (gateway, expires_in) in [("efi", 900), ("asaas", 60), ("stripe", 604_800)] {
        let mut body = pix_at(gateway);
        body["expires_in"] = expires_in.into();
        let r = h.create(KEY_A, &format!("exp-{gateway}"), &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let p = json(&r);
        let created: chrono::DateTime<chrono::Utc> = s(&p, "created_at").parse().unwrap();
        let expires: chrono::DateTime<chrono::Utc> =
            p["pix"]["expires_at"].as_str().unwrap().parse().unwrap();
        assert_eq!((expires - created).num_seconds(), expires_in, "{gateway}");
    }
    // Default: each gateway's own (the simulators: one hour).
    let p = json(&h.create(KEY_A, "exp-default", &pix_body(1990)).await);
    let created: chrono::DateTime<chrono::Utc> = s(&p, "created_at").parse().unwrap();
    let expires: chrono::DateTime<chrono::Utc> =
        p["pix"]["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((expires - created).num_seconds(), 3600);

    let records = h.stores.idempotency_count().await;
    let charges = h.gateway_charges();
    for (body, why, code) in [
        (
            serde_json::json!(59),
            "below the minimum",
            "parameter_out_of_range",
        ),
        (
            serde_json::json!(604_801),
            "above 7 days",
            "parameter_out_of_range",
        ),
        (serde_json::json!(-1), "negative", "parameter_out_of_range"),
        (
            serde_json::json!(3600.5),
            "not whole",
            "parameter_invalid_integer",
        ),
        (
            serde_json::json!("3600"),
            "a string",
            "parameter_invalid_integer",
        ),
    ] {
        let mut b = pix_body(1990);
        b["expires_in"] = body;
        let r = h.create(KEY_A, "exp-bad", &b).await;
        let e = json(&r);
        assert_eq!(
            (
                r.status,
                e["error"]["code"].as_str(),
                e["error"]["param"].as_str()
            ),
            (400, Some(code), Some("expires_in")),
            "{why}"
        );
    }
    let mut c = card(1000);
    c["expires_in"] = 3600.into();
    let r = h.create(KEY_A, "exp-card", &c).await;
    assert_eq!(
        (r.status, json(&r)["error"]["param"].as_str()),
        (400, Some("expires_in"))
    );
    assert_eq!(
        h.stores.idempotency_count().await,
        records,
        "nothing stored"
    );
    assert_eq!(h.gateway_charges(), charges, "no gateway call");
}

on_both_backends!(
    pending_pix_is_canceled_once_and_replayed,
    requires_action_card_is_canceled,
    refusals_call_no_gateway_and_free_the_key,
    fifty_concurrent_cancels_with_one_key_cancel_once,
    paid_meanwhile_is_stored_and_refused,
    ambiguous_cancel_keeps_the_payment_and_the_key,
    cancel_webhook_afterwards_changes_nothing,
    pix_expires_in_sets_expires_at,
);
