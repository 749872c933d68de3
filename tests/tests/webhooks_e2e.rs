//! Every status change reaches the merchant exactly once, end to end over moto's DynamoDB
//! (payments + the outbox table and its stream) and SQS, with a local merchant verifying every
//! callback's Standard Webhooks signature: create answers, gateway webhooks (matched by our id
//! first), refresh, refunds and their webhooks, Asaas overdue, unmatched webhooks, the events
//! API, retries, DLQ and redrive.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use integration_tests::merchant::Merchant;
use integration_tests::pipeline::*;
use integration_tests::{get_path, json, pix_body, post_path, KEY_A, KEY_B};
use shared::adapters::aws::{redrive, SqsWebhookQueue};
use shared::adapters::http::HttpCallbackSender;
use shared::api::{handle_webhook, ApiRequest};
use shared::clock::SystemClock;
use shared::gateways::webhooks::WebhookRegistry;
use shared::service::webhooks::{TenantCache, WebhookReceiver};
use shared::signing::stripe::compute;
use std::sync::Arc;
use std::time::Duration;

const GRACE: Duration = Duration::from_secs(300);

async fn pipeline() -> Pipeline {
    Pipeline::start(GRACE).await
}

fn card(amount: i64) -> serde_json::Value {
    serde_json::json!({"amount": amount, "currency": "BRL", "method": "card", "gateway": "stripe",
        "card": {"tokens": {"stripe": "pm_card_visa"}}})
}

fn pix_at(gateway: &str) -> serde_json::Value {
    let mut b = pix_body(1990);
    b["gateway"] = gateway.into();
    b
}

