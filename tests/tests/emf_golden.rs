//! The EMF the Lambdas write: the recorder they install, fed by the same telemetry calls the
//! service makes, flushes documents that pass the EMF rules and limits and equal the golden
//! JSON; a real create and its replay produce valid documents with the expected metrics.

use integration_tests::{json, pix_body, Backend, Harness, KEY_A};
use serde_json::{json as j, Value};
use shared::telemetry::{self as t, GATEWAY_LATENCY, PAYMENT_PROCESSED};

fn flush(c: &metrics_cloudwatch_embedded::Collector) -> Vec<String> {
    let mut out = Vec::new();
    c.flush(&mut out).expect("flush");
    String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn emf_documents_follow_the_rules_and_the_golden_shape() {
    // As `shared::emf::lambda_recorder` builds it, with a fixed clock and invocation.
    let c = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(t::NAMESPACE)
        .with_dimension("Service", "proxy")
        .with_timestamp(1_764_000_000_000)
        .init()
        .expect("recorder");
    t::describe_metrics();
    c.set_property("request_id", "8f5e-invocation")
        .set_property("xray_trace_id", "Root=1-6740a000-0123456789abcdef01234567");

    t::count(t::PAYMENT_PROCESSED, Some("stripe"));
    t::count(t::PAYMENT_FAILED, Some("stripe"));
    t::gateway_call("stripe", "create", None, 120.0);
    t::gateway_call("stripe", "create", None, 80.0);
    t::count(t::IDEMPOTENT_REPLAY, None);
    t::count(t::FAILOVER_COUNT, None);
    let docs = flush(c);
    let golden = [
        j!({"_aws": {"Timestamp": 1_764_000_000_000_u64, "CloudWatchMetrics": [{
                "Namespace": "PaymentOrchestrator", "Dimensions": [["Service"]],
                "Metrics": [{"Name": "FailoverCount", "Unit": "Count"},
                            {"Name": "IdempotentReplay", "Unit": "Count"}]}]},
            "Service": "proxy", "FailoverCount": 1, "IdempotentReplay": 1,
            "request_id": "8f5e-invocation",
            "xray_trace_id": "Root=1-6740a000-0123456789abcdef01234567"}),
        j!({"_aws": {"Timestamp": 1_764_000_000_000_u64, "CloudWatchMetrics": [{
                "Namespace": "PaymentOrchestrator", "Dimensions": [["Service", "Gateway"]],
                "Metrics": [{"Name": "GatewayLatency", "Unit": "Milliseconds"},
                            {"Name": "PaymentFailed", "Unit": "Count"},
                            {"Name": "PaymentProcessed", "Unit": "Count"}]}]},
            "Service": "proxy", "Gateway": "stripe",
            "GatewayLatency": [120.0, 80.0], "PaymentFailed": 1, "PaymentProcessed": 1,
            "request_id": "8f5e-invocation",
            "xray_trace_id": "Root=1-6740a000-0123456789abcdef01234567"}),
    ];
    let mut parsed: Vec<Value> = docs
        .iter()
        .map(|d| {
            shared::emf::validate(d).unwrap_or_else(|e| panic!("{e}: {d}"));
            serde_json::from_str(d).expect("json")
        })
        .collect();
    parsed.sort_by_key(|v| v.get("Gateway").is_some());
    assert_eq!(parsed, golden, "{docs:#?}");
    // A flush empties the batch: the next invocation starts from nothing.
    assert!(flush(c).is_empty());

    // A real create and its replay, through the API.
    let h = Harness::new(Backend::Memory).await;
    let r = h.create(KEY_A, "emf-1", &pix_body(1990)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let again = h.create(KEY_A, "emf-1", &pix_body(1990)).await;
    assert_eq!(json(&again)["id"], json(&r)["id"]);
    let docs = flush(c);
    let mut names = std::collections::BTreeSet::new();
    for d in &docs {
        let doc = shared::emf::validate(d).unwrap_or_else(|e| panic!("{e}: {d}"));
        assert_eq!(doc.namespace, "PaymentOrchestrator");
        for (name, unit) in doc.metrics {
            let want = t::METRICS.iter().find(|(n, _)| *n == name).map(|(_, u)| *u);
            assert_eq!(
                want,
                Some(unit.as_str()),
                "{name} is a known metric with its unit"
            );
            names.insert(name);
        }
    }
    for want in [PAYMENT_PROCESSED, GATEWAY_LATENCY, t::IDEMPOTENT_REPLAY] {
        assert!(names.contains(want), "{want} in {docs:#?}");
    }
}
