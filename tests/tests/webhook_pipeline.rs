//! Issue 29, defect 1 and the queue items of defect 4: one dead merchant endpoint cannot stall
//! the pipeline. Each test here fails on the previous main, where a failing callback stayed *in
//! flight* on the one queue for its whole schedule (`ChangeMessageVisibility`), every event of a
//! dead endpoint was attempted, attempts were SQS's receive count, and a poison message ran the
//! whole schedule before reaching the DLQ still marked `pending`.
//!
//! Time is a controlled clock for the worker and `MemoryQueue::reveal_waiting` for the queue
//! (the queue's side of moving the clock ahead).

use chrono::Duration as Days;
use integration_tests::merchant::Merchant;
use integration_tests::pipeline::CALLBACK_SECRET;
use integration_tests::{
    get_path, json, on_both_backends, post_path, post_payment, Backend, Harness, OutboxFeed, KEY_A,
    KEY_B,
};
use serde_json::{json, Value};
use shared::adapters::memory::{MemoryQueue, MemoryQueues};
use shared::clock::Clock;
use shared::domain::{CallbackUrl, EndpointHealth, TenantId};
use shared::ports::{DeliveryMessage, EndpointKey, QueueKind, WebhookQueue};
use shared::service::webhooks::{
    QueueMessage, Relay, RetrySchedule, TenantCache, WebhookWorker, CRASH_RECEIVES,
};
use std::sync::Arc;
use std::time::Duration;

struct Fixture {
    h: Harness,
    queues: Arc<MemoryQueues>,
    worker: WebhookWorker,
    feed: OutboxFeed,
    relay: Relay,
    /// ten_a's endpoint: answers 500.
    dead: Merchant,
    /// ten_b's endpoint: answers 200.
    healthy: Merchant,
}

async fn fixture(backend: Backend) -> Fixture {
    let h = Harness::new(backend).await;
    let dead = Merchant::start().await;
    dead.respond_with(500);
    let healthy = Merchant::start().await;
    for (id, m) in [("ten_a", &dead), ("ten_b", &healthy)] {
        let tid = TenantId::parse(id).unwrap();
        let mut t = h.stores.tenants.get(&tid).await.unwrap().unwrap();
        t.callback_url = Some(CallbackUrl::parse(&m.url, true).unwrap());
        t.callback_secrets = vec![CALLBACK_SECRET.into()];
        h.stores.tenants.put(&t).await.unwrap();
    }
    let queues = Arc::new(MemoryQueues::new(
        shared::service::webhooks::MAX_RECEIVE_COUNT,
        10_000,
    ));
    let mut h = h;
    h.svc.set_delivery_queue(queues.clone());
    let worker = WebhookWorker::new(
        shared::gateways::webhooks::WebhookRegistry::standard(),
        TenantCache::new(h.stores.tenants.clone(), Duration::ZERO),
        h.stores.worker_stores(),
        Arc::new(shared::adapters::http::HttpCallbackSender::new(true).expect("sender")),
        queues.clone(),
        h.clock.clone(),
        RetrySchedule::default(),
    );
    let feed = h.stores.outbox_feed().await;
    Fixture {
        relay: Relay::new(queues.clone()),
        h,
        queues,
        worker,
        feed,
        dead,
        healthy,
    }
}

fn card(amount: i64) -> Value {
    json!({"amount": amount, "currency": "BRL", "method": "card", "gateway": "stripe",
        "card": {"tokens": {"stripe": "pm_card_visa"}}})
}

impl Fixture {
    /// `n` card payments of the tenant of `key` (one `payment.succeeded` event each).
    async fn pay(&mut self, key: &str, prefix: &str, n: usize) -> Vec<String> {
        let mut ids = Vec::new();
        for i in 0..n {
            let r = post_payment(&self.h.svc, key, &format!("{prefix}-{i}"), &card(1011)).await;
            assert_eq!(r.status, 201, "{}", r.body);
            ids.push(json(&r)["id"].as_str().unwrap().to_string());
        }
        while self.feed.relay_once(&self.relay).await.expect("relay") > 0 {}
        ids
    }

