//! Issue 23, gateway reconciliation: a run lists each live gateway's charges over a window
//! (the real clients against the fakes' wire formats: Stripe `GET /v1/payment_intents`, Asaas
//! `GET /v3/payments?dateCreated…`, EFI `GET /v2/cob?inicio&fim` over mTLS) and compares them
//! with our payments. It repairs a missed webhook (a Pix paid at EFI whose webhook never came)
//! exactly once even when two runs overlap; a charge carrying a payment id no claim of this
//! tenant names is flagged, never adopted (`reconciliation_crash.rs` shows the adoption of a
//! crashed create's charge through its claim); a run over the unchanged window changes
//! nothing; fees are stored where the listing reports them; bad requests are 4xx and store
//! nothing.

use chrono::{Duration, Utc};
use http::Method;
use integration_tests::credentials::{call, put_creds, CredentialSetup, LiveFakes};
use integration_tests::{json, on_both_backends, pix_body, t0, Backend, KEY_A, KEY_B};
use serde_json::{json, Value};
use shared::domain::{Currency, Money, PaymentId, PaymentMethod};
use shared::gateways::stripe::{StripeClient, StripeConfig};
use shared::ports::{ChargeRequest, Gateway};
use shared::service::{gateway_key, Orchestrator};
use std::collections::BTreeMap;