fn s(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn card_succeeded_in_the_create_is_told_once_and_stripes_confirmation_adds_nothing() {
    let p = pipeline().await;
    let pay = p.create("card-ok", &card(1000)).await;
    assert_eq!(pay["status"], "succeeded");
    p.drain().await;
    let id = s(&pay, "id");
    assert_eq!(p.types_for(&id), ["payment.succeeded"]);
    let cb = &p.callbacks()[0];
    assert_eq!(cb.body["data"]["version"], 1);
    // Stripe's own webhook for it (matched by metadata.payment_id): still one callback.
    let pi = s(&pay, "gateway_payment_id");
    p.stripe(&stripe_pi_event(
        "evt_card_ok",
        "payment_intent.succeeded",
        &pi,
        &id,
    ))
    .await;
    p.drain().await;
    assert_eq!(p.types_for(&id), ["payment.succeeded"]);
    assert_eq!(p.merchant.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn declined_card_is_one_failed_event() {
    let p = pipeline().await;
    let pay = p.create("card-declined", &card(1051)).await;
    assert_eq!(pay["status"], "failed");
    p.drain().await;
    assert_eq!(p.types_for(&s(&pay, "id")), ["payment.failed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pix_is_pending_then_one_succeeded_on_each_gateways_webhook() {
    let p = pipeline().await;
    // Stripe: matched by metadata.payment_id.
    let st = p.create("pix-stripe", &pix_at("stripe")).await;
    let st_id = s(&st, "id");
    p.stripe(&stripe_pi_event(
        "evt_st_1",
        "payment_intent.succeeded",
        &s(&st, "gateway_payment_id"),
        &st_id,
    ))
    .await;
    // Asaas: matched by externalReference.
    let asa = p.create("pix-asaas", &pix_at("asaas")).await;
    let asa_id = s(&asa, "id");
    p.asaas(&serde_json::json!({"id": "evt_05b708f961d739ea7eba7e4db318f621&368604920", "event": "PAYMENT_RECEIVED",
        "payment": {"object": "payment", "id": s(&asa, "gateway_payment_id"), "status": "RECEIVED", "value": 19.90,
            "billingType": "PIX", "externalReference": asa_id}}).to_string()).await;
    // EFI: the txid derives from our payment id; a foreign item in the same notification is ignored.
    let efi = p.create("pix-efi", &pix_at("efi")).await;
    let efi_id = s(&efi, "id");
    let ev = serde_json::json!({"pix": [
        {"endToEndId": "E18236120202611211340s08793XPJ", "txid": s(&efi, "gateway_payment_id"), "chave": "k", "valor": "19.90", "horario": "2026-11-21T13:40:34.000Z"},
        {"endToEndId": "E18236120202611211341s00000OUT", "chave": "k", "valor": "5.00", "horario": "2026-11-21T13:41:00.000Z", "tipo": "SOLICITACAO", "status": "REALIZADO"}
    ]}).to_string();
    let r = p
        .post(
            &format!("/webhooks/efi/ten_a?hmac={EFI_HMAC}&ignorar=/pix"),
            &[],
            &ev,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    p.drain().await;
    for id in [&st_id, &asa_id, &efi_id] {
        assert_eq!(p.payment(id).await["status"], "succeeded");
        assert_eq!(
            p.types_for(id),
            ["payment.pending", "payment.succeeded"],
            "{id}"
        );
    }
    // Duplicates, days later: nothing new.
    p.stripe(&stripe_pi_event(
        "evt_st_1",
        "payment_intent.succeeded",
        &s(&st, "gateway_payment_id"),
        &st_id,
    ))
    .await;
    let r = p
        .post(
            &format!("/webhooks/efi/ten_a?hmac={EFI_HMAC}&ignorar=/pix"),
            &[],
            &ev,
        )
        .await;
    assert_eq!(r.status, 200);
    p.drain().await;
    assert_eq!(p.merchant.received().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processing_payment_is_settled_by_its_webhook_matched_by_our_id() {
    let p = pipeline().await;
    let pay = p.create("card-ambiguous", &card(1054)).await;
    assert_eq!(pay["status"], "processing");
    assert!(
        pay["gateway_payment_id"].is_null(),
        "unknown outcome: no gateway id yet"
    );
    let id = s(&pay, "id");
    let charge = p.h.stripe.live_charges();
    assert_eq!(charge.len(), 1);
    p.stripe(&stripe_pi_event(
        "evt_amb_1",
        "payment_intent.succeeded",
        &charge[0],
        &id,
    ))
    .await;
    p.drain().await;
    let now = p.payment(&id).await;
    assert_eq!(now["status"], "succeeded");
    assert_eq!(
        now["gateway_payment_id"],
        charge[0].as_str(),
        "the webhook names the charge"
    );
    assert_eq!(
        p.types_for(&id),
        ["payment.processing", "payment.succeeded"]
    );
}

/// `payment_intent.payment_failed` reports a failed attempt, not a failed intent: the intent
/// goes back to `requires_payment_method` and may still succeed (another card, 3DS retried).
/// The payment waits for the payer (`requires_action`) and its later success settles it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_stripe_attempt_is_not_final_and_the_later_success_settles_the_payment() {
    let p = pipeline().await;
    let pay = p.create("card-attempt-failed", &card(3054)).await;
    assert_eq!(pay["status"], "processing");
    let id = s(&pay, "id");
    let charge = p.h.stripe.live_charges();
    assert_eq!(charge.len(), 1);
    let failed = serde_json::json!({"id": "evt_attempt_failed", "object": "event",
        "type": "payment_intent.payment_failed", "created": now(),
        "data": {"object": {"id": charge[0], "object": "payment_intent",
            "status": "requires_payment_method",
            "last_payment_error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"},
            "metadata": {"payment_id": id}}}})
    .to_string();
    p.stripe(&failed).await;
    p.drain().await;
    let now_ = p.payment(&id).await;
    assert_eq!(now_["status"], "requires_action", "{now_}");
    p.stripe(&stripe_pi_event(
        "evt_attempt_succeeded",
        "payment_intent.succeeded",
        &charge[0],
        &id,
    ))
    .await;
    p.drain().await;
    let done = p.payment(&id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        p.types_for(&id),
        [
            "payment.processing",
            "payment.requires_action",
            "payment.succeeded"
        ]
    );
    // A canceled intent is final, as before.
    let pay = p.create("card-attempt-canceled", &card(4054)).await;
    let id = s(&pay, "id");
    let charge: Vec<String> =
        p.h.stripe
            .live_charges()
            .into_iter()
            .filter(|c| *c != charge[0])
            .collect();
    assert_eq!(charge.len(), 1);
    let canceled = serde_json::json!({"id": "evt_attempt_canceled", "object": "event",
        "type": "payment_intent.payment_failed", "created": now(),
        "data": {"object": {"id": charge[0], "object": "payment_intent", "status": "canceled",
            "metadata": {"payment_id": id}}}})
    .to_string();
    p.stripe(&canceled).await;
    p.drain().await;
    assert_eq!(p.payment(&id).await["status"], "canceled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processing_payment_is_settled_by_refresh_and_told_once() {
    let p = pipeline().await;
    let pay = p.create("card-ambiguous-refresh", &card(2054)).await;
    assert_eq!(pay["status"], "processing");
    let id = s(&pay, "id");
    let r =
        p.h.get(KEY_A, &format!("/v1/payments/{id}?refresh=true"))
            .await;
    assert_eq!(json(&r)["status"], "succeeded", "{}", r.body);
    // A second refresh changes nothing.
    p.h.get(KEY_A, &format!("/v1/payments/{id}?refresh=true"))
        .await;
    p.drain().await;
    assert_eq!(
        p.types_for(&id),
        ["payment.processing", "payment.succeeded"]
    );
}

async fn refund(p: &Pipeline, id: &str, key: &str, amount: i64) -> serde_json::Value {
    let r = post_path(
        &p.h.svc,
        KEY_A,
        &format!("/v1/payments/{id}/refunds"),
        key,
        &serde_json::json!({"amount": amount}).to_string(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    json(&r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partial_then_full_refund_and_a_failed_refund_frees_its_amount() {
    let p = pipeline().await;
    let pay = p.create("card-refund", &card(1000)).await;
    let id = s(&pay, "id");
    let first = refund(&p, &id, "rf-1", 400).await;
    assert_eq!(
        (
            first["status"].as_str(),
            first["payment"]["status"].as_str()
        ),
        (Some("succeeded"), Some("partially_refunded"))
    );
    let second = refund(&p, &id, "rf-2", 600).await;
    assert_eq!(second["payment"]["status"], "refunded");
    assert_eq!(second["payment"]["refunded_amount"], 1000);
    p.drain().await;
    assert_eq!(
        p.types_for(&id),
        [
            "payment.succeeded",
            "refund.succeeded",
            "payment.partially_refunded",
            "refund.succeeded",
            "payment.refunded"
        ]
    );
    // Deliveries run concurrently, so arrival order says nothing: one `refund.succeeded` per
    // refund, each carrying its refund.
    let refund_events: Vec<Seen> = p
        .callbacks()
        .into_iter()
        .filter(|c| c.kind == "refund.succeeded")
        .collect();
    let mut refund_ids: Vec<String> = refund_events
        .iter()
        .map(|c| c.body["data"]["id"].as_str().unwrap_or("").to_string())
        .collect();
    refund_ids.sort();
    refund_ids.dedup();
    let mut expected = vec![s(&first, "id"), s(&second, "id")];
    expected.sort();
    assert_eq!(refund_ids, expected);
    assert!(refund_events
        .iter()
        .all(|c| c.body["data"]["object"] == "refund"));

    // A refund the gateway accepts as pending (amount ending in 58) holds its amount; its
    // failure (Stripe refund.failed) frees it and tells the merchant.
    let pay2 = p.create("card-refund-2", &card(1000)).await;
    let id2 = s(&pay2, "id");
    let pending = refund(&p, &id2, "rf-3", 958).await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(
        pending["payment"]["status"], "succeeded",
        "a pending refund moves nothing"
    );
    let r = post_path(
        &p.h.svc,
        KEY_A,
        &format!("/v1/payments/{id2}/refunds"),
        "rf-4",
        &serde_json::json!({"amount": 100}).to_string(),
    )
    .await;
    assert_eq!(
        r.status, 422,
        "only 42 left while 958 are pending: {}",
        r.body
    );
    let gw_refund = s(&pending, "gateway_refund_id");
    p.stripe(&stripe_refund_event(
        "evt_rf_fail",
        "refund.failed",
        &gw_refund,
        &s(&pay2, "gateway_payment_id"),
        958,
        "failed",
        Some(&s(&pending, "id")),
    ))
    .await;
    p.drain().await;
    let after = p.payment(&id2).await;
    assert_eq!(
        (after["status"].as_str(), after["refunded_amount"].as_i64()),
        (Some("succeeded"), Some(0))
    );
    assert_eq!(after["refunds"][0]["status"], "failed");
    assert_eq!(p.types_for(&id2), ["payment.succeeded", "refund.failed"]);
    // The amount is refundable again.
    let full = refund(&p, &id2, "rf-5", 1000).await;
    assert_eq!(full["payment"]["status"], "refunded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refund_and_refund_webhooks_leave_the_amount_exact() {
    let p = pipeline().await;
    let pay = p.create("card-race", &card(1000)).await;
    let id = s(&pay, "id");
    let pi = s(&pay, "gateway_payment_id");
    // A refund through the API and one made in the gateway's dashboard, at the same time.
    let external = stripe_refund_event(
        "evt_ext",
        "refund.created",
        "re_dashboard_1",
        &pi,
        200,
        "succeeded",
        None,
    );
    let (api, ()) = tokio::join!(refund(&p, &id, "rf-race", 300), async {
        p.stripe(&external).await;
        p.drain().await;
    });
    // The API refund's own webhooks arrive, twice, and the dashboard one again.
    let ours = stripe_refund_event(
        "evt_ours",
        "refund.updated",
        &s(&api, "gateway_refund_id"),
        &pi,
        300,
        "succeeded",
        Some(&s(&api, "id")),
    );
    p.stripe(&ours).await;
    p.stripe(&ours).await;
    p.stripe(&external).await;
    p.drain().await;
    let now = p.payment(&id).await;
    assert_eq!(now["refunded_amount"], 500);
    assert_eq!(now["refunds"].as_array().unwrap().len(), 2);
    let kinds = p.types_for(&id);
    assert_eq!(
        kinds.iter().filter(|k| *k == "refund.succeeded").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "payment.partially_refunded")
            .count(),
        1,
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn asaas_overdue_keeps_the_payment_payable_and_received_succeeds_it() {
    let p = pipeline().await;
    let pay = p.create("boleto-overdue", &pix_at("asaas")).await;
    let id = s(&pay, "id");
    let gid = s(&pay, "gateway_payment_id");
    let ev = |eid: &str, kind: &str, status: &str| {
        serde_json::json!({"id": eid, "event": kind,
        "payment": {"object": "payment", "id": gid, "status": status, "value": 19.90, "billingType": "PIX", "externalReference": id}}).to_string()
    };
    p.asaas(&ev("evt_od", "PAYMENT_OVERDUE", "OVERDUE")).await;
    p.drain().await;
    let overdue = p.payment(&id).await;
    assert_eq!(overdue["status"], "pending");
    assert!(overdue["overdue_at"].is_string());
    p.asaas(&ev("evt_rc", "PAYMENT_RECEIVED", "RECEIVED")).await;
    p.drain().await;
    assert_eq!(p.payment(&id).await["status"], "succeeded");
    assert_eq!(
        p.types_for(&id),
        ["payment.pending", "payment.overdue", "payment.succeeded"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webhook_for_an_unknown_charge_is_acknowledged_and_listed_never_dead_lettered() {
    let p = pipeline().await;
    p.stripe(&stripe_pi_event(
        "evt_foreign",
        "payment_intent.succeeded",
        "pi_not_ours",
        "pay_01JD0000000000000000000000",
    ))
    .await;
    // Inside the grace period (a create may still be committing) it is retried: a new copy
    // with its attempt counted, the received one acknowledged (nothing waits in flight)...
    let (n, failed) = p.q.poll_once(&p.worker).await;
    assert_eq!((n, failed.len()), (1, 0));
    assert_eq!(p.q.depth(&p.q.url).await, 1, "the retry's copy");
    // ...and once the grace has passed, recorded and acknowledged.
    let later = Pipeline::worker_on(&p.h, p.queue.clone(), Duration::ZERO);
    for _ in 0..3 {
        if p.q.poll_once(&later).await.0 > 0 {
            break;
        }
    }
    assert_eq!(p.q.depth(&p.q.url).await, 0);
    assert_eq!(p.q.depth(&p.q.dlq_url).await, 0, "never dead-lettered");
    let r = get_path(&p.h.svc, KEY_A, "/v1/webhooks/unmatched").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = json(&r);
    assert_eq!(list["data"][0]["gateway"], "stripe");
    assert_eq!(list["data"][0]["gateway_payment_id"], "pi_not_ours");
    assert_eq!(list["data"][0]["reported"], "status:succeeded");
    assert!(p.merchant.received().is_empty());
    let other = get_path(&p.h.svc, KEY_B, "/v1/webhooks/unmatched").await;
    assert_eq!(json(&other)["data"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_api_lists_shows_attempts_and_resends_with_the_same_webhook_id() {
    let p = pipeline().await;
    let a = p.create("ev-1", &card(1000)).await;
    let b = p.create("ev-2", &pix_at("stripe")).await;
    p.merchant.respond_with(500);
    p.relay_once().await.unwrap();
    p.q.poll_once(&p.worker).await;
    p.merchant.respond_with(200);
    p.drain().await;
    let list = json(&get_path(&p.h.svc, KEY_A, "/v1/events").await);
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["type"], "payment.pending", "newest first");
    assert_eq!(data[0]["payment_id"], b["id"]);
    assert_eq!(data[1]["type"], "payment.succeeded");
    let filtered = json(
        &get_path(
            &p.h.svc,
            KEY_A,
            &format!(
                "/v1/events?type=payment.succeeded&payment_id={}",
                s(&a, "id")
            ),
        )
        .await,
    );
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
    let page = json(&get_path(&p.h.svc, KEY_A, "/v1/events?limit=1").await);
    assert_eq!(page["has_more"], true);
    let next = json(
        &get_path(
            &p.h.svc,
            KEY_A,
            &format!(
                "/v1/events?limit=1&starting_after={}",
                s(&page, "next_cursor")
            ),
        )
        .await,
    );
    assert_eq!(next["data"][0]["id"], data[1]["id"]);
    // One event: a failed attempt (500, with an excerpt of the answer) then a delivery.
    let id = s(&data[1], "id");
    let ev = json(&get_path(&p.h.svc, KEY_A, &format!("/v1/events/{id}")).await);
    assert_eq!(ev["delivery"]["state"], "delivered");
    let attempts = ev["delivery"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{ev}");
    assert_eq!(attempts[0]["http_status"], 500);
    assert_eq!(attempts[0]["response_excerpt"], "ok");
    assert_eq!(attempts[1]["http_status"], 200);
    assert!(attempts[1]["duration_ms"].is_u64());
    assert_eq!(ev["data"]["id"], a["id"]);
    // Resend: the same webhook-id and body, again; twice is fine.
    let before = p.merchant.received().len();
    for _ in 0..2 {
        let r = post_path(
            &p.h.svc,
            KEY_A,
            &format!("/v1/events/{id}/resend"),
            "resend",
            "{}",
        )
        .await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    p.drain().await;
    let got = p.merchant.received();
    assert_eq!(got.len(), before + 2);
    let first_body = got
        .iter()
        .find(|c| c.webhook_id == id)
        .unwrap()
        .body
        .clone();
    assert!(got[before..]
        .iter()
        .all(|c| c.webhook_id == id && c.body == first_body));
    // Another tenant's event, a malformed id, a bad filter.
    assert_eq!(
        get_path(&p.h.svc, KEY_B, &format!("/v1/events/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        post_path(
            &p.h.svc,
            KEY_B,
            &format!("/v1/events/{id}/resend"),
            "resend",
            "{}"
        )
        .await
        .status,
        404
    );
    assert_eq!(
        get_path(&p.h.svc, KEY_A, "/v1/events/evt_nope")
            .await
            .status,
        404
    );
    assert_eq!(
        get_path(&p.h.svc, KEY_A, "/v1/events?type=payment.nope")
            .await
            .status,
        400
    );
    assert_eq!(
        get_path(&p.h.svc, KEY_A, "/v1/events?starting_after=pay_x")
            .await
            .status,
        400
    );
    assert!(json(&get_path(&p.h.svc, KEY_B, "/v1/events").await)["data"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_reported_with_the_success_in_one_batch_applies_after_it() {
    let p = pipeline().await;
    let pay = p.create("pix-batch-refund", &pix_at("stripe")).await;
    let (id, pi) = (s(&pay, "id"), s(&pay, "gateway_payment_id"));
    p.drain().await;
    // The refund's event first, then the payment's: one batch, run concurrently.
    p.stripe(&stripe_refund_event(
        "evt_rf_early",
        "refund.created",
        "re_early",
        &pi,
        500,
        "succeeded",
        None,
    ))
    .await;
    p.stripe(&stripe_pi_event(
        "evt_paid",
        "payment_intent.succeeded",
        &pi,
        &id,
    ))
    .await;
    p.drain().await;
    let now = p.payment(&id).await;
    assert_eq!(
        (now["status"].as_str(), now["refunded_amount"].as_i64()),
        (Some("partially_refunded"), Some(500))
    );
    assert_eq!(
        p.types_for(&id),
        [
            "payment.pending",
            "payment.succeeded",
            "refund.succeeded",
            "payment.partially_refunded"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redelivered_event_never_moves_the_payment_again() {
    let p = pipeline().await;
    let pay = p.create("card-3ds", &card(1057)).await;
    assert_eq!(pay["status"], "requires_action");
    let (id, pi) = (s(&pay, "id"), s(&pay, "gateway_payment_id"));
    let processing = stripe_pi_event("evt_proc", "payment_intent.processing", &pi, &id);
    p.stripe(&processing).await;
    p.drain().await;
    p.stripe(&stripe_pi_event(
        "evt_3ds_again",
        "payment_intent.requires_action",
        &pi,
        &id,
    ))
    .await;
    p.drain().await;
    // processing -> requires_action -> processing is allowed by the table; the same event
    // delivered again must not do it.
    p.stripe(&processing).await;
    p.drain().await;
    assert_eq!(p.payment(&id).await["status"], "requires_action");
    assert_eq!(
        p.types_for(&id),
        [
            "payment.requires_action",
            "payment.processing",
            "payment.requires_action"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failover_orphan_naming_our_payment_never_moves_it() {
    let p = pipeline().await;
    let pay = p.create("pix-orphan", &pix_at("asaas")).await;
    let id = s(&pay, "id");
    p.drain().await;
    // Stripe reports a canceled charge that names our payment (an orphan left by a failover),
    // and another Stripe charge naming a payment that is at Stripe on a different charge.
    p.stripe(&stripe_pi_event(
        "evt_orphan",
        "payment_intent.canceled",
        "pi_orphan",
        &id,
    ))
    .await;
    let at_stripe = p.create("pix-orphan-2", &pix_at("stripe")).await;
    let id2 = s(&at_stripe, "id");
    p.stripe(&stripe_pi_event(
        "evt_orphan2",
        "payment_intent.canceled",
        "pi_other",
        &id2,
    ))
    .await;
    p.relay_once().await.unwrap();
    let (n, failed) = p.q.poll_once(&p.worker).await;
    assert!(
        n >= 2 && failed.is_empty(),
        "acknowledged at once, not retried: {failed:?}"
    );
    p.drain().await;
    assert_eq!(p.payment(&id).await["status"], "pending");
    assert_eq!(p.payment(&id2).await["status"], "pending");
    assert_eq!(p.types_for(&id), ["payment.pending"]);
    assert_eq!(p.types_for(&id2), ["payment.pending"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn late_events_after_success_change_nothing_and_tell_nothing() {
    let p = pipeline().await;
    let pay = p.create("pix-late", &pix_at("stripe")).await;
    let (id, pi) = (s(&pay, "id"), s(&pay, "gateway_payment_id"));
    p.stripe(&stripe_pi_event(
        "evt_ok",
        "payment_intent.succeeded",
        &pi,
        &id,
    ))
    .await;
    p.drain().await;
    p.stripe(&stripe_pi_event(
        "evt_late",
        "payment_intent.processing",
        &pi,
        &id,
    ))
    .await;
    p.stripe(&stripe_pi_event(
        "evt_late2",
        "payment_intent.canceled",
        &pi,
        &id,
    ))
    .await;
    p.drain().await;
    assert_eq!(p.payment(&id).await["status"], "succeeded");
    assert_eq!(p.types_for(&id), ["payment.pending", "payment.succeeded"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merchant_down_goes_to_dlq_and_redrive_delivers_with_the_same_id() {
    let p = pipeline().await;
    p.merchant.respond_with(503);
    let pay = p.create("card-down", &card(1000)).await;
    let id = s(&pay, "id");
    assert_eq!(p.relay_once().await.unwrap(), 1);
    // Each failed attempt is a new copy carrying its count (acknowledged, never held in
    // flight); the last one is moved to the DLQ by the worker itself.
    for attempt in 1..=ATTEMPTS {
        let (n, failed) = p.q.poll_once(&p.worker).await;
        assert_eq!((n, failed.len()), (1, 0), "attempt {attempt} fails");
    }
    assert_eq!(p.q.poll_once(&p.worker).await.0, 0);
    assert_eq!(
        p.q.depth(&p.q.dlq_url).await,
        1,
        "in the DLQ after the last attempt"
    );
    let attempts = p.merchant.received();
    assert_eq!(attempts.len(), ATTEMPTS as usize);
    assert!(
        attempts
            .iter()
            .all(|a| a.webhook_id == attempts[0].webhook_id),
        "stable webhook-id"
    );
    let ev = json(
        &get_path(
            &p.h.svc,
            KEY_A,
            &format!("/v1/events/{}", attempts[0].webhook_id),
        )
        .await,
    );
    assert_eq!(ev["delivery"]["state"], "failed");
    assert_eq!(
        ev["delivery"]["attempts"].as_array().unwrap().len(),
        ATTEMPTS as usize
    );

    p.merchant.respond_with(200);
    assert_eq!(
        redrive(&p.q.client, &p.q.dlq_url, &p.q.url, 100)
            .await
            .unwrap(),
        1
    );
    p.drain().await;
    let all = p.merchant.received();
    assert_eq!(all.len(), ATTEMPTS as usize + 1);
    assert_eq!(
        all.last().unwrap().webhook_id,
        attempts[0].webhook_id,
        "same webhook-id after redrive"
    );
    assert_eq!(p.types_for(&id), ["payment.succeeded"]);
    let ev = json(
        &get_path(
            &p.h.svc,
            KEY_A,
            &format!("/v1/events/{}", attempts[0].webhook_id),
        )
        .await,
    );
    assert_eq!(ev["delivery"]["state"], "delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_of_ten_with_one_poisoned_message() {
    let p = pipeline().await;
    let mut ids = Vec::new();
    for i in 0..9 {
        let pay = p.create(&format!("wh-batch-{i}"), &pix_at("stripe")).await;
        let id = s(&pay, "id");
        p.stripe(&stripe_pi_event(
            &format!("evt_b{i}"),
            "payment_intent.succeeded",
            &s(&pay, "gateway_payment_id"),
            &id,
        ))
        .await;
        ids.push(id);
    }
    p.q.client
        .send_message()
        .queue_url(&p.q.url)
        .message_body("{not an envelope")
        .send()
        .await
        .unwrap();
    let mut batch = Vec::new();
    for _ in 0..5 {
        batch.extend(p.q.receive().await);
        if batch.len() == 10 {
            break;
        }
    }
    assert_eq!(batch.len(), 10);
    let failed = p.worker.process_batch(batch.clone()).await.unwrap();
    // The poison goes to the DLQ on its first attempt (on the previous main it was retried
    // through the whole schedule); the others are applied.
    assert!(failed.is_empty(), "{failed:?}");
    for m in &batch {
        p.q.client
            .delete_message()
            .queue_url(&p.q.url)
            .receipt_handle(&m.receipt_handle)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(p.q.depth(&p.q.url).await, 0, "nothing retried");
    assert_eq!(p.q.depth(&p.q.dlq_url).await, 1, "the poison, at once");
    for id in &ids {
        assert_eq!(p.payment(id).await["status"], "succeeded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_authentication_is_401_and_enqueues_nothing() {
    let p = pipeline().await;
    let ev = stripe_pi_event("evt_x", "payment_intent.succeeded", "pi_x", "pay_x");
    let wrong = format!(
        "t={},v1={}",
        now(),
        compute("whsec_wrong", now(), ev.as_bytes())
    );
    let stale_t = now() - 301;
    let stale = format!(
        "t={stale_t},v1={}",
        compute(STRIPE_SECRET, stale_t, ev.as_bytes())
    );
    let cases: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/webhooks/stripe/ten_a".into(),
            vec![("stripe-signature", wrong.as_str())],
        ),
        (
            "/webhooks/stripe/ten_a".into(),
            vec![("stripe-signature", stale.as_str())],
        ),
        ("/webhooks/stripe/ten_a".into(), vec![]),
        (
            "/webhooks/asaas/ten_a".into(),
            vec![("asaas-access-token", "not-the-token")],
        ),
        ("/webhooks/asaas/ten_a".into(), vec![]),
        ("/webhooks/efi/ten_a?hmac=wrong".into(), vec![]),
        ("/webhooks/efi/ten_a".into(), vec![]),
    ];
    for (path, headers) in cases {
        let r = p.post(&path, &headers, &ev).await;
        assert_eq!(r.status, 401, "{path} {headers:?}: {}", r.body);
        assert_eq!(json(&r)["error"]["type"], "authentication");
    }
    assert_eq!(p.post("/webhooks/paypal/ten_a", &[], &ev).await.status, 404);
    assert_eq!(
        p.post("/webhooks/stripe/ten_nobody", &[], &ev).await.status,
        404
    );
    let huge = "x".repeat(257 * 1024);
    assert_eq!(
        p.post(&format!("/webhooks/efi/ten_a?hmac={EFI_HMAC}"), &[], &huge)
            .await
            .status,
        413
    );
    assert_eq!(
        p.q.depth(&p.q.url).await,
        0,
        "nothing enqueued on any rejection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receiver_answers_503_when_the_queue_refuses() {
    let p = pipeline().await;
    let broken = Arc::new(SqsWebhookQueue::new(
        p.q.client.clone(),
        format!("{}-missing", p.q.url),
    ));
    let rx = WebhookReceiver::new(
        WebhookRegistry::standard(),
        TenantCache::new(p.h.stores.tenants.clone(), Duration::from_secs(60)),
        broken,
        Arc::new(SystemClock),
    );
    let ev = stripe_pi_event("evt_q", "payment_intent.succeeded", "pi_q", "pay_q");
    let t = now();
    let sig = format!("t={t},v1={}", compute(STRIPE_SECRET, t, ev.as_bytes()));
    let mut headers = HeaderMap::new();
    headers.insert("stripe-signature", HeaderValue::from_str(&sig).unwrap());
    let req = ApiRequest {
        method: Method::POST,
        path: "/webhooks/stripe/ten_a".into(),
        query: None,
        headers,
        body: Bytes::from(ev),
        deadline: None,
        source_ip: None,
        client_cert_issuer: None,
    };
    let r = handle_webhook(&rx, req).await;
    assert_eq!(r.status, 503, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_sender_semantics_gone_and_redirects() {
    use shared::ports::{Callback, CallbackSender, DeliveryOutcome};
    let m = Merchant::start().await;
    let sender = HttpCallbackSender::new(true).unwrap();
    let cb = Callback {
        url: m.url.clone(),
        webhook_id: "evt_1".into(),
        timestamp: now(),
        signature: "v1,x".into(),
        body: "{}".into(),
    };
    let ok = sender.send(&cb).await;
    assert_eq!(ok.outcome, DeliveryOutcome::Delivered);
    assert_eq!(
        (ok.http_status, ok.response_excerpt.as_deref()),
        (Some(200), Some("ok"))
    );
    m.respond_with(410);
    assert_eq!(sender.send(&cb).await.outcome, DeliveryOutcome::Gone);
    m.respond_with(302);
    assert!(
        matches!(sender.send(&cb).await.outcome, DeliveryOutcome::Retry(_)),
        "redirects are not followed"
    );
    m.respond_with(500);
    assert!(matches!(
        sender.send(&cb).await.outcome,
        DeliveryOutcome::Retry(_)
    ));
    let got = m.received();
    assert_eq!(got.len(), 4);
    assert!(got
        .iter()
        .all(|r| r.webhook_id == "evt_1" && r.signature == "v1,x"));
    // The guarded sender (deployed Lambdas) refuses this loopback merchant outright.
    let guarded = HttpCallbackSender::new(false).unwrap();
    assert!(matches!(
        guarded.send(&cb).await.outcome,
        DeliveryOutcome::Retry(_)
    ));
    assert_eq!(m.received().len(), 4, "no request reached the merchant");
}

/// The dev server's wiring: memory stores, the in-memory outbox feed relayed to the in-process
/// queue, the same worker. A card payment and a Pix settled by its webhook are told once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_outbox_relays_to_the_in_process_queue() {
    use integration_tests::{Backend, Harness};
    use shared::adapters::memory::MemoryQueue;
    use shared::service::webhooks::{relay_memory_feed, QueueMessage, Relay};
    let h = Harness::new(Backend::Memory).await;
    let merchant = Merchant::start().await;
    let tid = shared::domain::TenantId::parse("ten_a").unwrap();
    let mut t = h.stores.tenants.get(&tid).await.unwrap().unwrap();
    t.callback_url = Some(shared::domain::CallbackUrl::parse(&merchant.url, true).unwrap());
    t.callback_secrets = vec![CALLBACK_SECRET.into()];
    t.webhook_secrets.stripe = vec![STRIPE_SECRET.into()];
    h.stores.tenants.put(&t).await.unwrap();
    let queue = Arc::new(MemoryQueue::new(ATTEMPTS));
    let worker = Pipeline::worker_on(&h, queue.clone(), GRACE);
    let outbox = h.stores.memory_outbox.clone().unwrap();
    let relay = Relay::new(queue.clone());
    let run = || async {
        for _ in 0..10 {
            relay_memory_feed(&outbox, &relay).await.unwrap();
            let batch: Vec<QueueMessage> = queue
                .receive(10, Duration::from_secs(30))
                .into_iter()
                .map(|m| QueueMessage {
                    trace_header: None,
                    message_id: m.message_id,
                    receipt_handle: m.receipt_handle,
                    body: m.body,
                    receive_count: m.receive_count,
                })
                .collect();
            if batch.is_empty() {
                return;
            }
            let failed = worker.process_batch(batch.clone()).await.unwrap();
            for m in batch.iter().filter(|m| !failed.contains(&m.message_id)) {
                queue.delete(&m.receipt_handle);
            }
        }
    };
    let r = h.create(KEY_A, "mem-card", &card(1000)).await;
    let card_id = s(&json(&r), "id");
    let r = h.create(KEY_A, "mem-pix", &pix_at("stripe")).await;
    let pix = json(&r);
    let pix_id = s(&pix, "id");
    run().await;
    // The gateway's webhook, straight onto the in-process queue as the receiver would put it.
    let body = stripe_pi_event(
        "evt_mem",
        "payment_intent.succeeded",
        &s(&pix, "gateway_payment_id"),
        &pix_id,
    );
    let env =
        shared::ports::WebhookEnvelope::new("stripe", tid, chrono::Utc::now(), body.as_bytes());
    shared::ports::WebhookQueue::send(queue.as_ref(), &env)
        .await
        .unwrap();
    run().await;
    // A batch is delivered concurrently: compare as a set, one of each.
    let mut got: Vec<(String, String)> = merchant
        .received()
        .into_iter()
        .map(|c| {
            let b: serde_json::Value = serde_json::from_str(&c.body).unwrap();
            (
                b["data"]["id"].as_str().unwrap_or("").to_string(),
                b["type"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (card_id, "payment.succeeded".to_string()),
        (pix_id.clone(), "payment.pending".to_string()),
        (pix_id, "payment.succeeded".to_string()),
    ];
    want.sort();
    assert_eq!(got, want);
}
