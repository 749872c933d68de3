//! `devserver emf-check FILE`: finds the CloudWatch EMF documents in a captured Lambda log
//! (`cargo lambda watch` output), validates each (`shared::emf::validate`), requires the
//! invocation's `request_id` and `xray_trace_id` on every one, and checks that each
//! `--expect service:Metric` was emitted. Prints a summary; fails on any problem.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Checks the file.
pub fn run(file: &Path, expect: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(file)?;
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut docs = 0;
    for (n, line) in text.lines().enumerate() {
        // Lambda (and cargo lambda) may prefix a line; the document is what follows.
        let Some(start) = line.find("{\"_aws\"") else {
            continue;
        };
        let doc = &line[start..];
        let d = shared::emf::validate(doc).map_err(|e| format!("line {}: {e}", n + 1))?;
        let v: serde_json::Value = serde_json::from_str(doc)?;
        if !v["request_id"].is_string() || v.get("xray_trace_id").is_none() {
            return Err(format!("line {}: no request_id / xray_trace_id", n + 1).into());
        }
        if d.namespace != shared::telemetry::NAMESPACE {
            return Err(format!("line {}: namespace {}", n + 1, d.namespace).into());
        }
        let service = v["Service"].as_str().unwrap_or("-").to_string();
        for set in &d.dimension_sets {
            if set.first().map(String::as_str) != Some("Service")
                || set
                    .iter()
                    .skip(1)
                    .any(|k| k != shared::telemetry::GATEWAY_LABEL)
            {
                return Err(format!("line {}: dimensions {set:?}", n + 1).into());
            }
        }
        for (name, _) in d.metrics {
            seen.entry(service.clone()).or_default().insert(name);
        }
        docs += 1;
    }
    for e in expect {
        let (svc, metric) = e.split_once(':').ok_or("--expect takes service:Metric")?;
        if !seen.get(svc).is_some_and(|m| m.contains(metric)) {
            return Err(format!("no {metric} from {svc}; saw {seen:?}").into());
        }
    }
    println!("emf-check: {docs} valid documents; {seen:?}");
    if docs == 0 {
        return Err("no EMF document found".into());
    }
    Ok(())
}
