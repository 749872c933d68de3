//! The contract of a refused input, on every route that takes a body or a query: a corpus of
//! malformed requests (floats for integers, strings for numbers, missing fields at every
//! level, unknown fields, wrong enum values, nulls, arrays for objects, truncated JSON, non-JSON,
//! empty bodies, huge and negative numbers, bad nested customers, bad query parameters), each
//! answered with its status, `type`, exact `code` and `param`, a message that names the field
//! and never the parser's internals — and nothing written. Then the 405s: every route answers
//! an unlisted method with its `Allow` header. Memory backend: this is about the API edge.

use http::Method;
use integration_tests::credentials::CredentialSetup;
use integration_tests::{json, pix_body, Backend, Harness, KEY_A};
use shared::api::{handle, ApiRequest, ApiResponse};
use shared::service::{Orchestrator, ServiceConfig};
use std::sync::Arc;

const OPERATOR: &str = "op_test_validation_0000000000000000000000";

/// One refused request: method, path (with query), body, status, code, param.
struct Case {
    method: Method,
    path: String,
    body: String,
    status: u16,
    code: &'static str,
    param: Option<&'static str>,
}

fn case(
    method: Method,
    path: &str,
    body: impl Into<String>,
    status: u16,
    code: &'static str,
    param: Option<&'static str>,
) -> Case {
    Case {
        method,
        path: path.to_string(),
        body: body.into(),
        status,
        code,
        param,
    }
}

/// A Pix body with `field` set to a raw JSON text (so floats, huge numbers and duplicates
/// stay as written).
fn pix_with(field: &str, raw: &str) -> String {
    let mut b = pix_body(1990);
    b.as_object_mut().expect("object").remove(field);
    let base = b.to_string();
    format!("{{\"{field}\": {raw}, {}", &base[1..])
}

fn pix_without(field: &str) -> String {
    let mut b = pix_body(1990);
    b.as_object_mut().expect("object").remove(field);
    b.to_string()
}

fn customer(raw: &str) -> String {
    pix_with("customer", raw)
}

/// An orchestrator over the harness's stores with an operator key, for the admin routes.
fn operator_instance(h: &Harness) -> Arc<Orchestrator> {
    let config = ServiceConfig {
        operator_key_hashes: vec![shared::ports::hash_api_key(OPERATOR)],
        ..ServiceConfig::default()
    };
    Arc::new(
        Orchestrator::new(
            h.stores.idempotency.clone(),
            h.stores.payments.clone(),
            h.stores.tenants.clone(),
            h.registry(),
            h.clock.clone(),
            config,
        )
        .with_audit(h.stores.audit.clone()),
    )
}

async fn send(
    svc: &Orchestrator,
    key: &str,
    method: Method,
    path: &str,
    idem: &str,
    body: &str,
) -> ApiResponse {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path.to_string(), None),
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "authorization",
        http::HeaderValue::from_str(&format!("Bearer {key}")).expect("header"),
    );
    headers.insert(
        "idempotency-key",
        http::HeaderValue::from_str(idem).expect("header"),
    );
    handle(
        svc,
        ApiRequest {
            method,
            path,
            query,
            headers,
            body: body.to_string().into(),
            deadline: None,
            source_ip: None,
            client_cert_issuer: None,
        },
    )
    .await
}

/// What the tenant and the operator can see of the account: equal before and after the
/// refused requests, or something was written.
async fn snapshot(h: &Harness, op: &Orchestrator) -> Vec<String> {
    let mut out = vec![
        format!("payments {}", h.stores.payment_count().await),
        format!("idempotency {}", h.stores.idempotency_count().await),
    ];
    for path in [
        "/v1/api_keys",
        "/v1/webhook_secrets",
        "/v1/reconciliation/runs",
        "/v1/gateways",
        "/v1/audit",
        "/v1/payments",
    ] {
        out.push(format!("{path} {}", h.get(KEY_A, path).await.body));
    }
    out.push(
        send(op, OPERATOR, Method::GET, "/v1/admin/tenants", "-", "")
            .await
            .body,
    );
    out
}