    /// One pass of the delivery queue's consumer, as the event source mapping does it; returns
    /// how many messages it handled.
    async fn poll(&self) -> usize {
        let q = &self.queues.delivery;
        let mut n = 0;
        loop {
            let batch = received(q);
            if batch.is_empty() {
                return n;
            }
            n += batch.len();
            let failed = self.worker.process_batch(batch.clone()).await.unwrap();
            for m in batch.iter().filter(|m| !failed.contains(&m.message_id)) {
                q.delete(&m.receipt_handle);
            }
        }
    }

    /// One pass over the intake queue.
    async fn poll_intake(&self) {
        let batch = received(&self.queues.intake);
        if !batch.is_empty() {
            let failed = self.worker.process_batch(batch.clone()).await.unwrap();
            for m in batch.iter().filter(|m| !failed.contains(&m.message_id)) {
                self.queues.intake.delete(&m.receipt_handle);
            }
        }
    }

    /// Moves the worker's clock ahead and makes the queue's waiting messages due, then polls.
    async fn later(&self, by: Days) -> usize {
        self.h.clock.advance(by);
        self.queues.delivery.reveal_waiting();
        self.poll().await
    }

    async fn event_state(&self, key: &str, payment: &str) -> (String, usize) {
        let e = json(
            &get_path(
                &self.h.svc,
                key,
                &format!("/v1/events?payment_id={payment}"),
            )
            .await,
        );
        let ev = &e["data"][0];
        (
            ev["delivery"]["state"].as_str().unwrap_or("").to_string(),
            ev["delivery"]["attempts"].as_array().map_or(0, Vec::len),
        )
    }
}

fn received(q: &MemoryQueue) -> Vec<QueueMessage> {
    q.receive(10, Duration::from_secs(60))
        .into_iter()
        .map(|m| QueueMessage {
            message_id: m.message_id,
            receipt_handle: m.receipt_handle,
            body: m.body,
            receive_count: m.receive_count,
            trace_header: None,
        })
        .collect()
}

/// A dead endpoint's events wait as delayed messages — none in flight — and are not attempted
/// one by one: one probe per backoff step. The other tenant's events go out at once, and the
/// gateway webhooks' queue is another queue altogether.
async fn a_dead_endpoint_holds_nothing_in_flight_and_is_probed_not_hammered(backend: Backend) {
    let mut f = fixture(backend).await;
    f.pay(KEY_A, "dead", 20).await;
    let ok = f.pay(KEY_B, "ok", 5).await;
    assert_eq!(f.poll().await, 25);
    assert_eq!(f.queues.delivery.in_flight(), 0, "nothing waits in flight");
    assert_eq!(
        f.healthy.received().len(),
        5,
        "the other tenant is delivered at once"
    );
    for id in &ok {
        assert_eq!(f.event_state(KEY_B, id).await.0, "delivered");
    }
    let first = f.dead.received().len();
    assert!(
        (1..=10).contains(&first),
        "the first batch's failures open the endpoint's breaker: {first} attempts of 20"
    );
    assert_eq!(
        f.queues.delivery.len(),
        20,
        "every dead-endpoint event still scheduled"
    );
    assert!(
        f.queues
            .delivery
            .hidden_for()
            .iter()
            .all(|d| *d <= Duration::from_secs(900)),
        "no wait longer than one SQS delay"
    );
    // Five seconds later: one probe, not twenty attempts.
    f.later(Days::seconds(6)).await;
    assert_eq!(f.dead.received().len(), first + 1, "one probe");
    assert_eq!(f.queues.delivery.in_flight(), 0);
    // The endpoint comes back: the next probe succeeds and the backlog goes out, each event
    // once, on its next hop.
    f.dead.respond_with(200);
    let failed_so_far = f.dead.received().len();
    for _ in 0..4 {
        f.later(Days::minutes(16)).await;
    }
    let got = f.dead.received();
    let mut delivered: Vec<&str> = got[failed_so_far..]
        .iter()
        .map(|r| r.webhook_id.as_str())
        .collect();
    delivered.sort_unstable();
    let n = delivered.len();
    delivered.dedup();
    assert_eq!(
        (n, delivered.len()),
        (20, 20),
        "each event delivered exactly once"
    );
    assert!(f.queues.delivery.is_empty());
    let health =
        f.h.stores
            .endpoints
            .load(&EndpointKey::new(
                &TenantId::parse("ten_a").unwrap(),
                &f.dead.url,
            ))
            .await
            .unwrap();
    assert!(health.is_healthy(), "{health:?}");
}

