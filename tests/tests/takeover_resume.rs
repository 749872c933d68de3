//! A takeover never re-sends a create to a gateway without idempotency keys (issue 23, defect
//! 6). Asaas has none: if the crashed holder's create were still being processed there when the
//! takeover looked up and found nothing, a re-sent create would make a second charge. So the
//! takeover only looks up; the payment waits `processing` (attempt `resume_not_idempotent`) for
//! a refresh or a webhook. Stripe (idempotency key) is still resumed. On the previous main the
//! Asaas create was re-sent.

use integration_tests::switchable::Switchable;
use integration_tests::{json, on_both_backends, post_payment, t0, tenant, Backend, Stores};
use shared::clock::ManualClock;
use shared::domain::PaymentMethod;
use shared::gateways::simulator::SimulatorGateway;
use shared::ports::GatewayRegistry;
use shared::service::{Orchestrator, ServiceConfig};
use std::sync::Arc;

fn orchestrator(
    stores: &Stores,
    gws: &[Arc<Switchable>],
    clock: &Arc<ManualClock>,
) -> Orchestrator {
    let mut r = GatewayRegistry::default();
    for g in gws {
        r.register(g.clone());
    }
    Orchestrator::new(
        stores.idempotency.clone(),
        stores.payments.clone(),
        stores.tenants.clone(),
        r,
        clock.clone(),
        ServiceConfig::default(),
    )
    .with_breaker_store(stores.breakers.clone())
    .with_create_commit(stores.commit.clone())
}

async fn takeover_resumes_only_idempotent_gateways(b: Backend) {
    let _serial = fail::FailScenario::setup();
    let stores = Stores::new(b).await;
    let clock = Arc::new(ManualClock::new(t0()));
    for (i, gateway) in ["asaas", "stripe"].into_iter().enumerate() {
        let asaas = Switchable::new(Arc::new(SimulatorGateway::asaas()));
        let stripe = Switchable::new(Arc::new(SimulatorGateway::stripe()));
        let gws = [asaas.clone(), stripe.clone()];
        let api_key = format!("sk_resume_case_{i:06}_000000000000000");
        let mut t = tenant(&format!("ten_resume{i}"), &api_key);
        t.routing
            .insert(PaymentMethod::Card, vec![gateway.to_string()]);
        stores.tenants.put(&t).await.expect("tenant");
        let body = serde_json::json!({"amount": 4990, "currency": "BRL", "method": "card",
            "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok_asaas"}}});
        let first = Arc::new(orchestrator(&stores, &gws, &clock));
        fail::cfg("create.before_gateway_call", "panic").expect("failpoint");
        let (svc, key, b2) = (first.clone(), api_key.clone(), body.clone());
        let crashed = tokio::spawn(async move { post_payment(&svc, &key, "k1", &b2).await })
            .await
            .is_err();
        fail::remove("create.before_gateway_call");
        assert!(crashed);

        clock.advance(chrono::Duration::seconds(31));
        let r = post_payment(&orchestrator(&stores, &gws, &clock), &api_key, "k1", &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let p = json(&r);
        if gateway == "asaas" {
            assert_eq!(asaas.calls(), 0, "no create re-sent to Asaas: {}", r.body);
            assert_eq!(p["status"], "processing", "{}", r.body);
            assert!(r.body.contains("resume_not_idempotent"), "{}", r.body);
        } else {
            assert_eq!(stripe.calls(), 1, "Stripe's create is resumed (same key)");
            assert_eq!(p["status"], "succeeded", "{}", r.body);
        }
    }
}

on_both_backends!(takeover_resumes_only_idempotent_gateways);
