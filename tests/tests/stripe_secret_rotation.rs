//! Issue 29, defect 3: a leaked Stripe endpoint secret can be revoked. Rotating the secret
//! through the credentials API keeps the previous one for 24 h by default (events Stripe
//! signed just before the switch still verify), then refuses it; a rotation with
//! `previous_webhook_secret_expires_in: 0` refuses it at once. On main the previous secret
//! stayed valid forever (the 24 h + 1 min step below fails there). Time is a `ManualClock`
//! shared by the API and the webhook receiver.

use chrono::Duration;
use integration_tests::credentials::{put_creds, CredentialSetup};
use integration_tests::fakes::stripe::FakeStripe;
use integration_tests::pipeline::post_webhook;
use integration_tests::{json, on_both_backends, Backend, KEY_A};
use serde_json::json;
use shared::clock::Clock;
use shared::service::webhooks::{TenantCache, WebhookReceiver};
use std::sync::Arc;

const A: &str = "whsec_first_endpoint_secret_0000000000000";
const B: &str = "whsec_second_endpoint_secret_111111111111";
const C: &str = "whsec_third_endpoint_secret_22222222222222";

async fn accepts(rx: &WebhookReceiver, clock: &dyn Clock, secret: &str) -> u16 {
    let body = integration_tests::pipeline::stripe_pi_event(
        "evt_rotation",
        "payment_intent.succeeded",
        "pi_rotation",
        "pay_01JD0000000000000000000000",
    );
    let now = clock.now().timestamp();
    let sig = format!(
        "t={now},v1={}",
        shared::signing::stripe::compute(secret, now, body.as_bytes())
    );
    post_webhook(
        rx,
        "/webhooks/stripe/ten_a",
        &[("stripe-signature", &sig)],
        &body,
    )
    .await
    .status
}

async fn a_rotated_secret_expires_and_can_be_dropped_at_once(backend: Backend) {
    let s = CredentialSetup::new(backend).await;
    let svc = s.instance(std::time::Duration::ZERO);
    let clock = s.h.clock.clone();
    let rx = WebhookReceiver::new(
        shared::gateways::webhooks::WebhookRegistry::standard(),
        TenantCache::new(s.h.stores.tenants.clone(), std::time::Duration::ZERO),
        Arc::new(shared::adapters::memory::MemoryQueue::new(3)),
        clock.clone(),
    );
    let stripe = FakeStripe::start().await;
    let creds = |secret: &str, extra: serde_json::Value| {
        let mut b = json!({"secret_key": stripe.api_key, "base_url": stripe.base_url,
            "webhook_secret": secret});
        if let (Some(o), Some(e)) = (b.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        b
    };
    let r = put_creds(&svc, KEY_A, "stripe", &creds(A, json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(accepts(&rx, clock.as_ref(), A).await, 200);

    // Rotated: both verify for 24 h, then only the new one.
    let r = put_creds(&svc, KEY_A, "stripe", &creds(B, json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        accepts(&rx, clock.as_ref(), A).await,
        200,
        "A within its 24 h"
    );
    assert_eq!(accepts(&rx, clock.as_ref(), B).await, 200);
    clock.advance(Duration::hours(23) + Duration::minutes(59));
    assert_eq!(
        accepts(&rx, clock.as_ref(), A).await,
        200,
        "A at 23 h 59 min"
    );
    clock.advance(Duration::minutes(2));
    assert_eq!(accepts(&rx, clock.as_ref(), A).await, 401, "A after 24 h");
    assert_eq!(accepts(&rx, clock.as_ref(), B).await, 200);

    // A leak: rotate with no grace — the previous secret is refused at once.
    let r = put_creds(
        &svc,
        KEY_A,
        "stripe",
        &creds(C, json!({"previous_webhook_secret_expires_in": 0})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        accepts(&rx, clock.as_ref(), B).await,
        401,
        "B dropped at once"
    );
    assert_eq!(accepts(&rx, clock.as_ref(), C).await, 200);
    // An expired previous secret never comes back by setting the current one again.
    let r = put_creds(
        &svc,
        KEY_A,
        "stripe",
        &creds(C, json!({"previous_webhook_secret_expires_in": 3600})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(accepts(&rx, clock.as_ref(), B).await, 401);
    assert_eq!(accepts(&rx, clock.as_ref(), A).await, 401);

    // Bad values are 400s naming the field, and change nothing.
    for extra in [
        json!({"previous_webhook_secret_expires_in": -1}),
        json!({"previous_webhook_secret_expires_in": 604_801}),
        json!({"previous_webhook_secret_expires_in": "1h"}),
    ] {
        let r = put_creds(&svc, KEY_A, "stripe", &creds(A, extra.clone())).await;
        assert_eq!(r.status, 400, "{extra}: {}", r.body);
        assert_eq!(
            json(&r)["error"]["param"],
            "previous_webhook_secret_expires_in",
            "{extra}: {}",
            r.body
        );
    }
    let r = put_creds(
        &svc,
        KEY_A,
        "stripe",
        &json!({"secret_key": stripe.api_key, "base_url": stripe.base_url,
            "previous_webhook_secret_expires_in": 0}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(accepts(&rx, clock.as_ref(), C).await, 200);
    assert_eq!(accepts(&rx, clock.as_ref(), A).await, 401);
}

on_both_backends!(a_rotated_secret_expires_and_can_be_dropped_at_once);
