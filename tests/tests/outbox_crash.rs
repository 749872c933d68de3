//! Crashes around the outbox, over moto (DynamoDB + its stream, SQS): a relay that dies after
//! the status write, and a worker that dies right after applying a gateway webhook while
//! another change lands before its retry. Every event still reaches the merchant exactly once
//! (one `webhook-id` each, none missing). Failpoints are process-wide, so each test holds the
//! `fail` scenario lock.

use fail::FailScenario;
use futures::FutureExt;
use integration_tests::pipeline::*;
use integration_tests::{json, pix_body, post_path, KEY_A};
use shared::ports::DeliveryMessage;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

fn card(amount: i64) -> serde_json::Value {
    serde_json::json!({"amount": amount, "currency": "BRL", "method": "card", "gateway": "stripe",
        "card": {"tokens": {"stripe": "pm_card_visa"}}})
}

fn s(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

/// Every webhook-id the merchant saw, with how many times.
fn deliveries(p: &Pipeline) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for c in p.callbacks() {
        *m.entry(c.webhook_id).or_insert(0) += 1;
    }
    m
}

async fn refund(p: &Pipeline, id: &str, key: &str, amount: i64) -> serde_json::Value {
    let body = serde_json::json!({ "amount": amount }).to_string();
    let r = post_path(
        &p.h.svc,
        KEY_A,
        &format!("/v1/payments/{id}/refunds"),
        key,
        &body,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    json(&r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_crash_after_the_status_write_delays_events_never_loses_or_repeats_them() {
    let scenario = FailScenario::setup();
    let p = Pipeline::start(Duration::from_secs(300)).await;
    // Create answer: the relay dies before handing the event over.
    let pay = p.create("crash-relay-1", &card(1000)).await;
    let id = s(&pay, "id");
    fail::cfg("relay.before_send", "1*return").unwrap();
    assert!(p.relay_once().await.is_err(), "the relay died");
    assert_eq!(p.q.depth(&p.q.url).await, 0, "nothing handed over");
    p.drain().await;
    assert_eq!(p.types_for(&id), ["payment.succeeded"]);

    // A refund writes two events in one transaction; the relay dies between them: the first is
    // not handed over again, the second is not lost.
    refund(&p, &id, "crash-relay-rf", 400).await;
    fail::cfg("relay.before_send", "1*off->1*return").unwrap();
    assert!(p.relay_once().await.is_err());
    p.drain().await;
    assert_eq!(
        p.types_for(&id),
        [
            "payment.succeeded",
            "refund.succeeded",
            "payment.partially_refunded"
        ]
    );

    // A gateway webhook applied by the worker; the relay dies on its event.
    let mut pix = pix_body(1990);
    pix["gateway"] = "stripe".into();
    let pay2 = p.create("crash-relay-2", &pix).await;
    let id2 = s(&pay2, "id");
    p.drain().await;
    p.stripe(&stripe_pi_event(
        "evt_crash_relay",
        "payment_intent.succeeded",
        &s(&pay2, "gateway_payment_id"),
        &id2,
    ))
    .await;
    p.q.poll_once(&p.worker).await;
    fail::cfg("relay.before_send", "1*return").unwrap();
    assert!(p.relay_once().await.is_err());
    p.drain().await;
    assert_eq!(p.types_for(&id2), ["payment.pending", "payment.succeeded"]);

    // A duplicate hand-over (the stream delivers at least once) sends nothing again.
    let delivered = p.callbacks()[0].webhook_id.clone();
    p.queue
        .send_delivery(&DeliveryMessage::new(
            delivered,
            shared::domain::TenantId::parse("ten_a").unwrap(),
        ))
        .await
        .unwrap();
    p.drain().await;
    let counts = deliveries(&p);
    assert_eq!(counts.len(), 5);
    assert!(
        counts.values().all(|n| *n == 1),
        "each event once: {counts:?}"
    );
    scenario.teardown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_crash_after_the_status_write_then_another_change_still_tells_each_once() {
    let scenario = FailScenario::setup();
    let p = Pipeline::start(Duration::from_secs(300)).await;
    let mut pix = pix_body(1990);
    pix["gateway"] = "stripe".into();
    let pay = p.create("crash-worker", &pix).await;
    let id = s(&pay, "id");
    p.drain().await;
    p.stripe(&stripe_pi_event(
        "evt_crash_worker",
        "payment_intent.succeeded",
        &s(&pay, "gateway_payment_id"),
        &id,
    ))
    .await;
    // The worker applies the webhook and dies before acknowledging the message.
    fail::cfg("worker.after_apply", "1*panic").unwrap();
    let batch = p.q.receive().await;
    assert_eq!(batch.len(), 1);
    let crashed = AssertUnwindSafe(p.worker.process_batch(batch.clone()))
        .catch_unwind()
        .await
        .is_err();
    assert!(crashed, "the worker died after the status write");
    assert_eq!(p.payment(&id).await["status"], "succeeded");
    // Before the retry, another change: a refund through the API.
    refund(&p, &id, "crash-worker-rf", 990).await;
    // The message becomes visible again (its visibility timeout) and is retried.
    for m in &batch {
        p.q.client
            .change_message_visibility()
            .queue_url(&p.q.url)
            .receipt_handle(&m.receipt_handle)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    p.drain().await;
    assert_eq!(
        p.types_for(&id),
        [
            "payment.pending",
            "payment.succeeded",
            "refund.succeeded",
            "payment.partially_refunded"
        ]
    );
    let counts = deliveries(&p);
    assert!(
        counts.values().all(|n| *n == 1),
        "each event once: {counts:?}"
    );
    let now = p.payment(&id).await;
    assert_eq!(
        (now["status"].as_str(), now["refunded_amount"].as_i64()),
        (Some("partially_refunded"), Some(990))
    );
    scenario.teardown();
}

/// A refund crashes after the gateway refunded it; Asaas then reports the payment "refunded"
/// without naming the refund (recorded as an external refund of what was left); the retry
/// takes the claim over, gets the same refund from the gateway, and takes that record over:
/// counted once, told once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_crash_then_asaas_refunded_in_full_counts_the_refund_once() {
    let scenario = FailScenario::setup();
    let p = Pipeline::start(Duration::from_secs(300)).await;
    let mut pix = pix_body(1990);
    pix["gateway"] = "asaas".into();
    let pay = p.create("crash-asaas-refund", &pix).await;
    let (id, gid) = (s(&pay, "id"), s(&pay, "gateway_payment_id"));
    let asaas = |eid: &str, kind: &str, status: &str| {
        serde_json::json!({"id": eid, "event": kind, "payment": {"object": "payment", "id": gid,
            "status": status, "value": 19.90, "billingType": "PIX", "externalReference": id}})
        .to_string()
    };
    p.asaas(&asaas("evt_paid", "PAYMENT_RECEIVED", "RECEIVED"))
        .await;
    p.drain().await;
    fail::cfg("refund.after_gateway_call", "1*panic").unwrap();
    let crashed = AssertUnwindSafe(refund(&p, &id, "crash-full-refund", 1990))
        .catch_unwind()
        .await
        .is_err();
    assert!(crashed, "the refund died after the gateway refunded");
    p.asaas(&asaas("evt_refunded", "PAYMENT_REFUNDED", "REFUNDED"))
        .await;
    p.drain().await;
    assert_eq!(p.payment(&id).await["refunded_amount"], 1990);
    // The retry, once the crashed claim has expired.
    p.h.clock.advance(chrono::Duration::seconds(31));
    let again = refund(&p, &id, "crash-full-refund", 1990).await;
    assert_eq!(again["status"], "succeeded");
    p.drain().await;
    let now = p.payment(&id).await;
    assert_eq!(
        (now["status"].as_str(), now["refunded_amount"].as_i64()),
        (Some("refunded"), Some(1990))
    );
    assert_eq!(now["refunds"].as_array().unwrap().len(), 1, "{now}");
    assert_eq!(p.h.asaas.refund_count(), 1, "one refund at the gateway");
    assert_eq!(
        p.types_for(&id),
        [
            "payment.pending",
            "payment.succeeded",
            "refund.succeeded",
            "payment.refunded"
        ]
    );
    scenario.teardown();
}
