//! The payments API through the real router, on both backends: idempotency, tenancy, outcomes.

use chrono::Duration;
use http::Method;
use integration_tests::{json, on_both_backends, pix_body, Backend, Harness, KEY_A, KEY_B};
use shared::domain::{IdempotencyKey, PaymentId, TenantId};
use shared::ports::{ChargeRequest, ClaimOutcome, ClaimRequest, Gateway};
use shared::service::{fingerprint, gateway_key};

async fn pix_create_replays_identically_with_one_gateway_call(b: Backend) {
    let h = Harness::new(b).await;
    let body = pix_body(1990);
    let first = h.create(KEY_A, "order-42-attempt", &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let p = json(&first);
    assert_eq!(p["status"], "pending");
    assert_eq!(p["gateway"], "efi");
    assert_eq!(p["amount"], 1990);
    assert!(p["pix"]["copy_paste"]
        .as_str()
        .unwrap()
        .starts_with("000201"));
    assert!(p["id"].as_str().unwrap().starts_with("pay_"));

    let again = h.create(KEY_A, "order-42-attempt", &body).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body, "replay is byte-identical");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(h.gateway_calls(), 1);
    assert_eq!(h.stores.payment_count().await, 1);

    let mut other = body.clone();
    other["amount"] = 2990.into();
    let reused = h.create(KEY_A, "order-42-attempt", &other).await;
    assert_eq!(reused.status, 422);
    assert_eq!(json(&reused)["error"]["code"], "idempotency_key_reused");

    let auth = format!("Bearer {KEY_A}");
    let no_key = h
        .call(
            Method::POST,
            "/v1/payments",
            &[("authorization", &auth)],
            body.to_string(),
        )
        .await;
    assert_eq!(no_key.status, 400);
    assert_eq!(json(&no_key)["error"]["type"], "idempotency");
    assert_eq!(h.gateway_calls(), 1);

    let got = h
        .get(
            KEY_A,
            &format!("/v1/payments/{}", p["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(json(&got), p);
}

async fn fifty_concurrent_requests_with_one_key_charge_once(b: Backend) {
    let h = std::sync::Arc::new(Harness::new(b).await);
    let body = pix_body(4990);
    let tasks = (0..50).map(|_| {
        let h = h.clone();
        let body = body.clone();
        tokio::spawn(async move { h.create(KEY_A, "same-key-50", &body).await })
    });
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert_eq!(h.gateway_calls(), 1, "exactly one gateway call");
    assert_eq!(h.gateway_charges(), 1);
    assert_eq!(h.stores.payment_count().await, 1, "exactly one payment");
    let fresh: Vec<_> = results
        .iter()
        .filter(|r| r.status == 201 && r.header("idempotent-replayed").is_none())
        .collect();
    assert_eq!(fresh.len(), 1);
    let id = json(fresh[0])["id"].clone();
    for r in &results {
        match r.status {
            201 => assert_eq!(json(r)["id"], id),
            409 => assert_eq!(json(r)["error"]["code"], "idempotency_key_in_use"),
            s => panic!("unexpected status {s}: {}", r.body),
        }
    }
}

/// A crashed holder claimed the key (and maybe reached the gateway); once its in-flight claim
/// expires a retry takes over with the same payment id and reaches the same gateway charge.
async fn crashed_claim_is_taken_over_with_the_same_payment_id(b: Backend) {
    let h = Harness::new(b).await;
    let body = pix_body(1990);
    let now = shared::clock::Clock::now(h.clock.as_ref());
    let crashed_id = PaymentId::generate();
    let claim = ClaimRequest {
        tenant_id: TenantId::parse("ten_a").unwrap(),
        key: IdempotencyKey::parse("crash-key").unwrap(),
        fingerprint: fingerprint("POST", "/v1/payments", body.to_string().as_bytes()),
        candidate_payment_id: crashed_id.clone(),
        now,
        in_flight_until: now + Duration::seconds(10),
        expires_at: now + Duration::hours(24),
        steps: shared::domain::CreateSteps::first_intent("efi", now),
        rate: None,
        sweep_body: None,
    };
    assert!(matches!(
        h.stores.idempotency.claim(&claim).await.unwrap(),
        ClaimOutcome::Acquired(_)
    ));
    // The crashed invocation got as far as creating the charge at EFI.
    let charge = h
        .efi
        .create(&ChargeRequest {
            payment_id: crashed_id.clone(),
            gateway_key: gateway_key(&crashed_id),
            amount: shared::domain::Money::new(1990, shared::domain::Currency::BRL).unwrap(),
            method: shared::domain::PaymentMethod::Pix,
            customer: None,
            description: None,
            card_token: None,
            expires_in: None,
        })
        .await
        .unwrap();

    let busy = h.create(KEY_A, "crash-key", &body).await;
    assert_eq!(busy.status, 409, "still in flight before the deadline");

    h.clock.advance(Duration::seconds(11));
    let r = h.create(KEY_A, "crash-key", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = json(&r);
    assert_eq!(
        p["id"],
        crashed_id.as_str(),
        "takeover reuses the payment id"
    );
    assert_eq!(p["gateway_payment_id"], charge.gateway_payment_id.as_str());
    assert_eq!(h.efi.charge_count(), 1, "no second charge");
    assert_eq!(h.stores.payment_count().await, 1);
    let replay = h.create(KEY_A, "crash-key", &body).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, r.body);
}

async fn tenants_are_isolated(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.create(KEY_A, "shared-key", &pix_body(1990)).await;
    assert_eq!(a.status, 201);
    let id = json(&a)["id"].as_str().unwrap().to_string();

    let from_b = h.get(KEY_B, &format!("/v1/payments/{id}")).await;
    assert_eq!(from_b.status, 404);
    assert_eq!(json(&from_b)["error"]["type"], "not_found");

    // Same key, different body, other tenant: no collision, a new payment.
    let b_resp = h.create(KEY_B, "shared-key", &pix_body(2990)).await;
    assert_eq!(b_resp.status, 201, "{}", b_resp.body);
    assert_eq!(b_resp.header("idempotent-replayed"), None);
    assert_ne!(json(&b_resp)["id"], id.as_str());

    let list_b = json(&h.get(KEY_B, "/v1/payments").await);
    assert_eq!(list_b["data"].as_array().unwrap().len(), 1);
    assert_ne!(list_b["data"][0]["id"], id.as_str());
    let bad_auth = h.get("sk_wrong", &format!("/v1/payments/{id}")).await;
    assert_eq!(bad_auth.status, 401);
    assert_eq!(json(&bad_auth)["error"]["type"], "authentication");
}

async fn gateway_outcomes_are_recorded_and_replayed(b: Backend) {
    let h = Harness::new(b).await;
    let card = |amount: i64| {
        serde_json::json!({"amount": amount, "currency": "BRL", "method": "card",
            "card": {"tokens": {"stripe": "pm_card_visa"}}})
    };
    let ok = json(&h.create(KEY_A, "card-ok", &card(10000)).await);
    assert_eq!(
        (ok["status"].as_str(), ok["gateway"].as_str()),
        (Some("succeeded"), Some("stripe"))
    );

    let declined = h.create(KEY_A, "card-declined", &card(10051)).await;
    assert_eq!(declined.status, 201);
    let d = json(&declined);
    assert_eq!(d["status"], "failed");
    assert_eq!(d["failure"]["code"], "insufficient_funds");
    assert_eq!(d["attempts"][0]["outcome"], "declined");
    let d_again = h.create(KEY_A, "card-declined", &card(10051)).await;
    assert_eq!(
        d_again.body, declined.body,
        "a decline is replayed, not retried"
    );

    // Timeout after send on a card: processing, never a second gateway.
    let amb = json(&h.create(KEY_A, "card-timeout", &card(10054)).await);
    assert_eq!(amb["status"], "processing");
    assert_eq!(amb["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(h.asaas.create_calls(), 0);

    let action = json(&h.create(KEY_A, "card-3ds", &card(10057)).await);
    assert_eq!(action["status"], "requires_action");
    assert_eq!(action["next_action"]["type"], "redirect");

    let boleto = serde_json::json!({"amount": 5000, "currency": "BRL", "method": "boleto",
        "customer": {"name": "Empresa X", "document": "11.222.333/0001-81"}});
    let bo = json(&h.create(KEY_A, "boleto", &boleto).await);
    assert_eq!(bo["status"], "pending");
    assert_eq!(bo["boleto"]["barcode"].as_str().unwrap().len(), 47);

    // Every gateway unavailable: 502, nothing stored, the key is free for a safe retry.
    let before = h.stores.payment_count().await;
    let down = h.create(KEY_A, "all-down", &pix_body(1053)).await;
    assert_eq!(down.status, 502, "{}", down.body);
    assert_eq!(json(&down)["error"]["type"], "gateway");
    assert_eq!(h.stores.payment_count().await, before);
    let calls = h.gateway_calls();
    let retry = h.create(KEY_A, "all-down", &pix_body(1053)).await;
    assert_eq!(retry.status, 502);
    assert!(
        h.gateway_calls() > calls,
        "the released key lets the retry run again"
    );
    assert_eq!(
        h.gateway_charges(),
        5 - 1,
        "card ok, declined none, timeout 1, 3ds 1, boleto 1; 503s none"
    );
}

async fn listing_filters_and_pages_over_http(b: Backend) {
    let h = Harness::new(b).await;
    for i in 0..5 {
        let mut body = pix_body(1000 + i);
        body["reference"] = format!("ref-{}", i % 2).into();
        assert_eq!(
            h.create(KEY_A, &format!("list-{i}"), &body).await.status,
            201
        );
    }
    let page = json(&h.get(KEY_A, "/v1/payments?limit=2").await);
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["has_more"], true);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = json(
        &h.get(
            KEY_A,
            &format!("/v1/payments?limit=2&starting_after={cursor}"),
        )
        .await,
    );
    assert_eq!(next["data"].as_array().unwrap().len(), 2);
    assert!(next["data"][0]["id"].as_str().unwrap() < cursor);
    let by_ref = json(&h.get(KEY_A, "/v1/payments?reference=ref-0").await);
    assert_eq!(by_ref["data"].as_array().unwrap().len(), 3);
    let by_status = json(&h.get(KEY_A, "/v1/payments?status=succeeded").await);
    assert_eq!(by_status["data"].as_array().unwrap().len(), 0);
    for q in [
        "limit=0",
        "limit=101",
        "limit=x",
        "status=paid",
        "starting_after=nope",
        "colour=red",
    ] {
        let r = h.get(KEY_A, &format!("/v1/payments?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        assert_eq!(json(&r)["error"]["type"], "invalid_request");
    }
    assert_eq!(
        h.get(KEY_A, "/v1/payments/pay_01J00000000000000000000000")
            .await
            .status,
        404
    );
    assert_eq!(h.get(KEY_A, "/v1/payments/not-an-id").await.status, 404);
}

on_both_backends!(
    pix_create_replays_identically_with_one_gateway_call,
    fifty_concurrent_requests_with_one_key_charge_once,
    crashed_claim_is_taken_over_with_the_same_payment_id,
    tenants_are_isolated,
    gateway_outcomes_are_recorded_and_replayed,
    listing_filters_and_pages_over_http,
);
