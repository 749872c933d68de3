//! Issue 24: a create no gateway could take (the 502) leaves no payment, and is counted in the
//! tenant's usage as `payments.refused` — on both backends, in the write that releases its
//! idempotency claim. A retry with the same key after the outage succeeds as a new create.

use chrono::Duration;
use integration_tests::{
    json, on_both_backends, pix_body, t0, Backend, Harness, Stores, KEY_A, KEY_B,
};
use shared::domain::{usage_names, IdempotencyKey, PaymentId, TenantId, UsageDelta};
use shared::ports::{ClaimOutcome, ClaimRequest, StoreError};

async fn refused_creates_are_counted(b: Backend) {
    let h = Harness::new(b).await;
    // Pix pinned to EFI with an amount ending in 53: the simulator answers 503, nothing is
    // created anywhere, and the request is refused.
    let mut body = pix_body(1053);
    body["gateway"] = "efi".into();
    for i in 0..2 {
        let r = h.create(KEY_A, &format!("refused-{i}"), &body).await;
        assert_eq!(r.status, 502, "{}", r.body);
        assert_eq!(json(&r)["error"]["type"], "gateway");
    }
    assert_eq!(h.stores.payment_count().await, 0);

    let month = json(&h.get(KEY_A, "/v1/usage").await);
    assert_eq!(month["payments"]["refused"], 2, "{month}");
    assert_eq!(month["payments"]["total"], 0, "{month}");
    // The harness's clock is fixed: its day is the answer's `as_of` day.
    let today = month["as_of"]
        .as_str()
        .unwrap_or("")
        .chars()
        .take(10)
        .collect::<String>();
    let day = json(
        &h.get(
            KEY_A,
            &format!("/v1/usage?from={today}&to={today}&granularity=day"),
        )
        .await,
    );
    assert_eq!(day["data"][0]["payments"]["refused"], 2, "{day}");
    // Another tenant's usage is untouched.
    let theirs = json(&h.get(KEY_B, "/v1/usage").await);
    assert_eq!(theirs["payments"]["refused"], 0, "{theirs}");

    // A create that goes through is not a refusal.
    let ok = h.create(KEY_A, "fine-1", &pix_body(1990)).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let month = json(&h.get(KEY_A, "/v1/usage").await);
    assert_eq!(month["payments"]["refused"], 2, "{month}");
    assert_eq!(month["payments"]["total"], 1, "{month}");
}

/// The port's contract: a held lease is released and counted in one step; a lost one is
/// neither (nothing counted, the claim stays with its holder).
async fn release_refused_counts_only_with_the_lease(b: Backend) {
    let s = Stores::new(b).await;
    let st = &s.idempotency;
    let now = t0();
    let tenant = TenantId::parse("ten_a").expect("tenant id");
    let key = IdempotencyKey::parse("refused-contract").expect("key");
    let claim = ClaimRequest {
        tenant_id: tenant.clone(),
        key: key.clone(),
        fingerprint: "fp".into(),
        candidate_payment_id: PaymentId::generate(),
        now,
        in_flight_until: now + Duration::seconds(30),
        expires_at: now + Duration::hours(24),
        steps: Default::default(),
        rate: None,
        sweep_body: None,
    };
    let ClaimOutcome::Acquired(lease) = st.claim(&claim).await.expect("claim") else {
        panic!("expected the claim");
    };
    let refused = UsageDelta::one(&tenant, now, key.as_str(), usage_names::REFUSED);
    let refused_on =
        |days: &std::collections::BTreeMap<chrono::NaiveDate, shared::domain::Counters>| {
            days.values()
                .map(|c| c.get(usage_names::REFUSED))
                .sum::<i64>()
        };
    let mut wrong = lease.clone();
    wrong.token = "not-the-lease".into();
    assert!(matches!(
        st.release_refused(&tenant, &key, &wrong, &refused).await,
        Err(StoreError::Conflict(_))
    ));
    let day = now.date_naive();
    assert_eq!(
        refused_on(&s.usage.days(&tenant, day, day).await.expect("usage")),
        0
    );
    st.release_refused(&tenant, &key, &lease, &refused)
        .await
        .expect("release");
    assert_eq!(
        refused_on(&s.usage.days(&tenant, day, day).await.expect("usage")),
        1
    );
    // Released: the key can be claimed again; released twice: the lease is gone.
    assert!(matches!(
        st.release_refused(&tenant, &key, &lease, &refused).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        refused_on(&s.usage.days(&tenant, day, day).await.expect("usage")),
        1
    );
    assert!(matches!(
        st.claim(&claim).await.expect("claim again"),
        ClaimOutcome::Acquired(_)
    ));
}

on_both_backends!(
    refused_creates_are_counted,
    release_refused_counts_only_with_the_lease
);

/// The review's finding: when the count cannot be written for any reason but a lost lease (a
/// throttled counter, not just a transaction conflict), the claim is still released — plainly,
/// uncounted — rather than left to answer the merchant's retries 409 until its deadline.
/// Before, such a failure returned `Unavailable` and kept the claim.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_counter_never_keeps_the_claim() {
    use integration_tests::dynamo_faults::{faulty_client, Fault};
    let client = faulty_client(std::sync::Arc::new(|op: &str, body: &str| {
        // The release-and-count transaction: a Delete (the claim) and the counter's Update.
        if op != "TransactWriteItems" || !body.contains("\"Delete\"") {
            return None;
        }
        Some(Fault::Answer(
            400,
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "message": "Transaction cancelled",
                "CancellationReasons": [
                    {"Code": "None"},
                    {"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity"}
                ],
            })
            .to_string(),
        ))
    }));
    let s = Stores::dynamo_with(client).await;
    let st = &s.idempotency;
    let now = t0();
    let tenant = TenantId::parse("ten_a").expect("tenant id");
    let key = IdempotencyKey::parse("refused-throttled").expect("key");
    let claim = ClaimRequest {
        tenant_id: tenant.clone(),
        key: key.clone(),
        fingerprint: "fp".into(),
        candidate_payment_id: PaymentId::generate(),
        now,
        in_flight_until: now + Duration::seconds(30),
        expires_at: now + Duration::hours(24),
        steps: Default::default(),
        rate: None,
        sweep_body: None,
    };
    let ClaimOutcome::Acquired(lease) = st.claim(&claim).await.expect("claim") else {
        panic!("expected the claim");
    };
    let refused = UsageDelta::one(&tenant, now, key.as_str(), usage_names::REFUSED);
    st.release_refused(&tenant, &key, &lease, &refused)
        .await
        .expect("released even though the count could not be written");
    assert!(
        matches!(
            st.claim(&claim).await.expect("claim again"),
            ClaimOutcome::Acquired(_)
        ),
        "the key is free for the merchant's retry"
    );
    let day = now.date_naive();
    let counted: i64 = s
        .usage
        .days(&tenant, day, day)
        .await
        .expect("usage")
        .values()
        .map(|c| c.get(usage_names::REFUSED))
        .sum();
    assert_eq!(counted, 0, "released uncounted, never counted twice");
}