/// Failing for five days disables the endpoint (`tenant.endpoint_disabled`): its events are
/// marked `failed`, nothing is attempted; the tenant sees it in `GET /v1/webhook_endpoint`,
/// enables it, and the backlog is resent — each event delivered once.
async fn a_dead_endpoint_is_disabled_after_five_days_and_enabled_by_the_tenant(backend: Backend) {
    let mut f = fixture(backend).await;
    // A merchant still selling: a payment every 12 hours, for five days, to a dead endpoint.
    // Each event runs its own schedule (eight attempts, ≈ 27.6 h) and is then failed; the
    // endpoint is probed at most hourly and disabled once it has failed for five days.
    let mut ids = Vec::new();
    for hour in 0..(5 * 24 + 2) {
        if hour % 12 == 0 {
            ids.extend(f.pay(KEY_A, &format!("five-days-{hour}"), 1).await);
        }
        f.later(Days::hours(1)).await;
    }
    f.later(Days::hours(2)).await;
    let view = json(&get_path(&f.h.svc, KEY_A, "/v1/webhook_endpoint").await);
    assert_eq!(view["state"], "disabled", "{view}");
    // A retry already scheduled hours ahead is marked failed when it comes due.
    for _ in 0..12 {
        f.later(Days::hours(1)).await;
    }
    assert!(
        f.queues.delivery.is_empty(),
        "nothing left scheduled once disabled"
    );
    let attempts = f.dead.received().len();
    assert!(
        attempts <= 5 * 24 + 10,
        "probed at most hourly, not per event: {attempts}"
    );
    for id in &ids {
        assert_eq!(
            f.event_state(KEY_A, id).await.0,
            "failed",
            "shown failed, never pending"
        );
    }
    let view = json(&get_path(&f.h.svc, KEY_A, "/v1/webhook_endpoint").await);
    assert_eq!(view["state"], "disabled", "{view}");
    assert!(view["disabled_at"].is_string());
    // A new event while disabled: marked failed at once, not attempted.
    let late = f.pay(KEY_A, "while-disabled", 1).await;
    f.poll().await;
    assert_eq!(f.dead.received().len(), attempts);
    assert_eq!(f.event_state(KEY_A, &late[0]).await.0, "failed");
    // The merchant fixes the endpoint and enables it: the backlog is resent.
    f.dead.respond_with(200);
    let r = post_path(
        &f.h.svc,
        KEY_A,
        "/v1/webhook_endpoint/enable",
        "enable-1",
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let out = json(&r);
    let backlog = ids.len() + 1;
    assert_eq!(
        (out["state"].as_str(), out["resent"].as_u64()),
        (Some("healthy"), Some(backlog as u64)),
        "{out}"
    );
    f.poll().await;
    for id in ids.iter().chain(&late) {
        assert_eq!(f.event_state(KEY_A, id).await.0, "delivered");
    }
    assert_eq!(
        f.dead.received().len(),
        attempts + backlog,
        "each event of the backlog once"
    );
    // Enabling again (a cut-short call repeated) resends only what is still failed: nothing.
    let again = json(
        &post_path(
            &f.h.svc,
            KEY_A,
            "/v1/webhook_endpoint/enable",
            "enable-2",
            "",
        )
        .await,
    );
    assert_eq!(again["resent"], 0, "{again}");
    // A payment's own URL is an endpoint of its own, asked for by `url`.
    let own = json(
        &get_path(
            &f.h.svc,
            KEY_A,
            &format!(
                "/v1/webhook_endpoint?url={}",
                "http%3A%2F%2F127.0.0.1%3A9%2Fother"
            ),
        )
        .await,
    );
    assert_eq!(
        (own["state"].as_str(), own["url"].as_str()),
        (Some("healthy"), Some("http://127.0.0.1:9/other")),
        "{own}"
    );
    let bogus = get_path(&f.h.svc, KEY_A, "/v1/webhook_endpoint?starting_after=0:").await;
    assert_eq!(
        bogus.status, 400,
        "a parameter of enable only: {}",
        bogus.body
    );
    // The other tenant never knew.
    let other = json(&get_path(&f.h.svc, KEY_B, "/v1/webhook_endpoint").await);
    assert_eq!(other["state"], "healthy");
}

/// Attempts are the message's own count: a worker that crashed or timed out on a message (SQS
/// counted receives) spends none; one that keeps crashing on the same copy is dead-lettered
/// with its event shown `failed`. A poison message reaches the DLQ on its first attempt.
async fn attempts_are_the_workers_own_and_poison_is_dead_lettered_at_once(backend: Backend) {
    let mut f = fixture(backend).await;
    let id = f.pay(KEY_A, "crash", 1).await.remove(0);
    let q = &f.queues.delivery;
    // Received three times and never answered (timeouts): SQS's count is 3.
    for _ in 0..3 {
        assert_eq!(q.receive(10, Duration::ZERO).len(), 1);
    }
    f.poll().await;
    let (state, attempts) = f.event_state(KEY_A, &id).await;
    assert_eq!(
        (state.as_str(), attempts),
        ("pending", 1),
        "the first attempt, not the fourth"
    );
    let copy: DeliveryMessage = {
        q.reveal_waiting();
        let m = q.receive(1, Duration::from_secs(60)).remove(0);
        q.delete(&m.receipt_handle);
        serde_json::from_str(&m.body).unwrap()
    };
    assert_eq!(copy.attempt, 1, "the retry carries its count");
    // A copy the worker keeps dying on (or an outage kept from being answered): not processed
    // again; it costs one attempt and comes back as a fresh copy.
    let crash = |attempt: u32| {
        let mut c = copy.clone();
        c.attempt = attempt;
        c.due_at_ms = None;
        q.push_after(serde_json::to_string(&c).unwrap(), Duration::ZERO);
        for _ in 0..(CRASH_RECEIVES - 1) {
            assert_eq!(q.receive(10, Duration::ZERO).len(), 1);
        }
    };
    crash(1);
    let sent = f.dead.received().len();
    f.poll().await;
    assert_eq!(
        f.dead.received().len(),
        sent,
        "not attempted on a crash loop"
    );
    assert_eq!(q.dlq_len(), 0);
    let again: DeliveryMessage = {
        q.reveal_waiting();
        let m = q.receive(1, Duration::from_secs(60)).remove(0);
        q.delete(&m.receipt_handle);
        serde_json::from_str(&m.body).unwrap()
    };
    assert_eq!(again.attempt, 2, "the crash cost one attempt");
    assert_eq!(f.event_state(KEY_A, &id).await.0, "pending");
    // The same on its last attempt: dead-lettered, and the event shows it.
    crash(RetrySchedule::default().max_attempts() - 1);
    f.poll().await;
    assert_eq!(q.dlq_len(), 1);
    assert_eq!(
        f.event_state(KEY_A, &id).await.0,
        "failed",
        "a DLQ'd event shows failed"
    );
    // Poison: unreadable, an unknown event, an unknown tenant — each to the DLQ on attempt one.
    let ghost = DeliveryMessage::new(
        "evt_01JD0000000000000000000000",
        TenantId::parse("ten_a").unwrap(),
    );
    let stranger = DeliveryMessage::new(
        "evt_01JD0000000000000000000000",
        TenantId::parse("ten_zz").unwrap(),
    );
    for body in [
        "{not json".to_string(),
        serde_json::to_string(&ghost).unwrap(),
        serde_json::to_string(&stranger).unwrap(),
    ] {
        f.queues.delivery.push_after(body, Duration::ZERO);
    }
    f.poll().await;
    f.poll_intake().await;
    assert_eq!(q.dlq_len(), 3, "{:?}", q.dead_letters());
    assert_eq!(
        f.queues.intake.dlq_len(),
        1,
        "an unreadable message: the intake DLQ"
    );
    assert!(q.is_empty(), "nothing retried");
    // The redrive gives a dead-lettered delivery its whole schedule again.
    f.dead.respond_with(200);
    assert_eq!(q.redrive(), 3);
    f.later(Days::seconds(40)).await; // past the endpoint's backoff: the probe succeeds
    f.later(Days::seconds(40)).await;
    assert_eq!(f.event_state(KEY_A, &id).await.0, "delivered");
}

/// A wait longer than SQS's 15-minute delay is made of hops that spend no attempt.
async fn a_long_retry_is_made_of_hops_that_spend_no_attempt(backend: Backend) {
    let mut f = fixture(backend).await;
    let id = f.pay(KEY_A, "hops", 1).await.remove(0);
    f.poll().await; // attempt 1 fails: 5 s
    f.later(Days::seconds(7)).await; // attempt 2 fails: 5 min (the probe)
    f.later(Days::minutes(6)).await; // attempt 3 fails: 30 min
    assert_eq!(f.event_state(KEY_A, &id).await.1, 3);
    let hidden = f.queues.delivery.hidden_for();
    assert_eq!(hidden.len(), 1);
    assert!(hidden[0] <= Duration::from_secs(900), "{hidden:?}");
    // 16 min later the copy is back, not yet due: it hops again without an attempt.
    f.later(Days::minutes(16)).await;
    assert_eq!(f.event_state(KEY_A, &id).await.1, 3, "no attempt on a hop");
    assert_eq!(f.queues.delivery.len(), 1);
    // Due 30 min ± 20 % after attempt 3: attempted on the hop that reaches it.
    let mut hops = 1;
    while f.event_state(KEY_A, &id).await.1 == 3 && hops < 4 {
        f.later(Days::minutes(16)).await;
        hops += 1;
    }
    assert_eq!(f.event_state(KEY_A, &id).await.1, 4, "attempted when due");
    assert!((2..=3).contains(&hops), "{hops} hops of ≤ 15 min");
    // Gateway webhooks are another queue: none of this touched it.
    assert!(f.queues.intake.is_empty());
    let _ = &f.healthy;
}

/// The health records keep the DynamoDB adapter's conditional semantics in memory too.
async fn endpoint_health_store_contract(backend: Backend) {
    let h = Harness::new(backend).await;
    let s = &h.stores.endpoints;
    let key = EndpointKey::new(&TenantId::parse("ten_a").unwrap(), "https://m.example/hook");
    let twin = EndpointKey::new(
        &TenantId::parse("ten_a.test").unwrap(),
        "https://m.example/hook",
    );
    assert_eq!(key, twin, "test and live callbacks reach one endpoint");
    assert_eq!(s.load(&key).await.unwrap(), EndpointHealth::default());
    let failing = EndpointHealth::default().after_failure(
        chrono::Utc::now(),
        "HTTP 500",
        &shared::domain::EndpointPolicy::default(),
    );
    assert!(s.save(&key, 0, &failing).await.unwrap());
    assert!(
        !s.save(&key, 0, &failing).await.unwrap(),
        "version moved on"
    );
    assert_eq!(s.load(&key).await.unwrap(), failing);
    let healed = failing.after_success();
    assert!(!s.save(&key, 7, &healed).await.unwrap());
    assert!(s.save(&key, failing.version, &healed).await.unwrap());
    assert!(s.load(&key).await.unwrap().is_healthy());
    let other = EndpointKey::new(&TenantId::parse("ten_b").unwrap(), "https://m.example/hook");
    assert_eq!(
        s.load(&other).await.unwrap(),
        EndpointHealth::default(),
        "per tenant"
    );
}

on_both_backends!(
    a_dead_endpoint_holds_nothing_in_flight_and_is_probed_not_hammered,
    a_dead_endpoint_is_disabled_after_five_days_and_enabled_by_the_tenant,
    attempts_are_the_workers_own_and_poison_is_dead_lettered_at_once,
    a_long_retry_is_made_of_hops_that_spend_no_attempt,
    endpoint_health_store_contract,
);

/// The intake queue carries only gateway webhooks, the delivery queue only merchant events.
#[tokio::test]
async fn intake_and_delivery_are_separate_queues() {
    let queues = MemoryQueues::new(6, 10);
    let env = shared::ports::WebhookEnvelope::new(
        "stripe",
        TenantId::parse("ten_a").unwrap(),
        chrono::Utc::now(),
        b"{}",
    );
    queues.send(&env).await.unwrap();
    queues
        .send_delivery(&DeliveryMessage::new(
            "evt_x",
            TenantId::parse("ten_a").unwrap(),
        ))
        .await
        .unwrap();
    queues
        .send_later(QueueKind::Delivery, "{}", Duration::from_secs(3600), None)
        .await
        .unwrap();
    assert_eq!((queues.intake.len(), queues.delivery.len()), (1, 2));
    assert!(queues.delivery.hidden_for()[0] <= Duration::from_secs(900));
}

/// A refund reported before the payment's success (the success webhook still on its way) is
/// retried on the schedule while the payment can still succeed, and applied once it has. On the
/// previous main it was recorded as unmatched after the 5-minute grace and never applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refund_reported_before_the_success_is_applied_after_it() {
    use integration_tests::pipeline::{stripe_pi_event, stripe_refund_event};
    let mut f = fixture(Backend::Memory).await;
    let mut body = integration_tests::pix_body(1990);
    body["gateway"] = "stripe".into();
    let r = post_payment(&f.h.svc, KEY_B, "early-refund", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = json(&r);
    let (id, pi) = (
        p["id"].as_str().unwrap().to_string(),
        p["gateway_payment_id"].as_str().unwrap().to_string(),
    );
    let tenant = TenantId::parse("ten_b").unwrap();
    let enqueue = |body: String, minutes_ago: i64| {
        let env = shared::ports::WebhookEnvelope::new(
            "stripe",
            tenant.clone(),
            f.h.clock.now() - Days::minutes(minutes_ago),
            body.as_bytes(),
        );
        let q = f.queues.clone();
        async move { q.send(&env).await.unwrap() }
    };
    // The refund arrives first, already 10 minutes old (past the unmatched grace).
    enqueue(
        stripe_refund_event(
            "evt_rf_early",
            "refund.created",
            "re_early",
            &pi,
            1990,
            "succeeded",
            None,
        ),
        10,
    )
    .await;
    f.poll_intake().await;
    let unmatched = json(&get_path(&f.h.svc, KEY_B, "/v1/webhooks/unmatched").await);
    assert_eq!(
        unmatched["data"].as_array().unwrap().len(),
        0,
        "{unmatched}"
    );
    assert_eq!(f.queues.intake.len(), 1, "retried on the schedule");
    // The success, then the refund's retry.
    enqueue(
        stripe_pi_event("evt_ok_late", "payment_intent.succeeded", &pi, &id),
        0,
    )
    .await;
    f.poll_intake().await;
    f.h.clock.advance(Days::seconds(7));
    f.queues.intake.reveal_waiting();
    f.poll_intake().await;
    let after = json(&get_path(&f.h.svc, KEY_B, &format!("/v1/payments/{id}")).await);
    assert_eq!(after["status"], "refunded", "{after}");
    assert!(f.queues.intake.is_empty());
    let _ = f.feed.relay_once(&f.relay).await;
}
