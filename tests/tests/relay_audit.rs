//! The relay audit (`service/webhooks/relay_audit.rs`), both backends: a relay outage longer
//! than the outbox stream's 24 h retention loses the feed records of the events written
//! meanwhile (memory: the feed is acknowledged without a send; DynamoDB on moto: the stream is
//! never polled). Once those events are older than the retention, the audit hands each one still
//! pending with no attempt to the delivery queue exactly once — and none that was delivered, has
//! an attempt, or lies outside its window; a second audit after delivery hands over nothing.

use chrono::{Duration, Utc};
use integration_tests::{json, on_both_backends, pix_body, post_payment, tenant, Backend, Stores};
use integration_tests::{KEY_A, KEY_B, TEST_KEY_A};
use shared::adapters::memory::MemoryQueue;
use shared::clock::ManualClock;
use shared::domain::{DeliveryAttempt, DeliveryState, PaymentId, TenantId};
use shared::ports::{DeliveryMessage, EventFilter, Tenant};
use shared::service::{effects_for, Orchestrator, ServiceConfig};
use std::collections::BTreeMap;
use std::sync::Arc;

struct World {
    stores: Stores,
    svc: Orchestrator,
    clock: Arc<ManualClock>,
    queue: Arc<MemoryQueue>,
}

async fn world(backend: Backend) -> World {
    let stores = Stores::new(backend).await;
    let mut a: Tenant = tenant("ten_a", KEY_A);
    // The test-mode key: its payments and events are the test twin's (`ten_a.test`).
    a.api_key_sha256
        .push(shared::ports::hash_api_key(TEST_KEY_A));
    for t in [a, tenant("ten_b", KEY_B)] {
        stores.tenants.put(&t).await.expect("seed tenant");
    }
    // Event ids carry the writer's (system) time; the service clock starts at the same instant.
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (registry, _) = shared::gateways::simulators_with_clock(clock.clone());
    let queue = Arc::new(MemoryQueue::new(8));
    let svc = Orchestrator::new(
        stores.idempotency.clone(),
        stores.payments.clone(),
        stores.tenants.clone(),
        registry,
        clock.clone(),
        ServiceConfig::default(),
    )
    .with_breaker_store(stores.breakers.clone())
    .with_create_commit(stores.commit.clone())
    .with_events(stores.outbox.clone(), stores.events.clone())
    .with_usage(stores.usage.clone())
    .with_delivery_queue(queue.clone());
    World {
        stores,
        svc,
        clock,
        queue,
    }
}