async fn post(svc: &Orchestrator, key: &str, idem: &str, body: &Value) -> Value {
    let r = integration_tests::post_payment(svc, key, idem, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    json(&r)
}

async fn get(svc: &Orchestrator, path: &str) -> (u16, Value) {
    let r = integration_tests::get_path(svc, KEY_A, path).await;
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

async fn runs(svc: &Orchestrator, body: &Value) -> Vec<Value> {
    let r = call(
        svc,
        KEY_A,
        Method::POST,
        "/v1/reconciliation/runs",
        &body.to_string(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    json(&r)["data"].as_array().cloned().unwrap_or_default()
}

/// Findings of `kind` across runs, as (payment id, repaired).
fn findings(runs: &[Value], kind: &str) -> Vec<(String, bool)> {
    runs.iter()
        .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["kind"] == kind)
        .map(|f| {
            (
                f["payment_id"].as_str().unwrap_or("").to_string(),
                f["repaired"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// Event types of a payment, in order.
async fn events(svc: &Orchestrator, pid: &str) -> Vec<String> {
    let (s, v) = get(svc, &format!("/v1/events?payment_id={pid}&limit=100")).await;
    assert_eq!(s, 200, "{v}");
    let mut out: Vec<String> = v["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_string())
        .collect();
    out.sort();
    out
}

async fn missed_webhooks_and_orphans_are_repaired_once(backend: Backend) {
    let s = CredentialSetup::new(backend).await;
    let svc = s.instance(std::time::Duration::from_secs(30));
    let LiveFakes { stripe, efi, .. } =
        LiveFakes::register(&svc, KEY_A, &["efi", "stripe", "asaas"]).await;

    // A Pix at EFI (paid at the gateway; its webhook never comes), a card at Stripe, a Pix at
    // Asaas.
    let mut efi_pix = pix_body(2590);
    efi_pix["gateway"] = "efi".into();
    let efi_p = post(&svc, KEY_A, "rec-efi", &efi_pix).await;
    assert_eq!(efi_p["status"], "pending");
    let card = json!({"amount": 7100, "currency": "BRL", "method": "card", "gateway": "stripe",
        "card": {"tokens": {"stripe": "pm_card_visa"}}});
    let stripe_p = post(&svc, KEY_A, "rec-stripe", &card).await;
    assert_eq!(stripe_p["status"], "succeeded");
    let mut asaas_pix = pix_body(4590);
    asaas_pix["gateway"] = "asaas".into();
    let asaas_p = post(&svc, KEY_A, "rec-asaas", &asaas_pix).await;
    assert_eq!(asaas_p["status"], "pending");
    let efi_id = efi_p["id"].as_str().expect("id").to_string();
    efi.pay(efi_p["gateway_payment_id"].as_str().expect("txid"));

    // The orphan: a holder made this charge at Stripe and died before storing anything.
    let orphan = PaymentId::generate();
    let client = StripeClient::new(StripeConfig {
        base_url: stripe.base_url.clone(),
        ..StripeConfig::new(stripe.api_key.clone())
    })
    .expect("client");
    let charged = client
        .create(&ChargeRequest {
            payment_id: orphan.clone(),
            gateway_key: gateway_key(&orphan),
            amount: Money::new(3300, Currency::BRL).expect("money"),
            method: PaymentMethod::Card,
            customer: None,
            description: None,
            card_token: Some("pm_card_visa".into()),
            expires_in: None,
        })
        .await
        .expect("orphan charge");
    let window = json!({"from": "2026-11-17T00:00:00Z"});

    // Two runs overlap while the orphan is young: the missed webhook is repaired once (one
    // run writes it, with its one event); the orphan is reported as still settling.
    s.h.clock.advance(Utc::now() - t0());
    let (a, b) = tokio::join!(runs(&svc, &window), runs(&svc, &window));
    let early: Vec<Value> = a.into_iter().chain(b).collect();
    assert_eq!(
        early.len(),
        6,
        "one run per gateway with credentials, twice"
    );
    let repaired = findings(&early, "status_repaired");
    assert_eq!(
        repaired.iter().filter(|(p, r)| p == &efi_id && *r).count(),
        1,
        "{repaired:?}"
    );
    assert!(repaired.iter().all(|(p, _)| p == &efi_id), "{repaired:?}");
    let (_, p) = get(&svc, &format!("/v1/payments/{efi_id}")).await;
    assert_eq!(p["status"], "succeeded");
    let efi_events = events(&svc, &efi_id).await;
    assert_eq!(
        efi_events
            .iter()
            .filter(|t| *t == "payment.succeeded")
            .count(),
        1,
        "the repaired status is told once: {efi_events:?}"
    );
    let young = findings(&early, "orphan_in_flight");
    assert!(
        !young.is_empty() && young.iter().all(|(p, r)| p == orphan.as_str() && !r),
        "{young:?}"
    );

    // 31 minutes later: no claim of this tenant names that payment id, so nothing proves the
    // charge is this tenant's (a gateway account shared with another tenant or deployment
    // lists theirs too). Flagged, never made a payment.
    s.h.clock.advance(Duration::minutes(31));
    let later = runs(&svc, &window).await;
    assert_eq!(
        findings(&later, "orphan_unnamed"),
        vec![(orphan.to_string(), false)]
    );
    assert!(findings(&later, "orphan_adopted").is_empty());
    let (st, _) = get(&svc, &format!("/v1/payments/{orphan}")).await;
    assert_eq!(st, 404, "an unclaimed charge is never adopted");
    assert!(events(&svc, orphan.as_str()).await.is_empty());
    assert!(later.iter().any(|r| r["findings"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f["kind"] == "orphan_unnamed"
            && f["gateway_payment_id"] == charged.gateway_payment_id.as_str()))));
    // Stripe's balance transaction (expanded by the listing) and Asaas's netValue: fee and net
    // stored on the payment.
    let (_, sp) = get(
        &svc,
        &format!("/v1/payments/{}", stripe_p["id"].as_str().expect("id")),
    )
    .await;
    let fee = 7100 * 399 / 10_000 + 39;
    assert_eq!(
        (sp["fee"].as_i64(), sp["net"].as_i64()),
        (Some(fee), Some(7100 - fee)),
        "{sp}"
    );
    let (_, ap) = get(
        &svc,
        &format!("/v1/payments/{}", asaas_p["id"].as_str().expect("id")),
    )
    .await;
    assert_eq!(
        (ap["fee"].as_i64(), ap["net"].as_i64()),
        (Some(99), Some(4590 - 99)),
        "{ap}"
    );

    // Over the unchanged window a run changes nothing.
    let mut versions = BTreeMap::new();
    for id in [
        &efi_id,
        &stripe_p["id"].as_str().expect("id").to_string(),
        &asaas_p["id"].as_str().expect("id").to_string(),
    ] {
        let (_, p) = get(&svc, &format!("/v1/payments/{id}")).await;
        versions.insert(id.clone(), (p["version"].as_i64(), events(&svc, id).await));
    }
    let again = runs(&svc, &window).await;
    for r in &again {
        assert_eq!(r["status"], "completed", "{r}");
        assert!(
            r["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .all(|f| f["repaired"] == false),
            "{r}"
        );
    }
    assert!(findings(&again, "status_repaired").is_empty());
    for (id, before) in &versions {
        let (_, p) = get(&svc, &format!("/v1/payments/{id}")).await;
        assert_eq!(
            &(p["version"].as_i64(), events(&svc, id).await),
            before,
            "{id}"
        );
    }

    // Runs are listed (newest first, without findings) and read back with their findings.
    let (st, list) = get(&svc, "/v1/reconciliation/runs?limit=100").await;
    assert_eq!(st, 200, "{list}");
    let listed = list["data"].as_array().expect("data");
    assert_eq!(listed.len(), 12, "4 requests × 3 gateways");
    assert!(listed.iter().all(|r| r["findings"] == json!([])));
    let id = again[0]["id"].as_str().expect("run id");
    assert_eq!(listed[0]["object"], "reconciliation_run");
    let (st, one) = get(&svc, &format!("/v1/reconciliation/runs/{id}")).await;
    assert_eq!((st, one["id"].as_str()), (200, Some(id)), "{one}");
    assert_eq!(one, again[0]);
    // Another tenant sees none of them.
    let r = call(
        &svc,
        KEY_B,
        Method::GET,
        &format!("/v1/reconciliation/runs/{id}"),
        "",
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(stripe.list_requests() > 0);
}

async fn bad_requests_are_refused_and_store_nothing(backend: Backend) {
    let s = CredentialSetup::new(backend).await;
    let svc = s.instance(std::time::Duration::from_secs(30));
    let post = |body: &'static str| {
        let svc = &svc;
        async move { call(svc, KEY_A, Method::POST, "/v1/reconciliation/runs", body).await }
    };
    // No credentials: nothing to list (simulators are not reconciled).
    let r = post("{}").await;
    assert_eq!(r.status, 422, "{}", r.body);
    let stripe = integration_tests::fakes::stripe::FakeStripe::start().await;
    let r = put_creds(
        &svc,
        KEY_A,
        "stripe",
        &json!({"secret_key": stripe.api_key, "base_url": stripe.base_url}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for (body, param) in [
        ("[1]", "body"),
        ("{\"from\": 5}", "from"),
        ("{\"from\": \"yesterday\"}", "from"),
        (
            "{\"from\": \"2026-11-21T12:00:00Z\", \"to\": \"2026-11-20T12:00:00Z\"}",
            "from",
        ),
        (
            "{\"from\": \"2026-01-01T00:00:00Z\", \"to\": \"2026-11-20T12:00:00Z\"}",
            "from",
        ),
        ("{\"to\": \"2030-01-01T00:00:00Z\"}", "to"),
        ("{\"gateway\": \"paypal\"}", "gateway"),
        ("{\"gateway\": 3}", "gateway"),
        ("{\"window\": 1}", "window"),
    ] {
        let r = post(body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        // A refusal of the whole body names no field.
        let want = if param == "body" {
            serde_json::Value::Null
        } else {
            param.into()
        };
        assert_eq!(json(&r)["error"]["param"], want, "{body}: {}", r.body);
    }
    let (st, v) = get(&svc, "/v1/reconciliation/runs").await;
    assert_eq!(
        (st, v["data"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{v}"
    );
    for id in ["recon_nope", "x", "recon_01JZZZZZZZZZZZZZZZZZZZZZZZ"] {
        let (st, _) = get(&svc, &format!("/v1/reconciliation/runs/{id}")).await;
        assert_eq!(st, 404, "{id}");
    }
    let (st, _) = get(&svc, "/v1/reconciliation/runs?limit=0").await;
    assert_eq!(st, 400);
    // A gateway that cannot be listed is a failed run, recorded as such.
    stripe.set_outage(Some(500));
    let r = post("{\"gateway\": \"stripe\"}").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let run = &json(&r)["data"][0];
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"]
            .as_str()
            .is_some_and(|e| !e.contains(&stripe.api_key)),
        "{run}"
    );
}

/// Listings follow their pages (more than one page at each gateway), and what cannot be
/// repaired is flagged without a write: an amount that differs, and a second charge for a
/// payment that names another one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listings_follow_pages_and_mismatches_are_flagged_not_written() {
    let s = CredentialSetup::new(Backend::Memory).await;
    let svc = s.instance(std::time::Duration::from_secs(3600));
    let LiveFakes { stripe, .. } =
        LiveFakes::register(&svc, KEY_A, &["efi", "stripe", "asaas"]).await;
    s.h.clock.advance(Utc::now() - t0());
    // 105 Pix at each gateway: more than one page of 100 everywhere.
    let mut ids = BTreeMap::new();
    for gateway in ["efi", "stripe", "asaas"] {
        for i in 0..105 {
            let mut b = pix_body(1011 + i * 100);
            b["gateway"] = gateway.into();
            let p = post(&svc, KEY_A, &format!("pg-{gateway}-{i}"), &b).await;
            ids.entry(gateway).or_insert_with(Vec::new).push(p);
        }
    }
    use shared::clock::Clock;
    s.h.clock
        .advance(Utc::now() - s.h.clock.now() + Duration::seconds(1));
    let window = json!({"from": "2026-11-17T00:00:00Z"});
    let first = runs(&svc, &window).await;
    for r in &first {
        assert_eq!(r["status"], "completed", "{r}");
        assert_eq!(r["listed"], 105, "{r}");
        assert_eq!(r["foreign"], 0, "{r}");
    }
    assert!(findings(&first, "status_repaired").is_empty());

    // Stripe's record of one payment changes amount; another payment gets a second intent.
    let a = &ids["stripe"][0];
    let b = &ids["stripe"][1];
    stripe.set_intent_amount(a["gateway_payment_id"].as_str().expect("gid"), 1);
    let client = StripeClient::new(StripeConfig {
        base_url: stripe.base_url.clone(),
        ..StripeConfig::new(stripe.api_key.clone())
    })
    .expect("client");
    let b_id = PaymentId::parse(b["id"].as_str().expect("id")).expect("payment id");
    let second = client
        .create(&ChargeRequest {
            payment_id: b_id.clone(),
            gateway_key: format!("{}-again", gateway_key(&b_id)),
            amount: Money::new(b["amount"].as_i64().expect("amount"), Currency::BRL)
                .expect("money"),
            method: PaymentMethod::Pix,
            customer: None,
            description: None,
            card_token: None,
            expires_in: None,
        })
        .await
        .expect("second intent");
    // Paid: money held twice for one payment (a leftover that holds none needs nobody).
    stripe.set_intent_status(&second.gateway_payment_id, "succeeded");
    let (_, before_a) = get(
        &svc,
        &format!("/v1/payments/{}", a["id"].as_str().expect("id")),
    )
    .await;
    let (_, before_b) = get(&svc, &format!("/v1/payments/{b_id}")).await;
    let flagged = runs(
        &svc,
        &json!({"from": "2026-11-17T00:00:00Z", "gateway": "stripe"}),
    )
    .await;
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0]["listed"], 106);
    assert_eq!(
        findings(&flagged, "amount_mismatch"),
        vec![(a["id"].as_str().expect("id").to_string(), false)]
    );
    let other: Vec<&Value> = flagged[0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "other_charge")
        .collect();
    assert_eq!(other.len(), 1, "{flagged:?}");
    assert_eq!(other[0]["payment_id"], b_id.as_str());
    assert_eq!(
        other[0]["gateway_payment_id"],
        second.gateway_payment_id.as_str()
    );
    let (_, after_a) = get(
        &svc,
        &format!("/v1/payments/{}", a["id"].as_str().expect("id")),
    )
    .await;
    let (_, after_b) = get(&svc, &format!("/v1/payments/{b_id}")).await;
    assert_eq!(
        (after_a, after_b),
        (before_a, before_b),
        "flags write nothing"
    );
}

on_both_backends!(
    missed_webhooks_and_orphans_are_repaired_once,
    bad_requests_are_refused_and_store_nothing,
);