fn corpus(payment: &str) -> Vec<Case> {
    use Method as M;
    let p = "/v1/payments";
    let refund = format!("/v1/payments/{payment}/refunds");
    let cancel = format!("/v1/payments/{payment}/cancel");
    let mut c = vec![
        // The create body, field by field.
        case(
            M::POST,
            p,
            pix_with("amount", "19.9"),
            400,
            "parameter_invalid_integer",
            Some("amount"),
        ),
        case(
            M::POST,
            p,
            pix_with("amount", "\"1990\""),
            400,
            "parameter_invalid_integer",
            Some("amount"),
        ),
        case(
            M::POST,
            p,
            pix_with("amount", "true"),
            400,
            "parameter_invalid_integer",
            Some("amount"),
        ),
        case(
            M::POST,
            p,
            pix_with("amount", "1e400"),
            400,
            "parameter_invalid_integer",
            Some("amount"),
        ),
        case(
            M::POST,
            p,
            pix_with("amount", "99999999999999999999"),
            400,
            "parameter_invalid_integer",
            Some("amount"),
        ),
        case(
            M::POST,
            p,
            pix_with("amount", "{}"),
            400,
            "parameter_invalid_integer",
            Some("amount"),
        ),
        case(
            M::POST,
            p,
            pix_with("amount", "-100"),
            400,
            "invalid_amount",
            Some("amount"),
        ),
        case(
            M::POST,
            p,
            pix_with("amount", "0"),
            400,
            "invalid_amount",
            Some("amount"),
        ),
        case(
            M::POST,
            p,
            pix_with("amount", "null"),
            400,
            "parameter_missing",
            Some("amount"),
        ),
        case(
            M::POST,
            p,
            pix_without("amount"),
            400,
            "parameter_missing",
            Some("amount"),
        ),
        case(
            M::POST,
            p,
            pix_without("currency"),
            400,
            "parameter_missing",
            Some("currency"),
        ),
        case(
            M::POST,
            p,
            pix_without("method"),
            400,
            "parameter_missing",
            Some("method"),
        ),
        case(
            M::POST,
            p,
            pix_with("currency", "5"),
            400,
            "parameter_invalid_type",
            Some("currency"),
        ),
        case(
            M::POST,
            p,
            pix_with("currency", "\"REAL\""),
            400,
            "invalid_currency",
            Some("currency"),
        ),
        case(
            M::POST,
            p,
            pix_with("currency", "\"USD\""),
            400,
            "currency_not_supported",
            Some("currency"),
        ),
        case(
            M::POST,
            p,
            pix_with("method", "\"crypto\""),
            400,
            "parameter_invalid_enum",
            Some("method"),
        ),
        case(
            M::POST,
            p,
            pix_with("method", "[\"pix\"]"),
            400,
            "parameter_invalid_type",
            Some("method"),
        ),
        case(
            M::POST,
            p,
            pix_with("surprise", "1"),
            400,
            "unknown_parameter",
            Some("surprise"),
        ),
        case(
            M::POST,
            p,
            pix_with("amount", "1990, \"amount\": 1990"),
            400,
            "parameter_duplicate",
            Some("amount"),
        ),
        case(
            M::POST,
            p,
            customer("[]"),
            400,
            "parameter_invalid_type",
            Some("customer"),
        ),
        case(
            M::POST,
            p,
            customer("\"Maria\""),
            400,
            "parameter_invalid_type",
            Some("customer"),
        ),
        case(
            M::POST,
            p,
            customer("{}"),
            400,
            "parameter_missing",
            Some("customer.name"),
        ),
        case(
            M::POST,
            p,
            customer(r#"{"name": null}"#),
            400,
            "parameter_missing",
            Some("customer.name"),
        ),
        case(
            M::POST,
            p,
            customer(r#"{"name": 5}"#),
            400,
            "parameter_invalid_type",
            Some("customer.name"),
        ),
        case(
            M::POST,
            p,
            customer(r#"{"name": ""}"#),
            400,
            "parameter_invalid_string",
            Some("customer.name"),
        ),
        case(
            M::POST,
            p,
            customer(r#"{"name": "A", "document": "123"}"#),
            400,
            "invalid_document",
            Some("customer.document"),
        ),
        case(
            M::POST,
            p,
            customer(r#"{"name": "A", "document": 52998224725}"#),
            400,
            "parameter_invalid_type",
            Some("customer.document"),
        ),
        case(
            M::POST,
            p,
            customer(r#"{"name": "A", "email": "nope"}"#),
            400,
            "invalid_email",
            Some("customer.email"),
        ),
        case(
            M::POST,
            p,
            customer(r#"{"name": "A", "phone": "1"}"#),
            400,
            "unknown_parameter",
            Some("customer.phone"),
        ),
        case(
            M::POST,
            p,
            pix_with("metadata", r#"{"k": 1}"#),
            400,
            "parameter_invalid_type",
            Some("metadata.k"),
        ),
        case(
            M::POST,
            p,
            pix_with("metadata", "[]"),
            400,
            "parameter_invalid_type",
            Some("metadata"),
        ),
        case(
            M::POST,
            p,
            pix_with("description", "\"\""),
            400,
            "parameter_invalid_string",
            Some("description"),
        ),
        case(
            M::POST,
            p,
            pix_with("expires_in", "90.5"),
            400,
            "parameter_invalid_integer",
            Some("expires_in"),
        ),
        case(
            M::POST,
            p,
            pix_with("expires_in", "10"),
            400,
            "parameter_out_of_range",
            Some("expires_in"),
        ),
        case(
            M::POST,
            p,
            pix_with("callback_url", "\"http://merchant.example/h\""),
            400,
            "invalid_callback_url",
            Some("callback_url"),
        ),
        case(
            M::POST,
            p,
            pix_with("gateway", "\"paypal\""),
            400,
            "unknown_gateway",
            Some("gateway"),
        ),
        case(
            M::POST,
            p,
            r#"{"amount": 100, "currency": "BRL", "method": "card", "card": {"tokens": "pm_1"}}"#,
            400,
            "parameter_invalid_type",
            Some("card.tokens"),
        ),
        case(
            M::POST,
            p,
            r#"{"amount": 100, "currency": "BRL", "method": "card", "card": {"tokens": {"stripe": 5}}}"#,
            400,
            "parameter_invalid_type",
            Some("card.tokens.stripe"),
        ),
        case(
            M::POST,
            p,
            r#"{"amount": 100, "currency": "BRL", "method": "card", "card": {}}"#,
            400,
            "parameter_missing",
            Some("card.tokens"),
        ),
        case(
            M::POST,
            p,
            r#"{"amount": 100, "currency": "BRL", "method": "card", "card": {"tokens": {"stripe": "pm_1"}}, "expires_in": 3600}"#,
            400,
            "parameter_conflict",
            Some("expires_in"),
        ),
        case(M::POST, p, r#"{"amount": 19"#, 400, "body_not_json", None),
        case(
            M::POST,
            p,
            "amount=1990&currency=BRL",
            400,
            "body_not_json",
            None,
        ),
        case(M::POST, p, "", 400, "body_not_json", None),
        case(
            M::POST,
            p,
            format!("{} x", pix_body(1990)),
            400,
            "body_not_json",
            None,
        ),
        case(M::POST, p, "[1, 2]", 400, "body_not_object", None),
        case(M::POST, p, "null", 400, "body_not_object", None),
        // Refunds and cancel.
        case(
            M::POST,
            &refund,
            r#"{"amount": 1.5}"#,
            400,
            "parameter_invalid_integer",
            Some("amount"),
        ),
        case(
            M::POST,
            &refund,
            r#"{"amount": "10"}"#,
            400,
            "parameter_invalid_integer",
            Some("amount"),
        ),
        case(
            M::POST,
            &refund,
            r#"{"amount": -1}"#,
            400,
            "invalid_amount",
            Some("amount"),
        ),
        case(
            M::POST,
            &refund,
            r#"{"reason": 5}"#,
            400,
            "parameter_invalid_type",
            Some("reason"),
        ),
        case(
            M::POST,
            &refund,
            r#"{"amount": 10, "extra": 1}"#,
            400,
            "unknown_parameter",
            Some("extra"),
        ),
        case(M::POST, &refund, "[]", 400, "body_not_object", None),
        case(M::POST, &refund, "{oops", 400, "body_not_json", None),
        case(
            M::POST,
            &cancel,
            r#"{"reason": "x"}"#,
            400,
            "unknown_parameter",
            Some("reason"),
        ),
        case(M::POST, &cancel, "[]", 400, "body_not_object", None),
        case(M::POST, &cancel, "{oops", 400, "body_not_json", None),
        // Routing.
        case(
            M::PUT,
            "/v1/routing",
            r#"{"pix": "efi"}"#,
            400,
            "parameter_invalid_type",
            Some("pix"),
        ),
        case(
            M::PUT,
            "/v1/routing",
            r#"{"pix": [1]}"#,
            400,
            "parameter_invalid_type",
            Some("pix.0"),
        ),
        case(
            M::PUT,
            "/v1/routing",
            r#"{"crypto": ["efi"]}"#,
            400,
            "unknown_parameter",
            Some("crypto"),
        ),
        case(
            M::PUT,
            "/v1/routing",
            r#"{"pix": ["paypal"]}"#,
            400,
            "unknown_gateway",
            Some("pix"),
        ),
        case(M::PUT, "/v1/routing", "[]", 400, "body_not_object", None),
        case(M::PUT, "/v1/routing", "", 400, "body_not_json", None),
        // Gateway credentials (never a value in the message).
        case(
            M::PUT,
            "/v1/gateways/stripe/credentials",
            "{}",
            400,
            "parameter_missing",
            Some("secret_key"),
        ),
        case(
            M::PUT,
            "/v1/gateways/stripe/credentials",
            r#"{"secret_key": 5}"#,
            400,
            "parameter_invalid_type",
            Some("secret_key"),
        ),
        case(
            M::PUT,
            "/v1/gateways/stripe/credentials",
            r#"{"secret_key": "sk_test_1", "nope": 1}"#,
            400,
            "unknown_parameter",
            None,
        ),
        case(
            M::PUT,
            "/v1/gateways/stripe/credentials",
            "{oops",
            400,
            "body_not_json",
            None,
        ),
        case(
            M::PUT,
            "/v1/gateways/stripe/credentials",
            "[]",
            400,
            "body_not_object",
            None,
        ),
        // API keys and callback secrets.
        case(
            M::POST,
            "/v1/api_keys",
            r#"{"expires_in_days": 1.5}"#,
            400,
            "parameter_invalid_integer",
            Some("expires_in_days"),
        ),
        case(
            M::POST,
            "/v1/api_keys",
            r#"{"expires_in_days": 0}"#,
            400,
            "parameter_out_of_range",
            Some("expires_in_days"),
        ),
        case(
            M::POST,
            "/v1/api_keys",
            r#"{"mode": "prod"}"#,
            400,
            "parameter_invalid_enum",
            Some("mode"),
        ),
        case(
            M::POST,
            "/v1/api_keys",
            r#"{"x": 1}"#,
            400,
            "unknown_parameter",
            Some("x"),
        ),
        case(M::POST, "/v1/api_keys", "[]", 400, "body_not_object", None),
        case(
            M::POST,
            "/v1/webhook_secrets/rotate",
            r#"{"grace_hours": "24"}"#,
            400,
            "parameter_invalid_integer",
            Some("grace_hours"),
        ),
        case(
            M::POST,
            "/v1/webhook_secrets/rotate",
            r#"{"grace_hours": 1000}"#,
            400,
            "parameter_out_of_range",
            Some("grace_hours"),
        ),
        case(
            M::POST,
            "/v1/webhook_secrets/rotate",
            r#"{"grace": 1}"#,
            400,
            "unknown_parameter",
            Some("grace"),
        ),
        case(
            M::POST,
            "/v1/webhook_secrets/rotate",
            "{",
            400,
            "body_not_json",
            None,
        ),
        // Reconciliation runs.
        case(
            M::POST,
            "/v1/reconciliation/runs",
            r#"{"from": "yesterday"}"#,
            400,
            "parameter_invalid_format",
            Some("from"),
        ),
        case(
            M::POST,
            "/v1/reconciliation/runs",
            r#"{"from": 5}"#,
            400,
            "parameter_invalid_type",
            Some("from"),
        ),
        case(
            M::POST,
            "/v1/reconciliation/runs",
            r#"{"gateway": "paypal"}"#,
            400,
            "unknown_gateway",
            Some("gateway"),
        ),
        case(
            M::POST,
            "/v1/reconciliation/runs",
            r#"{"x": 1}"#,
            400,
            "unknown_parameter",
            Some("x"),
        ),
        case(
            M::POST,
            "/v1/reconciliation/runs",
            r#"{"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}"#,
            400,
            "parameter_conflict",
            Some("from"),
        ),
        case(
            M::POST,
            "/v1/reconciliation/runs",
            "[1]",
            400,
            "body_not_object",
            None,
        ),
        // Query parameters.
        case(
            M::GET,
            "/v1/payments?limit=abc",
            "",
            400,
            "parameter_invalid_integer",
            Some("limit"),
        ),
        case(
            M::GET,
            "/v1/payments?limit=0",
            "",
            400,
            "parameter_out_of_range",
            Some("limit"),
        ),
        case(
            M::GET,
            "/v1/payments?limit=1000",
            "",
            400,
            "parameter_out_of_range",
            Some("limit"),
        ),
        case(
            M::GET,
            "/v1/payments?status=nope",
            "",
            400,
            "parameter_invalid_enum",
            Some("status"),
        ),
        case(
            M::GET,
            "/v1/payments?late_payment=maybe",
            "",
            400,
            "parameter_invalid_enum",
            Some("late_payment"),
        ),
        case(
            M::GET,
            "/v1/payments?starting_after=xyz",
            "",
            400,
            "parameter_invalid_format",
            Some("starting_after"),
        ),
        case(
            M::GET,
            "/v1/payments?reference=",
            "",
            400,
            "parameter_invalid_string",
            Some("reference"),
        ),
        case(
            M::GET,
            "/v1/payments?color=red",
            "",
            400,
            "unknown_parameter",
            Some("color"),
        ),
        case(
            M::GET,
            &format!("/v1/payments/{payment}?refresh=maybe"),
            "",
            400,
            "parameter_invalid_enum",
            Some("refresh"),
        ),
        case(
            M::GET,
            "/v1/events?type=nope",
            "",
            400,
            "parameter_invalid_enum",
            Some("type"),
        ),
        case(
            M::GET,
            "/v1/events?payment_id=x",
            "",
            400,
            "parameter_invalid_format",
            Some("payment_id"),
        ),
        case(
            M::GET,
            "/v1/events?limit=-1",
            "",
            400,
            "parameter_out_of_range",
            Some("limit"),
        ),
        case(
            M::GET,
            "/v1/usage?month=2026-13",
            "",
            400,
            "parameter_invalid_format",
            Some("month"),
        ),
        case(
            M::GET,
            "/v1/usage?month=2026-11&from=2026-11-01",
            "",
            400,
            "parameter_conflict",
            Some("month"),
        ),
        case(
            M::GET,
            "/v1/usage?from=2026-11-01",
            "",
            400,
            "parameter_missing",
            Some("to"),
        ),
        case(
            M::GET,
            "/v1/usage?from=2026-11-01&to=2026-11-02&granularity=week",
            "",
            400,
            "parameter_invalid_enum",
            Some("granularity"),
        ),
        case(
            M::GET,
            "/v1/audit?limit=x",
            "",
            400,
            "parameter_invalid_integer",
            Some("limit"),
        ),
        case(
            M::GET,
            "/v1/reconciliation/runs?nope=1",
            "",
            400,
            "unknown_parameter",
            Some("nope"),
        ),
        case(
            M::GET,
            "/v1/webhook_endpoint?starting_after=x",
            "",
            400,
            "unknown_parameter",
            Some("starting_after"),
        ),
        case(
            M::GET,
            "/v1/webhooks/unmatched?limit=1.5",
            "",
            400,
            "parameter_invalid_integer",
            Some("limit"),
        ),
    ];
    // A numeric payment id path part is not a body problem: a 404, never a 400.
    c.push(case(
        M::GET,
        "/v1/payments/123",
        "",
        404,
        "resource_missing",
        None,
    ));
    c
}

fn admin_corpus() -> Vec<Case> {
    use Method as M;
    let t = "/v1/admin/tenants";
    vec![
        case(M::POST, t, "{}", 400, "parameter_missing", Some("name")),
        case(
            M::POST,
            t,
            r#"{"name": 5}"#,
            400,
            "parameter_invalid_type",
            Some("name"),
        ),
        case(
            M::POST,
            t,
            r#"{"name": "A", "rate_limit_per_minute": -1}"#,
            400,
            "parameter_invalid_integer",
            Some("rate_limit_per_minute"),
        ),
        case(
            M::POST,
            t,
            r#"{"name": "A", "rate_limit_per_minute": 1e6}"#,
            400,
            "parameter_out_of_range",
            Some("rate_limit_per_minute"),
        ),
        case(
            M::POST,
            t,
            r#"{"name": "A", "routing": {"crypto": ["efi"]}}"#,
            400,
            "unknown_parameter",
            Some("routing.crypto"),
        ),
        case(
            M::POST,
            t,
            r#"{"name": "A", "routing": {"pix": "efi"}}"#,
            400,
            "parameter_invalid_type",
            Some("routing.pix"),
        ),
        case(
            M::POST,
            t,
            r#"{"name": "A", "callback_url": "ftp://x.example"}"#,
            400,
            "invalid_callback_url",
            Some("callback_url"),
        ),
        case(
            M::POST,
            t,
            r#"{"name": "A", "id": "bad id!"}"#,
            400,
            "parameter_invalid_format",
            Some("id"),
        ),
        case(M::POST, t, r#"{"name": "A""#, 400, "body_not_json", None),
        case(
            M::PATCH,
            "/v1/admin/tenants/ten_a",
            r#"{"disabled": "yes"}"#,
            400,
            "parameter_invalid_type",
            Some("disabled"),
        ),
        case(
            M::PATCH,
            "/v1/admin/tenants/ten_a",
            r#"{"x": 1}"#,
            400,
            "unknown_parameter",
            Some("x"),
        ),
        case(
            M::PATCH,
            "/v1/admin/tenants/ten_a",
            r#"{"name": ""}"#,
            400,
            "parameter_invalid_string",
            Some("name"),
        ),
    ]
}

/// What a message must not show: the parser's position, its phrases and Rust's type names.
const PARSER_PHRASES: &[&str] = &[
    "line ",
    "column",
    "invalid type:",
    "invalid value:",
    "expected",
    "i64",
    "u32",
    "struct ",
    "Raw",
];

/// What is wrong with the answer to `c`, if anything.
fn check(c: &Case, r: &ApiResponse) -> Vec<String> {
    let what = format!("{} {} {:?}", c.method, c.path, c.body);
    let mut bad = Vec::new();
    if r.status != c.status {
        return vec![format!(
            "{what}: status {} ≠ {}: {}",
            r.status, c.status, r.body
        )];
    }
    let e = &json(r)["error"];
    let expected_type = if c.status == 404 {
        "not_found"
    } else {
        "invalid_request"
    };
    if e["type"] != expected_type || e["code"] != c.code || e["param"].as_str() != c.param {
        bad.push(format!(
            "{what}: wanted {expected_type}/{}/{:?}, got {}",
            c.code, c.param, r.body
        ));
    }
    let message = e["message"].as_str().unwrap_or_default();
    for phrase in PARSER_PHRASES {
        if message.contains(phrase) {
            bad.push(format!(
                "{what}: the message shows the parser ({phrase:?}): {message}"
            ));
        }
    }
    match c.param {
        // The message names the field, by its full path or its last segment.
        Some(p) => {
            let last = p.rsplit('.').next().unwrap_or(p);
            if !message.contains(p) && !message.contains(last) {
                bad.push(format!("{what}: the message does not name {p}: {message}"));
            }
        }
        None if c.code.starts_with("body_") && !message.contains("body") => {
            bad.push(format!("{what}: the message does not say body: {message}"));
        }
        None => {}
    }
    bad
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_input_is_named_coded_and_writes_nothing() {
    let setup = CredentialSetup::new(Backend::Memory).await;
    let h = &setup.h;
    // The credentials routes need the credential store, which the plain harness lacks.
    let with_credentials = setup.instance(std::time::Duration::from_secs(60));
    let op = operator_instance(h);
    let created = h.create(KEY_A, "seed-1", &pix_body(1990)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let payment = json(&created)["id"].as_str().expect("id").to_string();

    let before = snapshot(h, &op).await;
    let calls = h.gateway_calls();
    let mut wrong = Vec::new();
    for (i, c) in corpus(&payment).iter().enumerate() {
        let svc = if c.path.contains("/credentials") {
            &with_credentials
        } else {
            &h.svc
        };
        let r = send(
            svc,
            KEY_A,
            c.method.clone(),
            &c.path,
            &format!("v-{i}"),
            &c.body,
        )
        .await;
        wrong.extend(check(c, &r));
    }
    for (i, c) in admin_corpus().iter().enumerate() {
        let r = send(
            &op,
            OPERATOR,
            c.method.clone(),
            &c.path,
            &format!("a-{i}"),
            &c.body,
        )
        .await;
        wrong.extend(check(c, &r));
    }
    assert!(
        wrong.is_empty(),
        "{} refusals are off:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(
        snapshot(h, &op).await,
        before,
        "a refused request wrote something"
    );
    assert_eq!(
        h.gateway_calls(),
        calls,
        "a refused request reached a gateway"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integer_written_with_a_decimal_point_is_that_integer() {
    let h = Harness::new(Backend::Memory).await;
    let body = pix_with("amount", "1990.0");
    let r = send(&h.svc, KEY_A, Method::POST, "/v1/payments", "dec-1", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json(&r)["amount"], 1990);
    let r = send(&h.svc, KEY_A, Method::GET, "/v1/payments?limit=2", "-", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_an_unlisted_method_with_405_and_allow() {
    let h = Harness::new(Backend::Memory).await;
    let op = operator_instance(&h);
    let all = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
    ];
    for (pattern, allow) in shared::api::ROUTES {
        let path = format!(
            "/{}",
            pattern
                .iter()
                .map(|s| if *s == "*" { "x" } else { s })
                .collect::<Vec<_>>()
                .join("/")
        );
        let listed: Vec<&str> = allow.split(", ").collect();
        for m in &all {
            let svc: &Orchestrator = if path.starts_with("/v1/admin") {
                &op
            } else {
                &h.svc
            };
            let key = if path.starts_with("/v1/admin") {
                OPERATOR
            } else {
                KEY_A
            };
            let r = send(svc, key, m.clone(), &path, &format!("m-{m}-{path}"), "").await;
            if listed.contains(&m.as_str()) {
                assert!(
                    r.status != 405 && r.status < 500,
                    "{m} {path} is listed but answered {}: {}",
                    r.status,
                    r.body
                );
            } else {
                assert_eq!(r.status, 405, "{m} {path}: {}", r.body);
                let header = r
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("allow"))
                    .map(|(_, v)| v.as_str());
                assert_eq!(header, Some(*allow), "{m} {path}");
                assert_eq!(json(&r)["error"]["code"], "method_not_allowed");
            }
        }
    }
    // No route: 404, not 405.
    let r = send(&h.svc, KEY_A, Method::TRACE, "/v1/nowhere", "n", "").await;
    assert_eq!(r.status, 404);
}
