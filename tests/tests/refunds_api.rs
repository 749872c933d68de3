//! `POST /v1/payments/{id}/refunds` through the router, on both backends.

use http::Method;
use integration_tests::{json, on_both_backends, pix_body, Backend, Harness, KEY_A, KEY_B};

fn card(amount: i64) -> serde_json::Value {
    serde_json::json!({"amount": amount, "currency": "BRL", "method": "card", "card": {"tokens": {"stripe": "pm_card_visa"}}})
}

async fn refund(
    h: &Harness,
    key: &str,
    id: &str,
    idem: &str,
    body: &str,
) -> shared::api::ApiResponse {
    let auth = format!("Bearer {key}");
    h.call(
        Method::POST,
        &format!("/v1/payments/{id}/refunds"),
        &[("authorization", &auth), ("idempotency-key", idem)],
        body.to_string(),
    )
    .await
}

async fn partial_then_full_refund_idempotently(b: Backend) {
    let h = Harness::new(b).await;
    let p = json(&h.create(KEY_A, "pay-r", &card(10000)).await);
    let id = p["id"].as_str().unwrap();

    let r1 = refund(
        &h,
        KEY_A,
        id,
        "refund-1",
        r#"{"amount": 2500, "reason": "requested_by_customer"}"#,
    )
    .await;
    assert_eq!(r1.status, 201, "{}", r1.body);
    let b1 = json(&r1);
    assert_eq!(
        (b1["amount"].as_i64(), b1["status"].as_str()),
        (Some(2500), Some("succeeded"))
    );
    assert_eq!(b1["payment"]["status"], "partially_refunded");
    assert_eq!(b1["payment"]["refunded_amount"], 2500);
    assert!(b1["id"].as_str().unwrap().starts_with("ref_"));

    let again = refund(
        &h,
        KEY_A,
        id,
        "refund-1",
        r#"{"amount": 2500, "reason": "requested_by_customer"}"#,
    )
    .await;
    assert_eq!((again.status, again.body.as_str()), (201, r1.body.as_str()));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        h.stripe.refund_count(),
        1,
        "one gateway refund for the retried request"
    );
    let reused = refund(&h, KEY_A, id, "refund-1", r#"{"amount": 3000}"#).await;
    assert_eq!(reused.status, 422);

    let over = refund(&h, KEY_A, id, "refund-over", r#"{"amount": 9000}"#).await;
    assert_eq!(
        (over.status, json(&over)["error"]["code"].as_str()),
        (422, Some("amount_exceeds_refundable"))
    );

    // No amount: everything left.
    let rest = json(&refund(&h, KEY_A, id, "refund-2", "").await);
    assert_eq!(rest["amount"], 7500);
    assert_eq!(rest["payment"]["status"], "refunded");
    assert_eq!(rest["payment"]["refunded_amount"], 10000);
    assert_eq!(rest["payment"]["refunds"].as_array().unwrap().len(), 2);

    let after = refund(&h, KEY_A, id, "refund-3", r#"{"amount": 1}"#).await;
    assert_eq!(
        (after.status, json(&after)["error"]["code"].as_str()),
        (422, Some("invalid_state"))
    );
    let got = json(&h.get(KEY_A, &format!("/v1/payments/{id}")).await);
    assert_eq!(
        (got["status"].as_str(), got["refunded_amount"].as_i64()),
        (Some("refunded"), Some(10000))
    );
    assert_eq!(h.stripe.refund_count(), 2);
}

async fn refusals_write_nothing_and_free_the_key(b: Backend) {
    let h = Harness::new(b).await;
    let pending = json(&h.create(KEY_A, "pay-pix", &pix_body(1990)).await);
    let pid = pending["id"].as_str().unwrap();
    let paid = json(&h.create(KEY_A, "pay-card", &card(5000)).await);
    let cid = paid["id"].as_str().unwrap();
    let records = h.stores.idempotency_count().await;

    let r = refund(&h, KEY_A, pid, "rk", "").await;
    assert_eq!(
        (r.status, json(&r)["error"]["code"].as_str()),
        (422, Some("invalid_state"))
    );
    for (body, code) in [
        (r#"{"amount": 0}"#, "invalid_amount"),
        (r#"{"amount": -5}"#, "invalid_amount"),
        (r#"{"amount": "10"}"#, "parameter_invalid_integer"),
        (r#"{"amount": 10, "extra": 1}"#, "unknown_parameter"),
        ("{oops", "body_not_json"),
    ] {
        let r = refund(&h, KEY_A, cid, "rk", body).await;
        assert_eq!(
            (r.status, json(&r)["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    assert_eq!(
        refund(&h, KEY_B, cid, "rk", "").await.status,
        404,
        "another tenant's payment"
    );
    assert_eq!(
        refund(&h, KEY_A, "pay_01J00000000000000000000000", "rk", "")
            .await
            .status,
        404
    );
    let auth = format!("Bearer {KEY_A}");
    let no_key = h
        .call(
            Method::POST,
            &format!("/v1/payments/{cid}/refunds"),
            &[("authorization", &auth)],
            "",
        )
        .await;
    assert_eq!(no_key.status, 400);
    assert_eq!(
        h.stores.idempotency_count().await,
        records,
        "refusals leave no idempotency record"
    );
    assert_eq!(h.stripe.refund_count(), 0);
    // The same key now works for a valid refund.
    assert_eq!(refund(&h, KEY_A, cid, "rk", "").await.status, 201);
}

/// A refund request whose holder died right after claiming its key: the claim is made on the
/// store as `claim_key` makes it, and never finished.
async fn abandoned_claim(h: &Harness, idem: &str, path: &str, body: &str) {
    use shared::clock::Clock;
    use shared::ports::{ClaimOutcome, ClaimRequest};
    let now = h.clock.now();
    let out = h
        .stores
        .idempotency
        .claim(&ClaimRequest {
            tenant_id: shared::domain::TenantId::parse("ten_a").unwrap(),
            key: shared::domain::IdempotencyKey::parse(idem).unwrap(),
            fingerprint: shared::service::fingerprint("POST", path, body.as_bytes()),
            candidate_payment_id: shared::domain::PaymentId::generate(),
            now,
            in_flight_until: now + chrono::Duration::seconds(30),
            expires_at: now + chrono::Duration::hours(24),
            steps: Default::default(),
            rate: None,
            sweep_body: None,
        })
        .await
        .unwrap();
    assert!(matches!(out, ClaimOutcome::Acquired(_)), "{out:?}");
}

/// The retry that takes over an abandoned refund claim with an explicit amount is checked
/// against the payment as it is now, like a first attempt: a refund under another key that
/// completed meanwhile leaves too little, and a payment that was never paid cannot be refunded.
/// Both are refused without calling the gateway.
async fn a_refund_takeover_still_checks_status_and_amount(b: Backend) {
    let h = Harness::new(b).await;
    let p = json(&h.create(KEY_A, "pay-takeover", &card(10000)).await);
    assert_eq!(p["status"], "succeeded");
    let id = p["id"].as_str().unwrap();
    let path = format!("/v1/payments/{id}/refunds");
    let body = r#"{"amount": 6000}"#;
    abandoned_claim(&h, "refund-taken-over", &path, body).await;
    let other = refund(&h, KEY_A, id, "refund-meanwhile", body).await;
    assert_eq!(other.status, 201, "{}", other.body);
    h.clock.advance(chrono::Duration::seconds(31));
    let taken = refund(&h, KEY_A, id, "refund-taken-over", body).await;
    assert_eq!(
        (taken.status, json(&taken)["error"]["code"].as_str()),
        (422, Some("amount_exceeds_refundable")),
        "{}",
        taken.body
    );
    assert_eq!(h.stripe.refund_count(), 1, "the gateway refunded once");
    let now = json(&h.get(KEY_A, &format!("/v1/payments/{id}")).await);
    assert_eq!(now["refunded_amount"], 6000, "{now}");
    assert_eq!(now["refunds"].as_array().map(Vec::len), Some(1), "{now}");
    // What is left can still be refunded (under a key of its own).
    let rest = refund(&h, KEY_A, id, "refund-rest", r#"{"amount": 4000}"#).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    assert_eq!(h.stripe.refund_count(), 2);

    // A Pix never paid: pending, nothing to refund, whatever the takeover.
    let pix = json(&h.create(KEY_A, "pay-pix-takeover", &pix_body(1990)).await);
    assert_eq!(pix["status"], "pending");
    let pid = pix["id"].as_str().unwrap();
    let path = format!("/v1/payments/{pid}/refunds");
    let body = r#"{"amount": 500}"#;
    abandoned_claim(&h, "refund-unpaid", &path, body).await;
    h.clock.advance(chrono::Duration::seconds(31));
    let unpaid = refund(&h, KEY_A, pid, "refund-unpaid", body).await;
    assert_eq!(
        (unpaid.status, json(&unpaid)["error"]["code"].as_str()),
        (422, Some("invalid_state")),
        "{}",
        unpaid.body
    );
    assert_eq!(h.efi.refund_count(), 0, "nothing refunded at the gateway");
    let now = json(&h.get(KEY_A, &format!("/v1/payments/{pid}")).await);
    assert_eq!(
        (now["status"].as_str(), now["refunded_amount"].as_i64()),
        (Some("pending"), Some(0)),
        "{now}"
    );
}

on_both_backends!(
    partial_then_full_refund_idempotently,
    refusals_write_nothing_and_free_the_key,
    a_refund_takeover_still_checks_status_and_amount
);
