//! Issue 24: a create no gateway could take (the 502) leaves no payment, and is counted in the
//! tenant's usage as `payments.refused` — on both backends, in the write that releases its
//! idempotency claim. A retry with the same key after the outage succeeds as a new create.

use integration_tests::{json, on_both_backends, pix_body, Backend, Harness, KEY_A, KEY_B};

async fn refused_creates_are_counted(b: Backend) {
    let h = Harness::new(b).await;
    // Pix pinned to EFI with an amount ending in 53: the simulator answers 503, nothing is
    // created anywhere, and the request is refused.
    let mut body = pix_body(1053);
    body["gateway"] = "efi".into();
    for i in 0..2 {
        let r = h.create(KEY_A, &format!("refused-{i}"), &body).await;
        assert_eq!(r.status, 502, "{}", r.body);
        assert_eq!(json(&r)["error"]["type"], "gateway");
    }
    assert_eq!(h.stores.payment_count().await, 0);

    let month = json(&h.get(KEY_A, "/v1/usage").await);
    assert_eq!(month["payments"]["refused"], 2, "{month}");
    assert_eq!(month["payments"]["total"], 0, "{month}");
    // The harness's clock is fixed: its day is the answer's `as_of` day.
    let today = month["as_of"]
        .as_str()
        .unwrap_or("")
        .chars()
        .take(10)
        .collect::<String>();
    let day = json(
        &h.get(
            KEY_A,
            &format!("/v1/usage?from={today}&to={today}&granularity=day"),
        )
        .await,
    );
    assert_eq!(day["data"][0]["payments"]["refused"], 2, "{day}");
    // Another tenant's usage is untouched.
    let theirs = json(&h.get(KEY_B, "/v1/usage").await);
    assert_eq!(theirs["payments"]["refused"], 0, "{theirs}");

    // A create that goes through is not a refusal.
    let ok = h.create(KEY_A, "fine-1", &pix_body(1990)).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let month = json(&h.get(KEY_A, "/v1/usage").await);
    assert_eq!(month["payments"]["refused"], 2, "{month}");
    assert_eq!(month["payments"]["total"], 1, "{month}");
}

on_both_backends!(refused_creates_are_counted);
