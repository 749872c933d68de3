//! `GET /v1/payments?gateway_payment_id=…` (the console's search by a gateway's id), on both
//! backends: found through the gateways' indexes, only the caller's own payments, the other
//! filters still apply, bad values are a 400 naming the parameter.

use integration_tests::{json, on_both_backends, pix_body, Backend, Harness, KEY_A, KEY_B};

async fn search_by_gateway_payment_id(b: Backend) {
    let h = Harness::new(b).await;
    let created = json(&h.create(KEY_A, "search-1", &pix_body(1990)).await);
    let gid = created["gateway_payment_id"]
        .as_str()
        .expect("a gateway id")
        .to_string();
    let _other = json(&h.create(KEY_A, "search-2", &pix_body(2990)).await);

    let found = json(
        &h.get(KEY_A, &format!("/v1/payments?gateway_payment_id={gid}"))
            .await,
    );
    let data = found["data"].as_array().expect("a list");
    assert_eq!(data.len(), 1, "{found}");
    assert_eq!(data[0]["id"], created["id"]);
    assert_eq!(found["has_more"], false);

    // Another tenant does not find it; an unknown id finds nothing; the status filter applies.
    let theirs = json(
        &h.get(KEY_B, &format!("/v1/payments?gateway_payment_id={gid}"))
            .await,
    );
    assert_eq!(theirs["data"].as_array().map(Vec::len), Some(0), "{theirs}");
    let none = json(
        &h.get(KEY_A, "/v1/payments?gateway_payment_id=nope_123")
            .await,
    );
    assert_eq!(none["data"].as_array().map(Vec::len), Some(0));
    let wrong_status = json(
        &h.get(
            KEY_A,
            &format!("/v1/payments?gateway_payment_id={gid}&status=succeeded"),
        )
        .await,
    );
    assert_eq!(wrong_status["data"].as_array().map(Vec::len), Some(0));

    let long = "x".repeat(129);
    for q in [
        "gateway_payment_id=".to_string(),
        format!("gateway_payment_id={long}"),
        format!(
            "gateway_payment_id={gid}&starting_after={}",
            created["id"].as_str().unwrap_or("")
        ),
    ] {
        let r = h.get(KEY_A, &format!("/v1/payments?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        assert_eq!(json(&r)["error"]["type"], "invalid_request");
        assert!(json(&r)["error"]["param"].is_string(), "{}", r.body);
    }
}

on_both_backends!(search_by_gateway_payment_id);

/// `GET /v1/payments?customer_document=…`: the payments of one CPF/CNPJ, newest first, only the
/// caller's, separators allowed; a bad document or a combination is a 400. And the read of one
/// payment names its customer with the document masked, while lists carry no customer.
async fn search_by_customer_document(b: Backend) {
    let h = Harness::new(b).await;
    let mut body = pix_body(1990);
    body["customer"] = serde_json::json!({"name": "Ana Lima", "document": "11144477735"});
    let first = json(&h.create(KEY_A, "doc-1", &body).await);
    body["amount"] = serde_json::json!(2990);
    let second = json(&h.create(KEY_A, "doc-2", &body).await);
    let _someone_else = json(&h.create(KEY_A, "doc-3", &pix_body(3990)).await);
    let _other_tenant = json(&h.create(KEY_B, "doc-4", &body).await);

    let found = json(
        &h.get(KEY_A, "/v1/payments?customer_document=111.444.777-35")
            .await,
    );
    // Both of this customer's payments (made in the same instant of the test clock: their order
    // is the ids', newest first), no one else's.
    let ids: Vec<&str> = found["data"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    let mut expected = [
        first["id"].as_str().unwrap_or(""),
        second["id"].as_str().unwrap_or(""),
    ];
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, expected, "{found}");
    assert_eq!(found["has_more"], false);
    assert!(
        found["data"][0].get("customer").is_none(),
        "a list carries no customer"
    );
    let limited = json(
        &h.get(KEY_A, "/v1/payments?customer_document=11144477735&limit=1")
            .await,
    );
    assert_eq!(limited["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(limited["has_more"], true, "stopped at the limit: {limited}");

    let one = json(
        &h.get(
            KEY_A,
            &format!(
                "/v1/payments/{}?expand=customer",
                first["id"].as_str().unwrap_or("")
            ),
        )
        .await,
    );
    assert_eq!(
        one["customer"],
        serde_json::json!({"name": "Ana Lima", "email": null, "document_type": "cpf", "document_masked": "111.***.***-35"})
    );
    assert!(!one.to_string().contains("11144477735"), "{one}");
    let plain = json(
        &h.get(
            KEY_A,
            &format!("/v1/payments/{}", first["id"].as_str().unwrap_or("")),
        )
        .await,
    );
    assert!(plain.get("customer").is_none(), "only when asked: {plain}");
    let bad = h
        .get(
            KEY_A,
            &format!(
                "/v1/payments/{}?expand=card",
                first["id"].as_str().unwrap_or("")
            ),
        )
        .await;
    assert_eq!(
        (bad.status, json(&bad)["error"]["param"].as_str()),
        (400, Some("expand"))
    );

    for q in [
        "customer_document=11144477736",
        "customer_document=abc",
        "customer_document=11144477735&gateway_payment_id=x",
        "customer_document=11144477735&starting_after=pay_01J0000000000000000000000",
    ] {
        let r = h.get(KEY_A, &format!("/v1/payments?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        assert!(json(&r)["error"]["param"].is_string(), "{}", r.body);
    }
}

on_both_backends!(search_by_customer_document);
