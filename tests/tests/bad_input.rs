//! Every malformed or invalid input gets a clear 4xx with the error shape, and writes nothing:
//! no idempotency record, no payment, no gateway call. On both backends.

use http::Method;
use integration_tests::{json, on_both_backends, pix_body, Backend, Harness, KEY_A};

/// Name, header overrides (empty value removes the header), body, expected status and code.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, String, u16, &'a str);

fn with(field: &str, value: serde_json::Value) -> String {
    let mut b = pix_body(1990);
    b[field] = value;
    b.to_string()
}

async fn bad_inputs_are_4xx_and_write_nothing(b: Backend) {
    let h = Harness::new(b).await;
    let auth = format!("Bearer {KEY_A}");
    let long_key = "k".repeat(256);
    let huge = format!(
        r#"{{"amount":1990,"currency":"BRL","method":"pix","description":"{}"}}"#,
        "x".repeat(300 * 1024)
    );
    let mut customer_cnpj = pix_body(1990);
    customer_cnpj["customer"]["document"] = "11.222.333/0001-80".into();
    let cases: Vec<Case> = vec![
        (
            "bad json",
            vec![],
            "{\"amount\": 19".into(),
            400,
            "body_not_json",
        ),
        (
            "not an object",
            vec![],
            "[1,2]".into(),
            400,
            "body_not_object",
        ),
        ("empty body", vec![], String::new(), 400, "body_not_json"),
        (
            "amount as string",
            vec![],
            with("amount", "1990".into()),
            400,
            "parameter_invalid_integer",
        ),
        (
            "amount as float",
            vec![],
            with("amount", serde_json::json!(19.9)),
            400,
            "parameter_invalid_integer",
        ),
        (
            "zero amount",
            vec![],
            with("amount", 0.into()),
            400,
            "invalid_amount",
        ),
        (
            "negative amount",
            vec![],
            with("amount", (-100).into()),
            400,
            "invalid_amount",
        ),
        (
            "absurd amount",
            vec![],
            with("amount", serde_json::json!(100_000_000_000i64)),
            400,
            "invalid_amount",
        ),
        (
            "bad currency",
            vec![],
            with("currency", "REAL".into()),
            400,
            "invalid_currency",
        ),
        (
            "unknown method",
            vec![],
            with("method", "crypto".into()),
            400,
            "parameter_invalid_enum",
        ),
        (
            "bad cpf",
            vec![],
            with(
                "customer",
                serde_json::json!({"name": "M", "document": "52998224724"}),
            ),
            400,
            "invalid_document",
        ),
        (
            "bad cnpj",
            vec![],
            customer_cnpj.to_string(),
            400,
            "invalid_document",
        ),
        (
            "unknown field",
            vec![],
            with("amout", 1.into()),
            400,
            "unknown_parameter",
        ),
        (
            "unknown gateway",
            vec![],
            with("gateway", "paypal".into()),
            400,
            "unknown_gateway",
        ),
        (
            "gateway lacking the method",
            vec![],
            with("gateway", "efi".into()).replace("\"pix\"", "\"card\""),
            400,
            "card_token_required",
        ),
        (
            "insecure callback",
            vec![],
            with("callback_url", "http://merchant.example/h".into()),
            400,
            "invalid_callback_url",
        ),
        (
            "missing key",
            vec![("idempotency-key", "")],
            pix_body(1990).to_string(),
            400,
            "idempotency_key_invalid",
        ),
        (
            "oversized key",
            vec![("idempotency-key", long_key.as_str())],
            pix_body(1990).to_string(),
            400,
            "idempotency_key_invalid",
        ),
        ("body over 256 KiB", vec![], huge, 413, "body_too_large"),
        (
            "no auth",
            vec![("authorization", "")],
            pix_body(1990).to_string(),
            401,
            "unauthenticated",
        ),
        (
            "wrong auth",
            vec![("authorization", "Bearer sk_nope")],
            pix_body(1990).to_string(),
            401,
            "unauthenticated",
        ),
    ];
    for (name, overrides, body, status, code) in cases {
        let mut headers: Vec<(&str, &str)> = vec![
            ("authorization", auth.as_str()),
            ("idempotency-key", "bad-input-key"),
        ];
        for (k, v) in &overrides {
            headers.retain(|(hk, _)| hk != k);
            if !v.is_empty() {
                headers.push((k, v));
            }
        }
        let r = h.call(Method::POST, "/v1/payments", &headers, body).await;
        assert_eq!(r.status, status, "{name}: {}", r.body);
        let e = json(&r);
        assert_eq!(e["error"]["code"], code, "{name}: {}", r.body);
        assert!(
            e["error"]["type"].is_string() && e["error"]["message"].is_string(),
            "{name}"
        );
        assert_eq!(
            h.stores.idempotency_count().await,
            0,
            "{name} wrote an idempotency record"
        );
        assert_eq!(h.stores.payment_count().await, 0, "{name} wrote a payment");
        assert_eq!(h.gateway_calls(), 0, "{name} reached a gateway");
    }
    // The client may fix the body and retry with the same key.
    let fixed = h.create(KEY_A, "bad-input-key", &pix_body(1990)).await;
    assert_eq!(fixed.status, 201, "{}", fixed.body);
}

async fn unknown_routes_and_methods(b: Backend) {
    let h = Harness::new(b).await;
    let r = h.get(KEY_A, "/v2/whatever").await;
    assert_eq!(r.status, 404);
    let auth = format!("Bearer {KEY_A}");
    let del = h
        .call(
            Method::DELETE,
            "/v1/payments",
            &[("authorization", &auth)],
            "",
        )
        .await;
    assert_eq!(del.status, 405);
    let health = h.call(Method::GET, "/health", &[], "").await;
    assert_eq!(
        (health.status, json(&health)["status"].as_str()),
        (200, Some("ok"))
    );
}

/// Every answer names its request; an error body carries the same id (support tickets).
async fn every_answer_has_a_request_id(b: Backend) {
    let h = Harness::new(b).await;
    let id_of = |r: &shared::api::ApiResponse| {
        r.headers
            .iter()
            .find(|(k, _)| *k == "request-id")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let ok = h.create(KEY_A, "rid-1", &pix_body(1990)).await;
    let replay = h.create(KEY_A, "rid-1", &pix_body(1990)).await;
    let missing = h
        .get(KEY_A, "/v1/payments/pay_01JD0000000000000000000000")
        .await;
    let unauth = h.get("sk_wrong", "/v1/payments").await;
    let ids: Vec<String> = [&ok, &replay, &missing, &unauth]
        .iter()
        .map(|r| id_of(r))
        .collect();
    assert!(
        ids.iter().all(|i| i.starts_with("req_") && i.len() == 30),
        "{ids:?}"
    );
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "one id per request, a replay included");
    assert_eq!(
        replay.body, ok.body,
        "the stored answer is replayed byte for byte"
    );
    for (r, id) in [(&missing, &ids[2]), (&unauth, &ids[3])] {
        assert_eq!(json(r)["error"]["request_id"], id.as_str());
    }
}

on_both_backends!(
    bad_inputs_are_4xx_and_write_nothing,
    unknown_routes_and_methods,
    every_answer_has_a_request_id
);
