//! One contract for each store port, run against the in-memory and the DynamoDB (moto) adapter.

use chrono::Duration;
use integration_tests::{on_both_backends, t0, tenant, Backend, Stores};
use shared::domain::{
    BreakerConfig, BreakerRecord, CreateSteps, Currency, IdempotencyKey, Money, Payment, PaymentId,
    PaymentMethod, PaymentStatus, Phase, StepState, TenantId, Transition, WindowSlot, MAX_PROBES,
};
use shared::ports::{
    hash_api_key, BreakerKey, ClaimOutcome, ClaimRequest, Effects, KeyCompletion, PaymentFilter,
    StoreError, StoredResponse,
};
use std::collections::BTreeMap;

fn tid(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

fn claim_req(
    tenant: &str,
    key: &str,
    fp: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ClaimRequest {
    ClaimRequest {
        tenant_id: tid(tenant),
        key: IdempotencyKey::parse(key).unwrap(),
        fingerprint: fp.into(),
        candidate_payment_id: PaymentId::generate(),
        now,
        in_flight_until: now + Duration::seconds(30),
        expires_at: now + Duration::hours(24),
        steps: Default::default(),
        rate: None,
        sweep_body: None,
    }
}

fn acquired(o: ClaimOutcome) -> shared::ports::Lease {
    match o {
        ClaimOutcome::Acquired(l) => l,
        other => panic!("expected Acquired, got {other:?}"),
    }
}

async fn idempotency_claim_replay_mismatch_in_flight(b: Backend) {
    let s = Stores::new(b).await;
    let st = &s.idempotency;
    let now = t0();
    let req = claim_req("ten_a", "k1", "fp1", now);
    let lease = acquired(st.claim(&req).await.unwrap());
    assert_eq!(lease.payment_id, req.candidate_payment_id);
    assert!(!lease.takeover);

    assert_eq!(
        st.claim(&claim_req("ten_a", "k1", "fp1", now))
            .await
            .unwrap(),
        ClaimOutcome::InFlight
    );
    assert_eq!(
        st.claim(&claim_req("ten_a", "k1", "fp2", now))
            .await
            .unwrap(),
        ClaimOutcome::FingerprintMismatch
    );

    let key = IdempotencyKey::parse("k1").unwrap();
    let resp = StoredResponse {
        status: 201,
        body: "{\"id\":1}".into(),
    };
    let mut wrong = lease.clone();
    wrong.token = "not-the-lease".into();
    assert!(matches!(
        st.complete(
            &tid("ten_a"),
            &key,
            &wrong,
            &resp,
            now + Duration::hours(24)
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    st.complete(
        &tid("ten_a"),
        &key,
        &lease,
        &resp,
        now + Duration::hours(24),
    )
    .await
    .unwrap();
    assert_eq!(
        st.claim(&claim_req("ten_a", "k1", "fp1", now + Duration::hours(1)))
            .await
            .unwrap(),
        ClaimOutcome::Replay(resp.clone())
    );
    assert_eq!(
        st.claim(&claim_req("ten_a", "k1", "fp2", now + Duration::hours(1)))
            .await
            .unwrap(),
        ClaimOutcome::FingerprintMismatch
    );
    // A completed record can't be completed or released again.
    assert!(st
        .complete(&tid("ten_a"), &key, &lease, &resp, now)
        .await
        .is_err());
    assert!(st.release(&tid("ten_a"), &key, &lease).await.is_err());

    // Same key, other tenant: independent.
    let other = claim_req("ten_b", "k1", "fp-other", now);
    assert_eq!(
        acquired(st.claim(&other).await.unwrap()).payment_id,
        other.candidate_payment_id
    );

    // After retention the key is new again, with a new payment id.
    let later = claim_req(
        "ten_a",
        "k1",
        "fp2",
        now + Duration::hours(24) + Duration::seconds(1),
    );
    let l2 = acquired(st.claim(&later).await.unwrap());
    assert_eq!(l2.payment_id, later.candidate_payment_id);
    assert!(!l2.takeover);
}

async fn idempotency_takeover_keeps_payment_id(b: Backend) {
    let s = Stores::new(b).await;
    let st = &s.idempotency;
    let now = t0();
    let first = claim_req("ten_a", "crash", "fp", now);
    let crashed = acquired(st.claim(&first).await.unwrap());

    // Still in flight one second before its deadline.
    assert_eq!(
        st.claim(&claim_req(
            "ten_a",
            "crash",
            "fp",
            now + Duration::seconds(29)
        ))
        .await
        .unwrap(),
        ClaimOutcome::InFlight
    );
    // A different body never takes over.
    assert_eq!(
        st.claim(&claim_req(
            "ten_a",
            "crash",
            "other",
            now + Duration::seconds(31)
        ))
        .await
        .unwrap(),
        ClaimOutcome::FingerprintMismatch
    );
    let retry = claim_req("ten_a", "crash", "fp", now + Duration::seconds(31));
    let taken = acquired(st.claim(&retry).await.unwrap());
    assert!(taken.takeover);
    assert_eq!(
        taken.payment_id, first.candidate_payment_id,
        "takeover keeps the first payment id"
    );
    assert_ne!(taken.payment_id, retry.candidate_payment_id);

    // The crashed holder wakes up: it can neither complete nor release any more.
    let key = IdempotencyKey::parse("crash").unwrap();
    let resp = StoredResponse {
        status: 201,
        body: "{}".into(),
    };
    assert!(st
        .complete(
            &tid("ten_a"),
            &key,
            &crashed,
            &resp,
            now + Duration::hours(24)
        )
        .await
        .is_err());
    assert!(st.release(&tid("ten_a"), &key, &crashed).await.is_err());
    // The new holder's claim is live: a concurrent retry sees it in flight.
    assert_eq!(
        st.claim(&claim_req(
            "ten_a",
            "crash",
            "fp",
            now + Duration::seconds(32)
        ))
        .await
        .unwrap(),
        ClaimOutcome::InFlight
    );
    st.complete(
        &tid("ten_a"),
        &key,
        &taken,
        &resp,
        now + Duration::hours(24),
    )
    .await
    .unwrap();
    assert_eq!(
        st.claim(&claim_req(
            "ten_a",
            "crash",
            "fp",
            now + Duration::seconds(40)
        ))
        .await
        .unwrap(),
        ClaimOutcome::Replay(resp)
    );
}

async fn idempotency_release_frees_the_key(b: Backend) {
    let s = Stores::new(b).await;
    let st = &s.idempotency;
    let now = t0();
    let key = IdempotencyKey::parse("rel").unwrap();
    let lease = acquired(
        st.claim(&claim_req("ten_a", "rel", "fp", now))
            .await
            .unwrap(),
    );
    let mut wrong = lease.clone();
    wrong.token = "x".into();
    assert!(matches!(
        st.release(&tid("ten_a"), &key, &wrong).await,
        Err(StoreError::Conflict(_))
    ));
    st.release(&tid("ten_a"), &key, &lease).await.unwrap();
    assert_eq!(s.idempotency_count().await, 0);
    // Even a different body may use the key now: nothing was stored for it.
    let again = claim_req("ten_a", "rel", "fp-new", now);
    assert_eq!(
        acquired(st.claim(&again).await.unwrap()).payment_id,
        again.candidate_payment_id
    );
}

fn payment(tenant: &str, reference: Option<&str>, status: PaymentStatus) -> Payment {
    Payment {
        id: PaymentId::generate(),
        tenant_id: tid(tenant),
        status,
        amount: Money::new(1990, Currency::BRL).unwrap(),
        method: PaymentMethod::Pix,
        gateway: Some("efi".into()),
        gateway_payment_id: Some("g1".into()),
        reference: reference.map(str::to_string),
        description: None,
        metadata: BTreeMap::from([("k".to_string(), "v".to_string())]),
        customer: None,
        card_token: None,
        callback_url: None,
        pix: None,
        boleto: None,
        next_action: None,
        failure: None,
        refunded_amount: 0,
        refunds: vec![],
        attempts: vec![],
        created_at: t0(),
        updated_at: t0(),
        version: 1,
        applied_events: vec![],
        webhooks_applied: 0,
        account: None,
        late_payment: None,
        fee: None,
        net: None,
        overdue_at: None,
    }
}

async fn payments_insert_get_update_scoped_by_tenant(b: Backend) {
    let s = Stores::new(b).await;
    let st = &s.payments;
    let p = payment("ten_a", Some("r1"), PaymentStatus::Pending);
    st.insert(&p, &Effects::none()).await.unwrap();
    assert!(matches!(
        st.insert(&p, &Effects::none()).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(st.get(&tid("ten_a"), &p.id).await.unwrap(), Some(p.clone()));
    assert_eq!(st.get(&tid("ten_b"), &p.id).await.unwrap(), None);
    assert_eq!(
        st.get(&tid("ten_a"), &PaymentId::generate()).await.unwrap(),
        None
    );

    let mut next = p.clone();
    next.status = PaymentStatus::Succeeded;
    next.version = 2;
    st.update(&next, &Effects::none()).await.unwrap();
    assert_eq!(
        st.get(&tid("ten_a"), &p.id).await.unwrap().unwrap().status,
        PaymentStatus::Succeeded
    );
    // Stale writer loses.
    let mut stale = p.clone();
    stale.status = PaymentStatus::Failed;
    stale.version = 2;
    assert!(matches!(
        st.update(&stale, &Effects::none()).await,
        Err(StoreError::Conflict(_))
    ));
    // Another tenant can't overwrite.
    let mut foreign = next.clone();
    foreign.tenant_id = tid("ten_b");
    foreign.version = 3;
    assert!(matches!(
        st.update(&foreign, &Effects::none()).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn payments_list_filters_and_paginates(b: Backend) {
    let s = Stores::new(b).await;
    let st = &s.payments;
    let mut mine = Vec::new();
    for i in 0..7 {
        let status = if i % 2 == 0 {
            PaymentStatus::Pending
        } else {
            PaymentStatus::Succeeded
        };
        let reference = if i < 3 { "shared-ref" } else { "other" };
        let p = payment("ten_a", Some(reference), status);
        st.insert(&p, &Effects::none()).await.unwrap();
        mine.push(p);
        st.insert(
            &payment("ten_b", Some("shared-ref"), PaymentStatus::Pending),
            &Effects::none(),
        )
        .await
        .unwrap();
    }
    mine.sort_by(|a, b| b.id.cmp(&a.id));
    let ids = |v: &[Payment]| v.iter().map(|p| p.id.clone()).collect::<Vec<_>>();

    let all = PaymentFilter::default();
    let p1 = st.list(&tid("ten_a"), &all, 3, None).await.unwrap();
    assert_eq!(ids(&p1.items), ids(&mine[..3]));
    let c1 = p1.next_cursor.clone().expect("more pages");
    let p2 = st.list(&tid("ten_a"), &all, 3, Some(&c1)).await.unwrap();
    assert_eq!(ids(&p2.items), ids(&mine[3..6]));
    let p3 = st
        .list(&tid("ten_a"), &all, 3, p2.next_cursor.as_ref())
        .await
        .unwrap();
    assert_eq!(ids(&p3.items), ids(&mine[6..]));
    assert_eq!(p3.next_cursor, None);
    // Exactly a full page: no phantom next page.
    assert_eq!(
        st.list(&tid("ten_a"), &all, 7, None)
            .await
            .unwrap()
            .next_cursor,
        None
    );

    let by_ref = PaymentFilter {
        reference: Some("shared-ref".into()),
        status: None,
        late_payment: None,
    };
    let r = st.list(&tid("ten_a"), &by_ref, 10, None).await.unwrap();
    assert_eq!(r.items.len(), 3);
    assert!(r.items.iter().all(|p| p.tenant_id == tid("ten_a")));

    let succeeded = PaymentFilter {
        reference: None,
        status: Some(PaymentStatus::Succeeded),
        late_payment: None,
    };
    let s1 = st.list(&tid("ten_a"), &succeeded, 2, None).await.unwrap();
    let want: Vec<_> = mine
        .iter()
        .filter(|p| p.status == PaymentStatus::Succeeded)
        .cloned()
        .collect();
    assert_eq!(ids(&s1.items), ids(&want[..2]));
    let s2 = st
        .list(&tid("ten_a"), &succeeded, 2, s1.next_cursor.as_ref())
        .await
        .unwrap();
    assert_eq!(ids(&s2.items), ids(&want[2..]));
    assert_eq!(s2.next_cursor, None);

    let both = PaymentFilter {
        reference: Some("shared-ref".into()),
        status: Some(PaymentStatus::Pending),
        late_payment: None,
    };
    assert_eq!(
        st.list(&tid("ten_a"), &both, 10, None)
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    assert!(st
        .list(&tid("ten_c"), &all, 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
}

async fn tenants_lookup_and_key_rotation(b: Backend) {
    let s = Stores::new(b).await;
    let st = &s.tenants;
    let mut t = tenant("ten_x", "old-key");
    st.put(&t).await.unwrap();
    assert_eq!(
        st.by_api_key_hash(&hash_api_key("old-key")).await.unwrap(),
        Some(t.clone())
    );
    assert_eq!(st.get(&t.id).await.unwrap(), Some(t.clone()));
    assert_eq!(
        st.by_api_key_hash(&hash_api_key("nope")).await.unwrap(),
        None
    );
    t.api_key_sha256 = vec![hash_api_key("new-key")];
    st.put(&t).await.unwrap();
    assert_eq!(
        st.by_api_key_hash(&hash_api_key("old-key")).await.unwrap(),
        None
    );
    assert_eq!(
        st.by_api_key_hash(&hash_api_key("new-key")).await.unwrap(),
        Some(t)
    );
}

async fn payments_found_by_gateway_reference(b: Backend) {
    let s = Stores::new(b).await;
    let mut p = payment("ten_a", None, PaymentStatus::Pending);
    p.gateway_payment_id = Some("pi_123".into());
    s.payments.insert(&p, &Effects::none()).await.unwrap();
    let mut other = payment("ten_b", None, PaymentStatus::Pending);
    other.gateway_payment_id = Some("pi_123".into());
    s.payments.insert(&other, &Effects::none()).await.unwrap();
    let found = s
        .payments
        .find_by_gateway_ref(&tid("ten_a"), "efi", "pi_123")
        .await
        .unwrap();
    assert_eq!(found.map(|f| f.id), Some(p.id));
    assert_eq!(
        s.payments
            .find_by_gateway_ref(&tid("ten_a"), "stripe", "pi_123")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.payments
            .find_by_gateway_ref(&tid("ten_c"), "efi", "pi_123")
            .await
            .unwrap(),
        None
    );
}

fn merchant_event(p: &Payment, kind: shared::domain::EventType) -> shared::domain::MerchantEvent {
    shared::domain::MerchantEvent {
        id: shared::domain::MerchantEvent::new_id(),
        tenant_id: p.tenant_id.clone(),
        kind,
        payment_id: p.id.clone(),
        refund_id: None,
        payment_version: p.version,
        created_at: t0(),
        callback_url: None,
        payload: format!("{{\"type\":\"{kind}\",\"data\":{{}}}}"),
    }
}

/// The outbox: events are written only with their payment change (all or nothing), listed
/// newest first per tenant with filters and cursors, and keep a delivery log.
async fn outbox_events_ride_with_the_payment_write(b: Backend) {
    use shared::domain::{DeliveryAttempt, DeliveryState, EventType};
    use shared::ports::EventFilter;
    let s = Stores::new(b).await;
    let p = payment("ten_a", None, PaymentStatus::Pending);
    let created = merchant_event(&p, EventType::PaymentPending);
    s.payments
        .insert(&p, &Effects::events(vec![created.clone()]))
        .await
        .unwrap();
    // A refused insert (the id exists) stores no event.
    let dup = merchant_event(&p, EventType::PaymentPending);
    assert!(matches!(
        s.payments
            .insert(&p, &Effects::events(vec![dup.clone()]))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.outbox.get(&tid("ten_a"), &dup.id).await.unwrap(), None);
    // An update and its event: both. A stale update with an event: neither.
    let mut next = p.clone();
    next.status = PaymentStatus::Succeeded;
    next.version = 2;
    let ok = merchant_event(&next, EventType::PaymentSucceeded);
    s.payments
        .update(&next, &Effects::events(vec![ok.clone()]))
        .await
        .unwrap();
    let mut stale = p.clone();
    stale.status = PaymentStatus::Failed;
    stale.version = 2;
    let lost = merchant_event(&stale, EventType::PaymentFailed);
    assert!(matches!(
        s.payments
            .update(&stale, &Effects::events(vec![lost.clone()]))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.outbox.get(&tid("ten_a"), &lost.id).await.unwrap(), None);
    assert_eq!(
        s.payments
            .get(&tid("ten_a"), &p.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        PaymentStatus::Succeeded
    );
    // Another tenant's event and payment.
    let other = payment("ten_b", None, PaymentStatus::Pending);
    let theirs = merchant_event(&other, EventType::PaymentPending);
    s.payments
        .insert(&other, &Effects::events(vec![theirs.clone()]))
        .await
        .unwrap();
    assert_eq!(s.outbox.get(&tid("ten_a"), &theirs.id).await.unwrap(), None);
    // Listing: newest first, tenant-scoped, filters, cursor.
    let all = s
        .outbox
        .list(&tid("ten_a"), &EventFilter::default(), 10, None)
        .await
        .unwrap();
    let ids: Vec<&str> = all.items.iter().map(|e| e.event.id.as_str()).collect();
    assert_eq!(ids, [ok.id.as_str(), created.id.as_str()]);
    let page = s
        .outbox
        .list(&tid("ten_a"), &EventFilter::default(), 1, None)
        .await
        .unwrap();
    assert_eq!(page.next_cursor.as_deref(), Some(ok.id.as_str()));
    let rest = s
        .outbox
        .list(
            &tid("ten_a"),
            &EventFilter::default(),
            1,
            page.next_cursor.as_deref(),
        )
        .await
        .unwrap();
    assert_eq!(rest.items[0].event.id, created.id);
    assert_eq!(rest.next_cursor, None);
    let by_type = EventFilter {
        kind: Some(EventType::PaymentSucceeded),
        payment_id: None,
    };
    let got = s
        .outbox
        .list(&tid("ten_a"), &by_type, 10, None)
        .await
        .unwrap();
    assert_eq!(got.items.len(), 1);
    let by_payment = EventFilter {
        kind: None,
        payment_id: Some(other.id.clone()),
    };
    assert!(s
        .outbox
        .list(&tid("ten_a"), &by_payment, 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
    // Delivery log.
    let stored = s.outbox.get(&tid("ten_a"), &ok.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.state, stored.attempts.len()),
        (DeliveryState::Pending, 0)
    );
    let attempt = DeliveryAttempt {
        at: t0(),
        http_status: Some(500),
        duration_ms: 12,
        error: Some("merchant answered 500".into()),
        response_excerpt: Some("oops".into()),
    };
    s.outbox
        .record_attempt(
            &tid("ten_a"),
            &ok.id,
            Some(&attempt),
            DeliveryState::Pending,
        )
        .await
        .unwrap();
    let mut second = attempt.clone();
    second.http_status = Some(200);
    s.outbox
        .record_attempt(
            &tid("ten_a"),
            &ok.id,
            Some(&second),
            DeliveryState::Delivered,
        )
        .await
        .unwrap();
    let stored = s.outbox.get(&tid("ten_a"), &ok.id).await.unwrap().unwrap();
    assert_eq!(stored.state, DeliveryState::Delivered);
    assert_eq!(stored.attempts, vec![attempt.clone(), second.clone()]);
    // A late failure of a duplicate hand-over never turns a delivered event back.
    assert!(matches!(
        s.outbox
            .record_attempt(
                &tid("ten_a"),
                &ok.id,
                Some(&attempt),
                DeliveryState::Pending
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let stored = s.outbox.get(&tid("ten_a"), &ok.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.state, stored.attempts.len()),
        (DeliveryState::Delivered, 2)
    );
    assert!(matches!(
        s.outbox
            .record_attempt(&tid("ten_b"), &ok.id, None, DeliveryState::Failed)
            .await,
        Err(StoreError::Conflict(_))
    ));
}

/// Unmatched webhooks: recorded once, listed per tenant, newest first.
async fn unmatched_webhooks_are_recorded_once(b: Backend) {
    use shared::ports::UnmatchedWebhook;
    let s = Stores::new(b).await;
    let w = |tenant: &str, id: &str, secs: i64| UnmatchedWebhook {
        tenant_id: tid(tenant),
        gateway: "stripe".into(),
        gateway_event_id: id.into(),
        gateway_payment_id: "pi_x".into(),
        payment_id: None,
        reported: "status:succeeded".into(),
        received_at: t0() + Duration::seconds(secs),
    };
    let exp = t0() + Duration::days(30);
    s.events
        .record_unmatched(&w("ten_a", "evt_1", 0), exp)
        .await
        .unwrap();
    s.events
        .record_unmatched(&w("ten_a", "evt_1", 5), exp)
        .await
        .unwrap();
    s.events
        .record_unmatched(&w("ten_a", "evt_2", 10), exp)
        .await
        .unwrap();
    s.events
        .record_unmatched(&w("ten_b", "evt_3", 20), exp)
        .await
        .unwrap();
    let got = s.events.list_unmatched(&tid("ten_a"), 10).await.unwrap();
    let ids: Vec<&str> = got.iter().map(|w| w.gateway_event_id.as_str()).collect();
    assert_eq!(ids, ["evt_2", "evt_1"]);
    assert_eq!(got[1].received_at, t0(), "the first record is kept");
}

async fn create_commit_writes_both_or_neither(b: Backend) {
    let s = Stores::new(b).await;
    let now = t0();
    let answer = StoredResponse {
        status: 201,
        body: "{\"id\":\"x\"}".into(),
    };
    let commit = |p: Payment, key: &'static str, lease: shared::ports::Lease| {
        let s = &s;
        let answer = answer.clone();
        async move {
            let k = IdempotencyKey::parse(key).unwrap();
            s.commit
                .insert_completing(
                    &p,
                    &Effects::none(),
                    &KeyCompletion {
                        tenant_id: &tid("ten_a"),
                        key: &k,
                        lease: &lease,
                        response: &answer,
                        expires_at: now + Duration::hours(24),
                    },
                )
                .await
                .unwrap()
        }
    };
    // Held lease, new id: both written; the key now replays the answer.
    let lease = acquired(
        s.idempotency
            .claim(&claim_req("ten_a", "c1", "fp", now))
            .await
            .unwrap(),
    );
    let p = payment("ten_a", None, PaymentStatus::Pending);
    assert!(commit(p.clone(), "c1", lease.clone()).await);
    assert_eq!(
        s.payments.get(&tid("ten_a"), &p.id).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        s.idempotency
            .claim(&claim_req("ten_a", "c1", "fp", now))
            .await
            .unwrap(),
        ClaimOutcome::Replay(answer.clone())
    );
    // Completed already (the lease is spent): nothing written, not even the new payment.
    let q = payment("ten_a", None, PaymentStatus::Pending);
    assert!(!commit(q.clone(), "c1", lease).await);
    assert_eq!(s.payments.get(&tid("ten_a"), &q.id).await.unwrap(), None);
    // Lease taken over by someone else: nothing written.
    let lease2 = acquired(
        s.idempotency
            .claim(&claim_req("ten_a", "c2", "fp", now))
            .await
            .unwrap(),
    );
    let mut stale = lease2.clone();
    stale.token = "not-the-holder".into();
    assert!(!commit(q.clone(), "c2", stale).await);
    assert_eq!(s.payments.get(&tid("ten_a"), &q.id).await.unwrap(), None);
    // Payment id exists: the key stays in flight (a takeover race settles it step by step).
    assert!(!commit(p.clone(), "c2", lease2.clone()).await);
    assert_eq!(
        s.idempotency
            .claim(&claim_req("ten_a", "c2", "fp", now))
            .await
            .unwrap(),
        ClaimOutcome::InFlight
    );
    assert_eq!(s.payment_count().await, 1);
}

fn bkey(tenant: &str, gateway: &str) -> BreakerKey {
    BreakerKey::new(&tid(tenant), gateway)
}

async fn breaker_window_adds_atomically_and_restarts_old_buckets(backend: Backend) {
    let stores = Stores::new(backend).await;
    let b = stores.breakers.clone();
    let k = bkey("ten_a", "stripe");
    assert_eq!(b.load(&k).await.unwrap(), BreakerRecord::default());
    // 40 concurrent additions of (1 call, 1 failure) to one bucket: none lost.
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (b, k) = (b.clone(), k.clone());
        tasks.push(tokio::spawn(
            async move { b.add(&k, 0, 3, 6_000, 1, 1).await },
        ));
    }
    for t in tasks {
        assert!(t.await.unwrap().unwrap().is_some());
    }
    let rec = b.load(&k).await.unwrap();
    assert_eq!(
        rec.slots[3],
        WindowSlot {
            bucket_ms: 6_000,
            calls: 40,
            failures: 40
        }
    );
    // A newer bucket in the same slot restarts it; an older one leaves it alone.
    let r = b.add(&k, 0, 3, 66_000, 2, 0).await.unwrap().unwrap();
    assert_eq!((r.slots[3].bucket_ms, r.slots[3].calls), (66_000, 2));
    let r = b.add(&k, 0, 3, 6_000, 5, 5).await.unwrap().unwrap();
    assert_eq!((r.slots[3].bucket_ms, r.slots[3].calls), (66_000, 2));
    // Other tenants and gateways are separate records.
    assert_eq!(
        b.load(&bkey("ten_b", "stripe")).await.unwrap(),
        BreakerRecord::default()
    );
    assert_eq!(
        b.load(&bkey("ten_a", "asaas")).await.unwrap(),
        BreakerRecord::default()
    );
}

async fn breaker_transitions_are_won_once_per_generation(backend: Backend) {
    let stores = Stores::new(backend).await;
    let b = stores.breakers.clone();
    let k = bkey("ten_a", "efi");
    b.add(&k, 0, 0, 6_000, 10, 9).await.unwrap();
    let open = Transition {
        phase: Phase::Open,
        open_until_ms: 90_000,
        opens: 1,
    };
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (b, k) = (b.clone(), k.clone());
        tasks.push(tokio::spawn(async move { b.transition(&k, 0, open).await }));
    }
    let mut winners = 0;
    for t in tasks {
        if let Some(r) = t.await.unwrap().unwrap() {
            winners += 1;
            assert_eq!(
                (r.generation, r.phase, r.open_until_ms, r.opens),
                (1, Phase::Open, 90_000, 1)
            );
            assert_eq!(
                r.totals(6_000, &BreakerConfig::default()),
                (10, 9),
                "opening keeps the window that tripped it"
            );
        }
    }
    assert_eq!(winners, 1, "exactly one instance opens the breaker");
    // Counts from the old generation are dropped.
    assert!(b.add(&k, 0, 0, 6_000, 1, 1).await.unwrap().is_none());
    assert_eq!(b.load(&k).await.unwrap().generation, 1);
    assert!(b
        .transition(&k, 0, Transition::close())
        .await
        .unwrap()
        .is_none());
    let closed = b
        .transition(&k, 1, Transition::close())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (closed.generation, closed.phase, closed.opens),
        (2, Phase::Closed, 0)
    );
    assert_eq!(
        closed.totals(6_000, &BreakerConfig::default()),
        (0, 0),
        "closing starts a clean window"
    );
}

async fn breaker_probe_slots_are_claimed_once(backend: Backend) {
    let stores = Stores::new(backend).await;
    let b = stores.breakers.clone();
    let k = bkey("ten_a", "asaas");
    assert!(
        !b.claim_probe(&k, 0, 0, 1_000, 31_000).await.unwrap(),
        "closed: no probes"
    );
    let open = Transition {
        phase: Phase::Open,
        open_until_ms: 30_000,
        opens: 1,
    };
    b.transition(&k, 0, open).await.unwrap().unwrap();
    assert!(
        !b.claim_probe(&k, 1, 0, 29_999, 60_000).await.unwrap(),
        "still cooling down"
    );
    // Concurrent claims on two slots: exactly one winner per slot.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (b, k) = (b.clone(), k.clone());
        tasks.push(tokio::spawn(async move {
            b.claim_probe(&k, 1, i % 2, 30_000, 60_000).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap().unwrap());
    }
    assert_eq!(won, 2);
    let rec = b.load(&k).await.unwrap();
    assert_eq!(&rec.probes[..3], &[60_000, 60_000, 0]);
    assert!(
        !b.claim_probe(&k, 1, 0, 59_999, 90_000).await.unwrap(),
        "leased"
    );
    assert!(
        b.claim_probe(&k, 1, 0, 60_000, 90_000).await.unwrap(),
        "lease ran out"
    );
    assert!(
        !b.claim_probe(&k, 0, 2, 60_000, 90_000).await.unwrap(),
        "stale generation"
    );
    // A prober that made no call gives its slot back, only its own lease and generation.
    assert!(
        !b.release_probe(&k, 1, 0, 60_000).await.unwrap(),
        "another's lease"
    );
    assert!(
        !b.release_probe(&k, 0, 0, 90_000).await.unwrap(),
        "stale generation"
    );
    assert!(b.release_probe(&k, 1, 0, 90_000).await.unwrap());
    assert_eq!(b.load(&k).await.unwrap().probes[0], 0);
    assert!(
        !b.release_probe(&k, 1, 0, 90_000).await.unwrap(),
        "already free"
    );
    assert!(
        b.claim_probe(&k, 1, 0, 60_001, 90_001).await.unwrap(),
        "claimable again at once"
    );
    // A transition frees every slot.
    let again = b
        .transition(
            &k,
            1,
            Transition {
                phase: Phase::Open,
                open_until_ms: 120_000,
                opens: 2,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.probes, [0; MAX_PROBES]);
}

/// The create path's steps: written by the claim, replaced only under the lease, and handed to
/// a takeover exactly as the crashed holder last recorded them.
async fn idempotency_steps_follow_the_lease(b: Backend) {
    let s = Stores::new(b).await;
    let st = &s.idempotency;
    let now = t0();
    let key = IdempotencyKey::parse("steps").unwrap();
    let mut first = claim_req("ten_a", "steps", "fp", now);
    first.steps = CreateSteps::first_intent("efi", now);
    let holder = acquired(st.claim(&first).await.unwrap());
    assert_eq!(
        holder.steps, first.steps,
        "the claim wrote the first intent"
    );

    let mut failover = first.steps.clone();
    failover
        .settle("efi", StepState::Nothing, Some("http_503".into()))
        .unwrap();
    failover.begin("asaas", now).unwrap();
    st.record_steps(&tid("ten_a"), &key, &holder, &failover)
        .await
        .unwrap();

    // The takeover sees the last recorded steps, not the claim's.
    let mut retry = claim_req("ten_a", "steps", "fp", now + Duration::seconds(31));
    retry.steps = CreateSteps::first_intent("stripe", now);
    let taken = acquired(st.claim(&retry).await.unwrap());
    assert!(taken.takeover);
    assert_eq!(taken.steps, failover);
    assert_eq!(
        taken.steps.intent().map(|i| i.gateway.as_str()),
        Some("asaas")
    );

    // The crashed holder can no longer record a step (it must stop calling gateways).
    let mut stale = failover.clone();
    stale
        .settle("asaas", StepState::Nothing, Some("http_503".into()))
        .unwrap();
    stale.begin("stripe", now).unwrap();
    assert!(matches!(
        st.record_steps(&tid("ten_a"), &key, &holder, &stale).await,
        Err(StoreError::Conflict(_))
    ));
    st.record_steps(&tid("ten_a"), &key, &taken, &stale)
        .await
        .unwrap();
    // Completed: steps can no longer change.
    let resp = StoredResponse {
        status: 201,
        body: "{}".into(),
    };
    st.complete(
        &tid("ten_a"),
        &key,
        &taken,
        &resp,
        now + Duration::hours(24),
    )
    .await
    .unwrap();
    assert!(matches!(
        st.record_steps(&tid("ten_a"), &key, &taken, &failover)
            .await,
        Err(StoreError::Conflict(_))
    ));
}

/// The time-safe rule (issue 23, defect 1): an unsettled claim is never replaced, however old —
/// a claim 24 h + 10 s later takes it over with the same payment id (before the fix it got a
/// fresh id, i.e. a second charge) and restarts its retention, so a claim just after the
/// original 24 h mark cannot replace the takeover either. TTL cannot delete it; once completed
/// it expires 24 h after completion, and only then is the key new again.
async fn idempotency_unsettled_claims_never_expire(b: Backend) {
    let s = Stores::new(b).await;
    let st = &s.idempotency;
    let now = t0();
    let key = IdempotencyKey::parse("old").unwrap();
    let mut first = claim_req("ten_a", "old", "fp", now);
    first.steps = CreateSteps::first_intent("asaas", now);
    let crashed = acquired(st.claim(&first).await.unwrap());

    // DynamoDB's TTL runs two days later: the unsettled record carries no ttl and stays.
    assert_eq!(s.expire_by_ttl(now + Duration::hours(48)).await, 0);
    assert_eq!(s.idempotency_count().await, 1);

    let day_later = now + Duration::hours(24) + Duration::seconds(10);
    assert_eq!(
        st.claim(&claim_req("ten_a", "old", "other", day_later))
            .await
            .unwrap(),
        ClaimOutcome::FingerprintMismatch,
        "an unsettled key is still bound to its request"
    );
    let retry = claim_req("ten_a", "old", "fp", day_later);
    let taken = acquired(st.claim(&retry).await.unwrap());
    assert!(taken.takeover, "taken over, not replaced");
    assert_eq!(taken.payment_id, crashed.payment_id, "same payment id");
    assert_eq!(taken.steps.intent().unwrap().gateway, "asaas");
    // While the takeover runs, a claim just after the original 24 h (+ its in-flight time)
    // finds it in flight.
    let racing = claim_req(
        "ten_a",
        "old",
        "fp",
        now + Duration::hours(24) + Duration::seconds(31),
    );
    assert_eq!(st.claim(&racing).await.unwrap(), ClaimOutcome::InFlight);
    // Its holder dies too; the next takeover, much later, still keeps the id.
    let much_later = now + Duration::days(5);
    let again = acquired(
        st.claim(&claim_req("ten_a", "old", "fp", much_later))
            .await
            .unwrap(),
    );
    assert_eq!(again.payment_id, crashed.payment_id);
    let resp = StoredResponse {
        status: 201,
        body: "{}".into(),
    };
    st.complete(
        &tid("ten_a"),
        &key,
        &again,
        &resp,
        much_later + Duration::hours(24),
    )
    .await
    .unwrap();
    assert_eq!(
        st.claim(&claim_req(
            "ten_a",
            "old",
            "fp",
            much_later + Duration::hours(23) + Duration::minutes(59)
        ))
        .await
        .unwrap(),
        ClaimOutcome::Replay(resp)
    );
    // Completed, it expires with its retention: TTL removes it, and the key is new again.
    assert_eq!(s.expire_by_ttl(much_later + Duration::hours(23)).await, 0);
    assert_eq!(
        s.expire_by_ttl(much_later + Duration::hours(24) + Duration::seconds(1))
            .await,
        1
    );
    let fresh = claim_req(
        "ten_a",
        "old",
        "fp",
        much_later + Duration::hours(24) + Duration::seconds(2),
    );
    let l = acquired(st.claim(&fresh).await.unwrap());
    assert!(!l.takeover);
    assert_eq!(l.payment_id, fresh.candidate_payment_id);
}

/// The sweeper's view: only create claims (those that keep their body) whose deadline passed
/// are listed; adopting one is a takeover (same id, the old holder's steps, its body) that
/// only one caller wins; completed and released claims leave the index.
async fn stale_claims_are_listed_and_adopted_once(b: Backend) {
    let s = Stores::new(b).await;
    let st = &s.idempotency;
    let now = t0();
    let tenant = tid("ten_a");
    let mut create = claim_req("ten_a", "c#1", "fp", now);
    create.steps = CreateSteps::first_intent("stripe", now);
    create.sweep_body = Some("{\"amount\":1}".into());
    let holder = acquired(st.claim(&create).await.unwrap());
    let mut other = claim_req("ten_a", "refund-key", "fp", now);
    other.sweep_body = None;
    acquired(st.claim(&other).await.unwrap());
    let mut done = claim_req("ten_a", "done", "fp", now);
    done.sweep_body = Some("{}".into());
    let done_lease = acquired(st.claim(&done).await.unwrap());
    let resp = StoredResponse {
        status: 201,
        body: "{}".into(),
    };
    st.complete(
        &tenant,
        &IdempotencyKey::parse("done").unwrap(),
        &done_lease,
        &resp,
        now + Duration::hours(24),
    )
    .await
    .unwrap();
    let mut gone = claim_req("ten_a", "gone", "fp", now);
    gone.sweep_body = Some("{}".into());
    let gone_lease = acquired(st.claim(&gone).await.unwrap());
    st.release(
        &tenant,
        &IdempotencyKey::parse("gone").unwrap(),
        &gone_lease,
    )
    .await
    .unwrap();

    assert!(st
        .stale_claims(now + Duration::seconds(29), 10)
        .await
        .unwrap()
        .is_empty());
    let stale = st
        .stale_claims(now + Duration::seconds(31), 10)
        .await
        .unwrap();
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0].key.as_str(), "c#1");
    assert_eq!(stale[0].tenant_id, tenant);

    let key = IdempotencyKey::parse("c#1").unwrap();
    let at = now + Duration::seconds(31);
    assert!(
        st.adopt(&tenant, &key, now + Duration::seconds(20), at, at)
            .await
            .unwrap()
            .is_none(),
        "not before the holder's deadline"
    );
    let until = at + Duration::seconds(20);
    let adopted = st
        .adopt(&tenant, &key, at, until, at + Duration::hours(24))
        .await
        .unwrap()
        .expect("adopted");
    assert_eq!(adopted.lease.payment_id, holder.payment_id);
    assert!(adopted.lease.takeover);
    assert_eq!(adopted.lease.steps.intent().unwrap().gateway, "stripe");
    assert_eq!(adopted.body, "{\"amount\":1}");
    assert_eq!(
        adopted.previous_in_flight_until,
        now + Duration::seconds(30),
        "the last moment the previous holder could have sent"
    );
    assert!(
        st.adopt(&tenant, &key, at, until, at)
            .await
            .unwrap()
            .is_none(),
        "held by the first adopter"
    );
    // The crashed holder can no longer complete; the adopter can, and the claim leaves the index.
    assert!(st
        .complete(&tenant, &key, &holder, &resp, at + Duration::hours(24))
        .await
        .is_err());
    st.complete(
        &tenant,
        &key,
        &adopted.lease,
        &resp,
        at + Duration::hours(24),
    )
    .await
    .unwrap();
    assert!(st
        .stale_claims(now + Duration::days(3), 10)
        .await
        .unwrap()
        .is_empty());
}

on_both_backends!(
    idempotency_unsettled_claims_never_expire,
    stale_claims_are_listed_and_adopted_once,
    idempotency_steps_follow_the_lease,
    create_commit_writes_both_or_neither,
    breaker_window_adds_atomically_and_restarts_old_buckets,
    breaker_transitions_are_won_once_per_generation,
    breaker_probe_slots_are_claimed_once,
    payments_found_by_gateway_reference,
    outbox_events_ride_with_the_payment_write,
    unmatched_webhooks_are_recorded_once,
    idempotency_claim_replay_mismatch_in_flight,
    idempotency_takeover_keeps_payment_id,
    idempotency_release_frees_the_key,
    payments_insert_get_update_scoped_by_tenant,
    payments_list_filters_and_paginates,
    tenants_lookup_and_key_rotation,
    tenant_changes_are_versioned,
    tenant_creation_is_won_once,
    rate_limit_rides_in_the_claim,
    audit_keeps_the_newest_entries,
);

/// Two changes read from the same version: the second is refused, so it can never undo the
/// first (a revoke racing a routing switch); the stored version moves on each write.
async fn tenant_changes_are_versioned(b: Backend) {
    let s = Stores::new(b).await;
    let t = tenant("ten_v", "sk_v_1");
    s.tenants.put(&t).await.unwrap();
    let read = s.tenants.get(&t.id).await.unwrap().unwrap();
    let mut revoke = read.clone();
    revoke.api_key_sha256.clear();
    let mut rename = read.clone();
    rename.name = "renamed".into();
    s.tenants.replace(&revoke).await.unwrap();
    assert!(matches!(
        s.tenants.replace(&rename).await,
        Err(StoreError::Conflict(_))
    ));
    let now = s.tenants.get(&t.id).await.unwrap().unwrap();
    assert!(now.api_key_sha256.is_empty(), "the revoke stands");
    assert_eq!(now.name, t.name);
    assert_eq!(now.version, read.version + 1);
    assert!(s
        .tenants
        .by_api_key_hash(&hash_api_key("sk_v_1"))
        .await
        .unwrap()
        .is_none());
    let mut again = now.clone();
    again.name = "renamed".into();
    s.tenants.replace(&again).await.unwrap();
    assert_eq!(
        s.tenants.get(&t.id).await.unwrap().unwrap().version,
        read.version + 2
    );
}

/// Concurrent creations of one tenant id: exactly one is stored (with its key index); the
/// others write nothing, and a creation over a seeded tenant is refused too.
async fn tenant_creation_is_won_once(b: Backend) {
    let s = Stores::new(b).await;
    let tenants = s.tenants.clone();
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let tenants = tenants.clone();
            tokio::spawn(async move {
                let mut t = tenant("ten_race", &format!("sk_race_{i}"));
                t.name = format!("creator {i}");
                (i, tenants.create(&t).await.unwrap())
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, won) = t.await.unwrap();
        if won {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one creation wins: {winners:?}");
    let w = winners[0];
    let stored = s.tenants.get(&tid("ten_race")).await.unwrap().unwrap();
    assert_eq!(stored.name, format!("creator {w}"));
    for i in 0..6 {
        let found = s
            .tenants
            .by_api_key_hash(&hash_api_key(&format!("sk_race_{i}")))
            .await
            .unwrap();
        assert_eq!(found.is_some(), i == w, "key {i}");
    }
    let seeded = tenant("ten_seeded", "sk_seeded_1");
    s.tenants.put(&seeded).await.unwrap();
    let mut other = tenant("ten_seeded", "sk_seeded_2");
    other.name = "other".into();
    assert!(!s.tenants.create(&other).await.unwrap());
    assert_eq!(
        s.tenants.get(&seeded.id).await.unwrap().unwrap().name,
        seeded.name
    );
}

/// A claim with a rate charge: admitted up to the limit, then refused with nothing stored; a
/// key that exists is answered as before and never charged.
async fn rate_limit_rides_in_the_claim(b: Backend) {
    let s = Stores::new(b).await;
    let now = t0();
    let rate = shared::ports::RateCharge {
        window_start: now,
        window_secs: 60,
        limit: 2,
    };
    let with_rate = |key: &str| {
        let mut r = claim_req("ten_rl", key, "fp", now);
        r.rate = Some(rate.clone());
        r
    };
    let first = acquired(s.idempotency.claim(&with_rate("k1")).await.unwrap());
    acquired(s.idempotency.claim(&with_rate("k2")).await.unwrap());
    let before = s.idempotency_count().await;
    assert_eq!(
        s.idempotency.claim(&with_rate("k3")).await.unwrap(),
        ClaimOutcome::RateLimited
    );
    assert_eq!(
        s.idempotency_count().await,
        before,
        "a refused claim stores nothing"
    );
    // The existing key: in flight (not charged, not refused).
    assert_eq!(
        s.idempotency.claim(&with_rate("k1")).await.unwrap(),
        ClaimOutcome::InFlight
    );
    let _ = first;
    // Another tenant has its own window; the next window admits again.
    let mut other = with_rate("k1");
    other.tenant_id = tid("ten_rl2");
    acquired(s.idempotency.claim(&other).await.unwrap());
    let mut next = with_rate("k4");
    next.rate = Some(shared::ports::RateCharge {
        window_start: now + Duration::seconds(60),
        ..rate.clone()
    });
    acquired(s.idempotency.claim(&next).await.unwrap());
}

/// The audit log lists newest first and keeps only the newest entries.
async fn audit_keeps_the_newest_entries(b: Backend) {
    let s = Stores::new(b).await;
    let t = tid("ten_aud");
    for i in 0..(shared::ports::MAX_AUDIT_ENTRIES + 5) {
        let e = shared::ports::AuditEntry {
            id: format!("aud_{i:04}"),
            at: t0(),
            actor: "key_x".into(),
            action: "routing.update".into(),
            before: serde_json::json!({"i": i}),
            after: serde_json::Value::Null,
        };
        s.audit.record(&t, &e).await.unwrap();
    }
    let all = s.audit.list(&t, 1000).await.unwrap();
    assert_eq!(all.len(), shared::ports::MAX_AUDIT_ENTRIES);
    assert_eq!(
        all[0].id,
        format!("aud_{:04}", shared::ports::MAX_AUDIT_ENTRIES + 4)
    );
    assert_eq!(s.audit.list(&tid("ten_other"), 10).await.unwrap().len(), 0);
    assert_eq!(s.audit.list(&t, 3).await.unwrap().len(), 3);
}