impl World {
    /// Creates a Pix payment (one `payment.pending` event) and returns its tenant and event id.
    async fn pay(&self, key: &str, idem: &str) -> (TenantId, String, PaymentId) {
        let r = post_payment(&self.svc, key, idem, &pix_body(1990)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let id = PaymentId::parse(json(&r)["id"].as_str().unwrap_or_default()).expect("id");
        let tenant = TenantId::parse(if key == TEST_KEY_A {
            "ten_a.test"
        } else if key == KEY_B {
            "ten_b"
        } else {
            "ten_a"
        })
        .expect("tenant");
        let filter = EventFilter {
            payment_id: Some(id.clone()),
            ..Default::default()
        };
        let page = self
            .stores
            .outbox
            .list(&tenant, &filter, 10, None)
            .await
            .expect("events");
        assert_eq!(page.items.len(), 1, "one event per create");
        (tenant, page.items[0].event.id.clone(), id)
    }

    /// A copy of payment `like` under a new id whose event's id was minted at `at` (as if
    /// written then), stored with its event.
    async fn pay_at(&self, tenant: &TenantId, like: &PaymentId, at: chrono::DateTime<Utc>) {
        let mut p = self
            .stores
            .payments
            .get(tenant, like)
            .await
            .expect("read")
            .expect("payment");
        p.id = PaymentId::generate();
        let mut effects = effects_for(None, &p, at);
        let ms = u64::try_from(at.timestamp_millis()).expect("after 1970");
        effects.events[0].id = format!("evt_{}", ulid::Ulid::from_parts(ms, 7));
        self.stores
            .payments
            .insert(&p, &effects)
            .await
            .expect("insert");
    }

    /// Everything on the delivery queue (received and deleted), as event id → copies.
    fn take_queue(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        loop {
            let batch = self.queue.receive(10, std::time::Duration::from_secs(60));
            if batch.is_empty() {
                return out;
            }
            for m in batch {
                let msg: DeliveryMessage = serde_json::from_str(&m.body).expect("delivery message");
                *out.entry(msg.deliver_event).or_insert(0) += 1;
                self.queue.delete(&m.receipt_handle);
            }
        }
    }
}

fn attempt(status: u16) -> DeliveryAttempt {
    DeliveryAttempt {
        at: Utc::now(),
        http_status: Some(status),
        duration_ms: 12,
        error: (status >= 300).then(|| "merchant answered 500".to_string()),
        response_excerpt: None,
    }
}

async fn an_outage_longer_than_the_stream_retention_is_repaired_by_the_audit(backend: Backend) {
    let w = world(backend).await;
    // Written during the outage: the relay never hands them over.
    let (ta, lost_a, pa) = w.pay(KEY_A, "audit-lost-a").await;
    let (tt, lost_test, _) = w.pay(TEST_KEY_A, "audit-lost-test").await;
    let (tb, lost_b, _) = w.pay(KEY_B, "audit-lost-b").await;
    // Handed over before the outage and already delivered, or retrying (an attempt logged).
    let (_, delivered, _) = w.pay(KEY_A, "audit-delivered").await;
    let (_, retrying, _) = w.pay(KEY_B, "audit-retrying").await;
    w.stores
        .outbox
        .record_attempt(
            &ta,
            &delivered,
            Some(&attempt(200)),
            DeliveryState::Delivered,
        )
        .await
        .expect("delivered");
    w.stores
        .outbox
        .record_attempt(&tb, &retrying, Some(&attempt(500)), DeliveryState::Pending)
        .await
        .expect("attempt");
    // Lost too, but outside the window the audit will look at (4 h before, 2 h after).
    let now = Utc::now();
    w.pay_at(&ta, &pa, now - Duration::hours(4)).await;
    w.pay_at(&ta, &pa, now + Duration::hours(2)).await;

    // The outage: the feed moves on (memory) / nobody reads the stream (DynamoDB) until the
    // records are past the stream's retention.
    if let Some(m) = &w.stores.memory_outbox {
        while let Some((_, id)) = m.peek_feed() {
            m.ack(&id);
        }
    }
    assert!(w.take_queue().is_empty(), "the relay handed nothing over");

    // 25 h 30 min later: the audit's window (28 h to 25 h ago) holds the events just written.
    w.clock.advance(Duration::minutes(25 * 60 + 30));
    let report = w.svc.relay_audit().await.expect("audit");
    let queued = w.take_queue();
    let want: BTreeMap<String, usize> = [&lost_a, &lost_test, &lost_b]
        .into_iter()
        .map(|id| (id.clone(), 1))
        .collect();
    assert_eq!(queued, want, "each lost event once, nothing else");
    assert_eq!(
        (report.requeued, report.examined, report.failed),
        (3, 5, 0),
        "{report:?}"
    );
    // ten_a, ten_a.test, ten_b, ten_b.test.
    assert_eq!(report.tenants, 4);

    // The worker delivers them; the next audit over the same window hands over nothing.
    for (t, id) in [(&ta, &lost_a), (&tt, &lost_test), (&tb, &lost_b)] {
        w.stores
            .outbox
            .record_attempt(t, id, Some(&attempt(200)), DeliveryState::Delivered)
            .await
            .expect("delivered");
    }
    let again = w.svc.relay_audit().await.expect("audit");
    assert_eq!((again.requeued, again.examined), (0, 5), "{again:?}");
    assert!(w.take_queue().is_empty());
}

/// More events in the window than one listing page (200): every page is read, none twice.
async fn the_audit_reads_every_page_of_a_busy_window(backend: Backend) {
    let w = world(backend).await;
    let (ta, _, pa) = w.pay(KEY_A, "audit-busy").await;
    let base = Utc::now();
    for i in 0..230 {
        w.pay_at(&ta, &pa, base + Duration::milliseconds(i)).await;
    }
    if let Some(m) = &w.stores.memory_outbox {
        while let Some((_, id)) = m.peek_feed() {
            m.ack(&id);
        }
    }
    w.clock.advance(Duration::minutes(25 * 60 + 30));
    let report = w.svc.relay_audit().await.expect("audit");
    let queued = w.take_queue();
    assert_eq!(queued.len(), 231);
    assert!(queued.values().all(|n| *n == 1), "each once");
    assert_eq!((report.requeued, report.examined), (231, 231));
}

on_both_backends!(
    an_outage_longer_than_the_stream_retention_is_repaired_by_the_audit,
    the_audit_reads_every_page_of_a_busy_window,
);
