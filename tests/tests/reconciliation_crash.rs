//! Reconciliation meets a crashed create (issue 23): a holder that dies after its gateway
//! charged leaves a charge with our payment id and no payment. A reconciliation run adopts it
//! (once it is old enough); the claim is still open, so the merchant's retry (a takeover) or
//! the sweeper comes later and must answer with that same payment — never a second payment,
//! never a second event, never a second charge. Real clients against the fakes (Stripe and
//! Asaas cards, an EFI Pix paid after the crash), crashes injected by failpoints, both backends.
//! A pending Pix nobody was shown is not adopted (the sweeper's to cancel) until it is paid.

use base64::Engine;
use chrono::{Duration, Utc};
use integration_tests::credentials::{call, put_creds, CredentialSetup};
use integration_tests::fakes::{asaas::FakeAsaas, efi::FakeEfi, efi::TestPki, stripe::FakeStripe};
use integration_tests::{
    get_path, json, on_both_backends, pix_body, post_payment, t0, Backend, KEY_A,
};
use serde_json::{json, Value};
use shared::service::Orchestrator;
use std::sync::Arc;

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

/// One reconciliation request over every gateway; the runs.
async fn reconcile(svc: &Orchestrator) -> Vec<Value> {
    let r = call(
        svc,
        KEY_A,
        http::Method::POST,
        "/v1/reconciliation/runs",
        &json!({"from": "2026-11-17T00:00:00Z"}).to_string(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    json(&r)["data"].as_array().cloned().unwrap_or_default()
}

/// The findings of `kind` (payment id, gateway id, repaired) across runs.
fn found(runs: &[Value], kind: &str) -> Vec<(String, String, bool)> {
    runs.iter()
        .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["kind"] == kind)
        .map(|f| {
            (
                f["payment_id"].as_str().unwrap_or("").to_string(),
                f["gateway_payment_id"].as_str().unwrap_or("").to_string(),
                f["repaired"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

async fn event_types(svc: &Orchestrator, pid: &str) -> Vec<String> {
    let r = get_path(
        svc,
        KEY_A,
        &format!("/v1/events?payment_id={pid}&limit=100"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    json(&r)["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn an_adopted_orphan_is_the_answer_of_its_retry_and_of_the_sweeper(backend: Backend) {
    let _serial = fail::FailScenario::setup();
    quiet_failpoint_panics();
    let s = CredentialSetup::new(backend).await;
    let svc = Arc::new(s.instance(std::time::Duration::from_secs(3600)));
    let stripe = FakeStripe::start().await;
    let asaas = FakeAsaas::start().await;
    let pki = TestPki::generate();
    let efi = FakeEfi::start(&pki).await;
    let p12 = base64::engine::general_purpose::STANDARD.encode(pki.client_pkcs12());
    for (gateway, body) in [
        (
            "efi",
            json!({"client_id": efi.client_id, "client_secret": efi.client_secret,
                "certificate_p12": p12, "pix_key": efi.pix_key,
                "webhook_hmac": "efi-hmac-reconciliation-crash-0123456789",
                "base_url": efi.base_url, "ca_pem": pki.ca_pem}),
        ),
        (
            "stripe",
            json!({"secret_key": stripe.api_key, "base_url": stripe.base_url}),
        ),
        (
            "asaas",
            json!({"api_key": asaas.token, "base_url": asaas.base_url}),
        ),
    ] {
        let r = put_creds(&svc, KEY_A, gateway, &body).await;
        assert_eq!(r.status, 200, "{gateway}: {}", r.body);
    }
    // The service clock at the wall clock (our payment ids carry the wall clock's time).
    s.h.clock.advance(Utc::now() - t0());

    // Six creates crash after their gateway charged (or made the cob), two per gateway.
    struct Case {
        ctx: String,
        fp: &'static str,
        gateway: &'static str,
        key: String,
        body: Value,
    }
    let mut cases = Vec::new();
    for fp in ["create.after_gateway_call", "create.before_commit"] {
        for gateway in ["stripe", "asaas", "efi"] {
            let n = i64::try_from(cases.len()).unwrap_or(0) + 1;
            let body = if gateway == "efi" {
                let mut b = pix_body(2100 + n * 11);
                b["gateway"] = gateway.into();
                b
            } else {
                json!({"amount": 3100 + n * 11, "currency": "BRL", "method": "card", "gateway": gateway,
                    "customer": {"name": "Maria Souza", "document": "52998224725", "email": "maria@example.com"},
                    "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok_asaas"}}})
            };
            let case = Case {
                ctx: format!("{gateway}, crash at {fp}"),
                fp,
                gateway,
                key: format!("rc-{n}"),
                body,
            };
            fail::cfg(fp, "panic").expect("failpoint");
            let (svc2, key2, body2) = (svc.clone(), case.key.clone(), case.body.clone());
            let crashed =
                tokio::spawn(async move { post_payment(&svc2, KEY_A, &key2, &body2).await }).await;
            fail::remove(fp);
            assert!(crashed.is_err(), "{}: the failpoint was reached", case.ctx);
            cases.push(case);
        }
    }

    // Young: found, left to their claims. (The service clock catches up with the wall clock
    // the crashes ran on, so the window reaches them.)
    use shared::clock::Clock;
    let lag = Utc::now() - s.h.clock.now();
    if lag > Duration::zero() {
        s.h.clock.advance(lag + Duration::seconds(1));
    }
    let runs = reconcile(&svc).await;
    let young = found(&runs, "orphan_in_flight");
    assert_eq!(young.len(), 6, "{young:?}");
    assert!(found(&runs, "orphan_adopted").is_empty());
    for (pid, _, _) in &young {
        assert_eq!(
            get_path(&svc, KEY_A, &format!("/v1/payments/{pid}"))
                .await
                .status,
            404
        );
    }

    // 31 minutes later the cards are adopted; the Pix nobody was shown are not — until paid.
    s.h.clock.advance(Duration::minutes(31));
    let runs = reconcile(&svc).await;
    assert_eq!(found(&runs, "orphan_adopted").len(), 4, "{runs:?}");
    let unpaid = found(&runs, "orphan_unpaid");
    assert_eq!(unpaid.len(), 2, "{unpaid:?}");
    for (_, txid, _) in &unpaid {
        efi.pay(txid);
    }
    let runs = reconcile(&svc).await;
    let adopted = found(&runs, "orphan_adopted");
    assert_eq!(adopted.len(), 2, "{adopted:?}");
    assert!(adopted.iter().all(|(_, _, repaired)| *repaired));
    assert_eq!(
        adopted
            .iter()
            .map(|(_, g, _)| g.clone())
            .collect::<std::collections::BTreeSet<_>>(),
        unpaid.iter().map(|(_, g, _)| g.clone()).collect()
    );

    // The claims are still open: each crash's retry (a takeover), or for the second half the
    // sweeper first, answers with the adopted payment.
    let payment_of = |gateway: &str, amount: i64| {
        let svc = svc.clone();
        let gateway = gateway.to_string();
        async move {
            let all = get_path(&svc, KEY_A, "/v1/payments?limit=100").await;
            json(&all)["data"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p["gateway"] == gateway.as_str() && p["amount"] == amount)
                .collect::<Vec<Value>>()
        }
    };
    let mut swept = false;
    for c in &cases {
        let ctx = &c.ctx;
        let amount = c.body["amount"].as_i64().unwrap_or(0);
        let stored = payment_of(c.gateway, amount).await;
        assert_eq!(stored.len(), 1, "{ctx}: adopted once: {stored:?}");
        let (pid, gid) = (
            stored[0]["id"].as_str().unwrap_or("").to_string(),
            stored[0]["gateway_payment_id"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
        if c.fp == "create.before_commit" && !swept {
            let report = svc.sweep_stale_claims().await.expect("sweep");
            assert_eq!(report.left, 0, "{ctx}: {report:?}");
            swept = true;
        }
        let r = post_payment(&svc, KEY_A, &c.key, &c.body).await;
        assert_eq!(r.status, 201, "{ctx}: {}", r.body);
        let p = json(&r);
        assert_eq!(
            (
                p["id"].as_str(),
                p["gateway_payment_id"].as_str(),
                p["status"].as_str()
            ),
            (Some(pid.as_str()), Some(gid.as_str()), Some("succeeded")),
            "{ctx}: {p}"
        );
        let charges = match c.gateway {
            "stripe" => stripe.intents_for(&pid).len(),
            "asaas" => asaas.payments_for(&pid).len(),
            _ => usize::from(efi.cob_status(&gid).is_some()),
        };
        assert_eq!(charges, 1, "{ctx}: one charge at {}", c.gateway);
        let events = event_types(&svc, &pid).await;
        assert_eq!(
            events.iter().filter(|t| *t == "payment.succeeded").count(),
            1,
            "{ctx}: {events:?}"
        );
        assert_eq!(payment_of(c.gateway, amount).await.len(), 1, "{ctx}");
    }
    // And a later run has nothing to repair.
    let runs = reconcile(&svc).await;
    assert!(
        runs.iter()
            .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
            .all(|f| f["repaired"] == false),
        "{runs:?}"
    );
}

on_both_backends!(an_adopted_orphan_is_the_answer_of_its_retry_and_of_the_sweeper);
