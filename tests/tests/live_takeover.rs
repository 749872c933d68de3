//! A create's takeover asks exactly the account its crashed holder charged at (issue 23,
//! defect 2). The holder's claim records the account (credential fingerprint) with its intent
//! before the call; if the tenant's credentials are replaced before the retry, the retry must not
//! look the charge up — nor re-send the create — at the new account (where a Stripe idempotency
//! key means nothing, so a re-sent create charges the customer a second time). The payment is
//! recorded `processing`, pinned to the old account, until those credentials are back.
//!
//! Its own test binary: failpoints are process-wide.

use chrono::Duration;
use integration_tests::credentials::{put_creds, CredentialSetup};
use integration_tests::fakes::stripe::FakeStripe;
use integration_tests::{get_path, json, on_both_backends, post_payment, Backend, KEY_A};
use serde_json::json;
use std::sync::Arc;

async fn takeover_never_asks_another_account(b: Backend) {
    let _serial = fail::FailScenario::setup();
    let cs = CredentialSetup::new(b).await;
    let holder_account = FakeStripe::start().await;
    let other_account = FakeStripe::start().await;
    let creds = |f: &FakeStripe| json!({"secret_key": f.api_key, "base_url": f.base_url});
    let first = Arc::new(cs.instance(std::time::Duration::from_secs(30)));
    let r = put_creds(&first, KEY_A, "stripe", &creds(&holder_account)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = json!({"amount": 2500, "currency": "BRL", "method": "card", "gateway": "stripe",
        "card": {"tokens": {"stripe": "pm_card_visa"}}});

    // The holder charges at its account, then dies before recording anything.
    fail::cfg("create.after_gateway_call", "panic").expect("failpoint");
    let (svc, b2) = (first.clone(), body.clone());
    let crashed = tokio::spawn(async move { post_payment(&svc, KEY_A, "order-1", &b2).await })
        .await
        .is_err();
    fail::remove("create.after_gateway_call");
    assert!(crashed, "the holder crashed after the gateway call");
    assert_eq!(holder_account.intents_created(), 1);

    // The tenant replaces its Stripe credentials with another account's; the claim expires.
    let r = put_creds(&first, KEY_A, "stripe", &creds(&other_account)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    cs.h.clock.advance(Duration::seconds(31));

    // The retry (another instance) takes over: it asks no one, and records the payment
    // `processing`, pinned to the holder's account.
    let retry = cs.instance(std::time::Duration::from_secs(30));
    let r = post_payment(&retry, KEY_A, "order-1", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = json(&r);
    assert_eq!(
        (p["status"].as_str(), p["gateway"].as_str()),
        (Some("processing"), Some("stripe")),
        "{p}"
    );
    assert!(
        p["attempts"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["code"] == "gateway_credentials_changed")),
        "{p}"
    );
    assert_eq!(
        other_account.requests(),
        0,
        "the new account was neither searched nor charged"
    );
    assert_eq!(holder_account.intents_created(), 1);
    let id = p["id"].as_str().unwrap_or_default().to_string();
    let refresh = format!("/v1/payments/{id}?refresh=true");
    let r = get_path(&retry, KEY_A, &refresh).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(other_account.requests(), 0);

    // The holder's credentials again: the refresh finds its one charge.
    let r = put_creds(&retry, KEY_A, "stripe", &creds(&holder_account)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get_path(&retry, KEY_A, &refresh).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let p = json(&r);
    assert_eq!(p["status"], "succeeded", "{p}");
    assert_eq!(p["gateway_payment_id"], "pi_fake1", "{p}");
    assert_eq!(holder_account.intents_created(), 1, "one charge, ever");
    assert_eq!(other_account.intents_created(), 0);
}

on_both_backends!(takeover_never_asks_another_account);
