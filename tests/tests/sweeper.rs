//! The sweeper (issue 23, defect 3): a create that crashes at any durable step and whose merchant
//! never retries leaves no unnamed charge. Within one sweeper pass after the claim's deadline
//! (plus the grace a merchant's own retry gets) the charge is named by a stored payment and its
//! merchant event is in the outbox — or, when nothing is live (nothing was charged, or the
//! Pix/boleto orphan nobody was shown is canceled), the key is released. A later retry with
//! the same key never adds a charge. Before the sweeper, the crashed holder's charge stayed
//! unnamed forever (the first assertion below fails on the previous main).

use integration_tests::switchable::Switchable;
use integration_tests::{json, on_both_backends, post_payment, t0, tenant, Backend, Stores};
use shared::clock::ManualClock;
use shared::domain::PaymentMethod;
use shared::gateways::simulator::SimulatorGateway;
use shared::ports::{EventFilter, Gateway, GatewayRegistry};
use shared::service::{Orchestrator, ServiceConfig, SWEEP_GRACE_SECONDS};
use std::sync::Arc;

const FAILPOINTS: [&str; 6] = [
    "create.after_claim",
    "create.before_gateway_call",
    "gateway.inside_call",
    "create.after_gateway_call",
    "create.before_commit",
    "create.after_commit",
];

fn orchestrator(
    stores: &Stores,
    gateways: &[Arc<Switchable>],
    clock: &Arc<ManualClock>,
) -> Orchestrator {
    let mut r = GatewayRegistry::default();
    for g in gateways {
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

fn body(method: PaymentMethod) -> serde_json::Value {
    match method {
        PaymentMethod::Card => serde_json::json!({"amount": 4990, "currency": "BRL",
            "method": "card", "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok_asaas"}}}),
        _ => integration_tests::pix_body(1990),
    }
}

fn quiet_failpoint_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let injected = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|m| m.starts_with("failpoint "));
        if !injected {
            default(info);
        }
    }));
}

async fn crash_without_retry_is_settled_by_the_sweeper(b: Backend) {
    let _serial = fail::FailScenario::setup();
    quiet_failpoint_panics();
    let stores = Stores::new(b).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let mut case = 0;
    let mut named = 0;
    for (method, gateway) in [
        (PaymentMethod::Card, "stripe"),
        (PaymentMethod::Card, "asaas"),
        (PaymentMethod::Pix, "efi"),
    ] {
        for fp in FAILPOINTS {
            case += 1;
            let ctx = format!("{method:?} at {gateway}, crash at {fp}");
            let all = [
                Switchable::new(Arc::new(SimulatorGateway::stripe())),
                Switchable::new(Arc::new(SimulatorGateway::asaas())),
                Switchable::new(Arc::new(SimulatorGateway::efi())),
            ];
            let sim = all
                .iter()
                .find(|g| g.inner().name() == gateway)
                .cloned()
                .expect("simulator");
            let api_key = format!("sk_sweeper_case_{case:06}_00000000000000");
            let mut t = tenant(&format!("ten_sw{case}"), &api_key);
            t.routing.insert(method, vec![gateway.to_string()]);
            stores.tenants.put(&t).await.expect("tenant");

            let first = Arc::new(orchestrator(&stores, &all, &clock));
            fail::cfg(fp, "panic").expect("failpoint");
            let svc = first.clone();
            let key = api_key.clone();
            let req = body(method);
            let crashed =
                tokio::spawn(async move { post_payment(&svc, &key, "k1", &req).await }).await;
            fail::remove(fp);
            assert!(
                crashed.is_err(),
                "{ctx}: the failpoint was reached: {:?}",
                crashed.map(|r| r.body)
            );

            // Not before the holder's deadline plus the grace its merchant's retry gets.
            clock.advance(chrono::Duration::seconds(31));
            let sweeper = orchestrator(&stores, &all, &clock);
            let early = sweeper.sweep_stale_claims().await.expect("sweep");
            assert_eq!(early.found, 0, "{ctx}: swept inside the grace: {early:?}");

            clock.advance(chrono::Duration::seconds(SWEEP_GRACE_SECONDS));
            let report = sweeper.sweep_stale_claims().await.expect("sweep");
            let live = sim.inner().live_charges();
            assert!(live.len() <= 1, "{ctx}: {live:?}");
            let listed = stores
                .payments
                .list(&t.id, &Default::default(), 10, None)
                .await
                .expect("list");
            if let Some(charge) = live.first() {
                assert_eq!(
                    listed.items.len(),
                    1,
                    "{ctx}: the charge is named: {report:?}"
                );
                let p = &listed.items[0];
                assert_eq!(p.gateway.as_deref(), Some(gateway), "{ctx}");
                assert_eq!(
                    p.gateway_payment_id.as_deref(),
                    Some(charge.as_str()),
                    "{ctx}"
                );
                let events = stores
                    .outbox
                    .list(
                        &t.id,
                        &EventFilter {
                            kind: None,
                            payment_id: Some(p.id.clone()),
                        },
                        10,
                        None,
                    )
                    .await
                    .expect("events");
                assert!(
                    !events.items.is_empty(),
                    "{ctx}: the merchant gets its event"
                );
                named += 1;
            } else if fp != "create.after_claim" && fp != "create.before_gateway_call" {
                // Something was created and is no longer live: a Pix orphan, canceled.
                assert!(sim.inner().charge_count() <= 1, "{ctx}");
            }
            // A claim nothing was charged under waits for `not_found_after` before release.
            clock.advance(chrono::Duration::minutes(16));
            sweeper.sweep_stale_claims().await.expect("sweep");
            assert!(
                stores
                    .idempotency
                    .stale_claims(shared::clock::Clock::now(clock.as_ref()), 10)
                    .await
                    .expect("stale")
                    .iter()
                    .all(|c| c.tenant_id != t.id),
                "{ctx}: no stale claim left"
            );

            // The merchant comes back much later with the same key: no second charge.
            clock.advance(chrono::Duration::minutes(5));
            let r = post_payment(&first, &api_key, "k1", &body(method)).await;
            let after = sim.inner().live_charges();
            if live.is_empty() {
                assert!(after.len() <= 1, "{ctx}: {after:?}");
            } else {
                assert_eq!(after, live, "{ctx}: {}", r.body);
                assert_eq!(
                    json(&r)["gateway_payment_id"].as_str(),
                    live.first().map(String::as_str),
                    "{ctx}: the retry is answered with the swept payment"
                );
            }
        }
    }
    // Card charges made before the crash at 3 steps × 2 gateways, plus the Pix one found paid
    // or pending-and-canceled: the sweeper really named charges.
    assert!(named >= 6, "charges named by the sweeper: {named}");
}

on_both_backends!(crash_without_retry_is_settled_by_the_sweeper);
