//! Correlation across the Lambdas, end to end over moto (DynamoDB, its stream, SQS): a create's
//! `Request-Id` is in the proxy's log line for it, with the invocation's X-Ray trace id; the
//! event it wrote carries that trace to the relay, which sends it as the delivery message's
//! `AWSTraceHeader`; the worker's log line for the callback carries the same trace id, although
//! the worker runs with no trace of its own.

use integration_tests::pipeline::Pipeline;
use integration_tests::pix_body;
use integration_tests::KEY_A;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TRACE: &str = "Root=1-6740a000-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";

/// Log lines written by the code under test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// The trace id a line carries: its own field or the queue message span's.
fn trace_of(line: &serde_json::Value) -> Option<String> {
    if let Some(t) = line["fields"]["xray_trace_id"].as_str() {
        return Some(t.to_string());
    }
    line["spans"]
        .as_array()?
        .iter()
        .find_map(|s| s["xray_trace_id"].as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_id_and_its_trace_reach_the_worker_line_for_the_callback() {
    let logs = Captured::default();
    let sink = logs.clone();
    tracing::subscriber::set_global_default(shared::telemetry::json_logs_to(move || sink.clone()))
        .expect("subscriber");

    let p = Pipeline::start(Duration::from_secs(0)).await;
    // The proxy's invocation: the Lambda runtime sets the trace for its duration.
    std::env::set_var("_X_AMZN_TRACE_ID", TRACE);
    let r = p.h.create(KEY_A, "traced-1", &pix_body(4321)).await;
    std::env::remove_var("_X_AMZN_TRACE_ID");
    assert_eq!(r.status, 201, "{}", r.body);
    let request_id = r
        .headers
        .iter()
        .find(|(k, _)| *k == "request-id")
        .map(|(_, v)| v.clone())
        .expect("Request-Id header");
    let payment_id = integration_tests::json(&r)["id"]
        .as_str()
        .expect("id")
        .to_string();

    // The relay and the worker run without a trace of their own.
    p.drain().await;
    assert!(
        p.types_for(&payment_id)
            .contains(&"payment.pending".to_string()),
        "the callback was delivered"
    );

    let lines = logs.lines();
    let request_line = lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == "request" && l["fields"]["request_id"] == request_id.as_str()
        })
        .unwrap_or_else(|| panic!("no proxy line names {request_id}"));
    assert_eq!(
        trace_of(request_line).as_deref(),
        Some(TRACE),
        "{request_line}"
    );
    let callback_line = lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == "callback" && l["fields"]["payment_id"] == payment_id.as_str()
        })
        .unwrap_or_else(|| panic!("no worker callback line for {payment_id}"));
    assert_eq!(
        trace_of(callback_line).as_deref(),
        Some(TRACE),
        "the worker's callback line carries the create's trace: {callback_line}"
    );
    // The gateway call of the create was logged as its own line, inside nothing secret.
    assert!(lines
        .iter()
        .any(|l| l["fields"]["message"] == "gateway_call" && l["fields"]["op"] == "create"));
}
