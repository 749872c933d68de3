//! CloudWatch Embedded Metric Format: the Lambdas' metrics recorder (feature `emf`, the
//! `metrics_cloudwatch_embedded` crate, one flush per invocation) and a validator of EMF
//! documents against the format's rules and limits, used by the tests and by
//! `devserver emf-check` on a Lambda's captured stdout.

use serde_json::Value;
use std::collections::BTreeSet;

/// Most metric definitions in one directive (the EMF limit).
pub const MAX_METRICS: usize = 100;
/// Most dimension keys in one dimension set.
pub const MAX_DIMENSIONS: usize = 30;
/// Most values in one metric's array.
pub const MAX_VALUES: usize = 100;
/// Longest dimension value.
pub const MAX_DIMENSION_VALUE: usize = 1024;
/// Units CloudWatch accepts.
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];
/// Properties that must never be dimensions (their cardinality is unbounded).
const NEVER_DIMENSIONS: [&str; 5] = [
    "tenant_id",
    "payment_id",
    "request_id",
    "xray_trace_id",
    "event_id",
];

/// What a valid document holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmfDocument {
    pub namespace: String,
    pub dimension_sets: Vec<Vec<String>>,
    /// (name, unit)
    pub metrics: Vec<(String, String)>,
}

/// Checks one log line as an EMF document: the `_aws` metadata (millisecond `Timestamp`,
/// `CloudWatchMetrics` directives), each directive's namespace, dimension sets (≤ 30 keys, each a
/// string member of the root no longer than 1024 characters, never an id) and metrics (≤ 100,
/// valid units, each a number or an array of ≤ 100 numbers at the root).
pub fn validate(line: &str) -> Result<EmfDocument, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let root = v.as_object().ok_or("not a JSON object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object")?;
    let ts = aws
        .get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp is not an integer")?;
    if ts < 1_000_000_000_000 {
        return Err("_aws.Timestamp is not in milliseconds".into());
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics is not an array")?;
    let [d] = directives.as_slice() else {
        return Err("expected exactly one metric directive".into());
    };
    let namespace = d
        .get("Namespace")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty() && n.len() <= 1024)
        .ok_or("Namespace missing or too long")?
        .to_string();
    let mut dimension_sets = Vec::new();
    for set in d
        .get("Dimensions")
        .and_then(Value::as_array)
        .ok_or("Dimensions is not an array")?
    {
        let keys = set.as_array().ok_or("a dimension set is not an array")?;
        if keys.len() > MAX_DIMENSIONS {
            return Err(format!("a dimension set has {} keys", keys.len()));
        }
        let mut names = Vec::new();
        for k in keys {
            let k = k.as_str().ok_or("a dimension key is not a string")?;
            if NEVER_DIMENSIONS.contains(&k) {
                return Err(format!("`{k}` must not be a dimension"));
            }
            let val = root
                .get(k)
                .and_then(Value::as_str)
                .ok_or(format!("dimension `{k}` has no string value at the root"))?;
            if val.is_empty() || val.len() > MAX_DIMENSION_VALUE {
                return Err(format!("dimension `{k}` value is empty or too long"));
            }
            names.push(k.to_string());
        }
        dimension_sets.push(names);
    }
    let defs = d
        .get("Metrics")
        .and_then(Value::as_array)
        .ok_or("Metrics is not an array")?;
    if defs.is_empty() || defs.len() > MAX_METRICS {
        return Err(format!("{} metric definitions", defs.len()));
    }
    let mut metrics = Vec::new();
    let mut seen = BTreeSet::new();
    for m in defs {
        let name = m
            .get("Name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty() && n.len() <= 1024)
            .ok_or("a metric has no name")?;
        if !seen.insert(name) {
            return Err(format!("metric `{name}` defined twice"));
        }
        let unit = m.get("Unit").and_then(Value::as_str).unwrap_or("None");
        if !UNITS.contains(&unit) {
            return Err(format!("metric `{name}` has unit `{unit}`"));
        }
        match root.get(name) {
            Some(Value::Number(_)) => {}
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_VALUES => {
                if !a.iter().all(Value::is_number) {
                    return Err(format!("metric `{name}` has a non-number value"));
                }
            }
            _ => return Err(format!("metric `{name}` has no numeric value at the root")),
        }
        metrics.push((name.to_string(), unit.to_string()));
    }
    Ok(EmfDocument {
        namespace,
        dimension_sets,
        metrics,
    })
}

/// The Lambdas' EMF recorder: namespace [`crate::telemetry::NAMESPACE`], the `Service`
/// dimension on every metric (plus `Gateway` where the metric is labelled with it), the
/// `ColdStart` metric once per instance, and the invocation's `request_id` and `xray_trace_id`
/// as plain properties. Installed as the global `metrics` recorder; run the handler with
/// `metrics_cloudwatch_embedded::lambda::handler::run[_http]`, which flushes after each
/// invocation.
#[cfg(feature = "emf")]
pub fn lambda_recorder(
    service: &'static str,
) -> Result<&'static metrics_cloudwatch_embedded::Collector, String> {
    let c = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(crate::telemetry::NAMESPACE)
        .with_dimension("Service", service)
        .lambda_cold_start_metric(crate::telemetry::COLD_START)
        .with_lambda_request_id("request_id")
        .with_lambda_xray_trace_id("xray_trace_id")
        .init()
        .map_err(|e| format!("metrics recorder: {e}"))?;
    crate::telemetry::describe_metrics();
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"_aws":{"Timestamp":1717000000000,"CloudWatchMetrics":[{"Namespace":"PaymentOrchestrator","Dimensions":[["Service","Gateway"]],"Metrics":[{"Name":"PaymentProcessed","Unit":"Count"},{"Name":"GatewayLatency","Unit":"Milliseconds"}]}]},"Service":"proxy","Gateway":"stripe","PaymentProcessed":1,"GatewayLatency":[412.0,98.5],"request_id":"r-1","xray_trace_id":"Root=1-x"}"#;

    #[test]
    fn a_good_document_passes_and_each_rule_is_enforced() {
        let d = validate(GOOD).expect("valid");
        assert_eq!(d.namespace, "PaymentOrchestrator");
        assert_eq!(d.dimension_sets, vec![vec!["Service", "Gateway"]]);
        assert_eq!(d.metrics.len(), 2);
        let bad = [
            GOOD.replace("1717000000000", "1717000000"),
            GOOD.replace(r#""Gateway":"stripe","#, ""),
            GOOD.replace(r#"["Service","Gateway"]"#, r#"["Service","tenant_id"]"#),
            GOOD.replace(r#""Unit":"Count""#, r#""Unit":"Things""#),
            GOOD.replace(r#""PaymentProcessed":1,"#, r#""PaymentProcessed":"1","#),
            GOOD.replace("[412.0,98.5]", "[]"),
            GOOD.replace(r#""Namespace":"PaymentOrchestrator""#, r#""Namespace":"""#),
            "not json".to_string(),
        ];
        for b in &bad {
            assert!(validate(b).is_err(), "{b}");
        }
        let many: Vec<String> = (0..101)
            .map(|i| format!(r#"{{"Name":"m{i}","Unit":"Count"}}"#))
            .collect();
        let values: Vec<String> = (0..101).map(|i| format!(r#""m{i}":1"#)).collect();
        let too_many = format!(
            r#"{{"_aws":{{"Timestamp":1717000000000,"CloudWatchMetrics":[{{"Namespace":"N","Dimensions":[],"Metrics":[{}]}}]}},{}}}"#,
            many.join(","),
            values.join(",")
        );
        assert!(validate(&too_many).unwrap_err().contains("101"));
    }
}
