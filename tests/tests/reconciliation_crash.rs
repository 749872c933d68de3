//! Reconciliation meets a crashed create (issue 23): a holder that dies after its gateway
//! charged leaves a charge with our payment id, no payment, and its claim open. Two
//! overlapping reconciliation runs name each such charge exactly once, through its claim (the
//! sweeper's takeover): one payment made of the merchant's own request, one event, one
//! charge; the merchant's retry then replays it. A pending Pix nobody was shown holds no money
//! and is not adopted: its claim's sweep cancels it and frees the key; one paid after all is
//! adopted. Real clients against the fakes (Stripe and Asaas cards, EFI Pix over mTLS),
//! crashes injected by failpoints, both backends.

use chrono::{Duration, Utc};
use integration_tests::credentials::{call, CredentialSetup, LiveFakes};
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

async fn crashed_creates_are_named_once_through_their_claims(backend: Backend) {
    let _serial = fail::FailScenario::setup();
    quiet_failpoint_panics();
    let s = CredentialSetup::new(backend).await;
    let svc = Arc::new(s.instance(std::time::Duration::from_secs(3600)));
    let LiveFakes {
        stripe, asaas, efi, ..
    } = LiveFakes::register(&svc, KEY_A, &["efi", "stripe", "asaas"]).await;
    // The service clock at the wall clock (our payment ids carry the wall clock's time).
    s.h.clock.advance(Utc::now() - t0());

    // Six creates crash after their gateway charged (or made the cob), two per gateway.
    struct Case {
        ctx: String,
        gateway: &'static str,
        key: String,
        body: Value,
    }
    let mut cases = Vec::new();
    for fp in ["create.after_gateway_call", "create.before_commit"] {
        for gateway in ["stripe", "asaas", "efi"] {
            let n = i64::try_from(cases.len()).unwrap_or(0) + 1;
            let mut body = if gateway == "efi" {
                let mut b = pix_body(2100 + n * 11);
                b["gateway"] = gateway.into();
                b
            } else {
                json!({"amount": 3100 + n * 11, "currency": "BRL", "method": "card", "gateway": gateway,
                    "customer": {"name": "Maria Souza", "document": "52998224725", "email": "maria@example.com"},
                    "card": {"tokens": {"stripe": "pm_card_visa", "asaas": "tok_asaas"}}})
            };
            body["reference"] = format!("order-{n}").into();
            let case = Case {
                ctx: format!("{gateway}, crash at {fp}"),
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

    // Young: found, left to their claims (the service clock catches up with the wall clock the
    // crashes ran on, so the window reaches them). The Pix nobody was shown hold no money.
    use shared::clock::Clock;
    let lag = Utc::now() - s.h.clock.now();
    if lag > Duration::zero() {
        s.h.clock.advance(lag + Duration::seconds(1));
    }
    let runs = reconcile(&svc).await;
    assert_eq!(found(&runs, "orphan_in_flight").len(), 4, "{runs:?}");
    let unpaid = found(&runs, "orphan_unpaid");
    assert_eq!(unpaid.len(), 2, "{unpaid:?}");
    assert!(found(&runs, "orphan_adopted").is_empty());
    for (pid, _, _) in &unpaid {
        assert_eq!(
            get_path(&svc, KEY_A, &format!("/v1/payments/{pid}"))
                .await
                .status,
            404
        );
    }
    // One of the two Pix is paid after all (its payer had the QR code from elsewhere).
    let (paid_pid, paid_txid, _) = unpaid[0].clone();
    let (unpaid_pid, unpaid_txid, _) = unpaid[1].clone();
    efi.pay(&paid_txid);

    // Past the claims' deadlines, two runs overlap: each orphan holding money is named through
    // its claim once — the payment made of the merchant's request, one event, the key done.
    s.h.clock.advance(Duration::minutes(31));
    let (a, b) = tokio::join!(reconcile(&svc), reconcile(&svc));
    let both: Vec<Value> = a.into_iter().chain(b).collect();
    let adopted = found(&both, "orphan_adopted");
    let mut named: std::collections::BTreeMap<String, usize> = Default::default();
    for (pid, _, repaired) in &adopted {
        if *repaired {
            *named.entry(pid.clone()).or_default() += 1;
        }
    }
    assert_eq!(named.len(), 5, "4 cards and the paid Pix: {adopted:?}");
    assert!(
        named.values().all(|n| *n == 1),
        "each named by one run: {adopted:?}"
    );
    assert!(named.contains_key(&paid_pid));
    assert!(!named.contains_key(&unpaid_pid));
    // The unpaid Pix: its claim's sweep canceled it and freed the key; no payment.
    assert_eq!(
        get_path(&svc, KEY_A, &format!("/v1/payments/{unpaid_pid}"))
            .await
            .status,
        404
    );
    assert_eq!(
        efi.cob_status(&unpaid_txid).as_deref(),
        Some("REMOVIDA_PELO_USUARIO_RECEBEDOR")
    );

    // Each merchant's retry gets the named payment, made of its own request.
    for c in &cases {
        let ctx = &c.ctx;
        let r = post_payment(&svc, KEY_A, &c.key, &c.body).await;
        assert_eq!(r.status, 201, "{ctx}: {}", r.body);
        let p = json(&r);
        let pid = p["id"].as_str().unwrap_or("").to_string();
        if c.gateway == "efi" && c.body["amount"] != json!(null) && pid != paid_pid {
            // The freed key: a new payment, a new cob (the canceled one stays canceled).
            assert_ne!(pid, unpaid_pid, "{ctx}");
            assert_eq!(p["status"], "pending", "{ctx}: {p}");
            continue;
        }
        assert!(named.contains_key(&pid), "{ctx}: {p}");
        assert_eq!(p["status"], "succeeded", "{ctx}: {p}");
        assert_eq!(
            p["reference"], c.body["reference"],
            "{ctx}: the request's own data"
        );
        assert_eq!(r.header("idempotent-replayed"), Some("true"), "{ctx}");
        let gid = p["gateway_payment_id"].as_str().unwrap_or("").to_string();
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

on_both_backends!(crashed_creates_are_named_once_through_their_claims);
