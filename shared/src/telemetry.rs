//! Logs, metrics and trace correlation.
//!
//! - **Logs**: JSON lines to stdout (CloudWatch in AWS, the terminal locally), level from
//!   `RUST_LOG` (default `info`). Each line carries the fields of the spans it is in: on Lambda the
//!   runtime's invocation span (`requestId`, `xrayTraceId`), in the worker the queue message's
//!   span (`message_id`, `xray_trace_id` of the request that caused it).
//! - **Metrics** go through the `metrics` facade; the binary picks the recorder: CloudWatch EMF
//!   (one flush per invocation) in the Lambdas, Prometheus text on the dev server's `/metrics`,
//!   none in tests. Names and labels are fixed here, and no label is ever a tenant or payment id
//!   (those are log fields), so the metric count stays bounded.
//! - **Traces**: Lambda's X-Ray segment (`Tracing: Active`) per invocation; the trace header is
//!   handed on through SQS (`AWSTraceHeader`) and through the outbox item to the relay, so the
//!   worker's lines for a callback carry the trace of the request that produced it.

use crate::ports::ErrorClass;

/// The namespace of every metric.
pub const NAMESPACE: &str = "PaymentOrchestrator";
/// A gateway create call produced a charge (label `Gateway`).
pub const PAYMENT_PROCESSED: &str = "PaymentProcessed";
/// A gateway create call produced no charge: declined, invalid, unavailable, timed out (label
/// `Gateway`).
pub const PAYMENT_FAILED: &str = "PaymentFailed";
/// A verified gateway webhook was queued (label `Gateway`).
pub const WEBHOOK_RECEIVED: &str = "WebhookReceived";
/// A merchant callback was answered 2xx.
pub const WEBHOOK_DELIVERED: &str = "WebhookDelivered";
/// Milliseconds of one gateway HTTP call (label `Gateway`).
pub const GATEWAY_LATENCY: &str = "GatewayLatency";
/// A circuit breaker opened (label `Gateway`).
pub const CIRCUIT_BREAKER_TRIGGERED: &str = "CircuitBreakerTriggered";
/// The first invocation of a Lambda instance.
pub const COLD_START: &str = "ColdStart";
/// A payment was charged on another gateway than the first one tried.
pub const FAILOVER_COUNT: &str = "FailoverCount";
/// A request answered from its idempotency record.
pub const IDEMPOTENT_REPLAY: &str = "IdempotentReplay";
/// Milliseconds of one merchant callback POST.
pub const CALLBACK_LATENCY: &str = "CallbackLatency";
/// Charges the sweeper found that no request had recorded (each now a payment). Any at all means
/// a holder died after charging and its merchant never retried: worth a look (alarm).
pub const SWEEPER_RECORDED: &str = "SweeperRecorded";
/// Stale claims the sweeper had to leave for a later pass (a gateway or a store could not say).
pub const SWEEPER_LEFT: &str = "SweeperLeft";
/// A gateway confirmed money for a payment already `failed`, `canceled` or `expired` (recorded
/// as its `late_payment`): someone must refund or accept it. Alarmed on any occurrence.
pub const LATE_PAYMENT_RECEIVED: &str = "LatePaymentReceived";
/// Findings of reconciliation runs that need a look (repairs of missed webhooks, adopted
/// orphans, mismatches); one series for the alarm, the run's log line names the gateway.
pub const RECONCILIATION_FINDINGS: &str = "ReconciliationFindings";
/// A reconciliation run that could not list its gateway.
pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
/// An unsigned gateway webhook (EFI, Asaas) reported money the gateway did not confirm: refused
/// (one series for the alarm; the log line names the gateway). A forged or premature webhook;
/// alarmed on any.
pub const WEBHOOK_UNCONFIRMED: &str = "WebhookUnconfirmed";
/// Merchant events the relay audit found still `pending` with no delivery attempt after the
/// stream's retention and handed to the delivery queue itself: the stream relay lost them (an
/// outage of SQS, KMS or IAM longer than the stream keeps records). Alarmed on any.
pub const RELAY_AUDIT_REQUEUED: &str = "RelayAuditRequeued";
/// A merchant callback endpoint failed for days and was disabled (`tenant.endpoint_disabled`:
/// the operator's alarm; the tenant sees it in the console and enables it again).
pub const ENDPOINT_DISABLED: &str = "EndpointDisabled";
/// The worker moved a message to a dead-letter queue: poison on its first attempt, a crash loop,
/// or its attempts spent. Alarmed with the DLQs' depth.
pub const QUEUE_DEAD_LETTERED: &str = "QueueDeadLettered";
/// The label naming the gateway (an EMF dimension).
pub const GATEWAY_LABEL: &str = "Gateway";

/// Every metric, with its unit (as EMF names it), for recorders, dashboards and tests.
pub const METRICS: [(&str, &str); 19] = [
    (PAYMENT_PROCESSED, "Count"),
    (PAYMENT_FAILED, "Count"),
    (WEBHOOK_RECEIVED, "Count"),
    (WEBHOOK_DELIVERED, "Count"),
    (GATEWAY_LATENCY, "Milliseconds"),
    (CIRCUIT_BREAKER_TRIGGERED, "Count"),
    (COLD_START, "Count"),
    (FAILOVER_COUNT, "Count"),
    (IDEMPOTENT_REPLAY, "Count"),
    (CALLBACK_LATENCY, "Milliseconds"),
    (SWEEPER_RECORDED, "Count"),
    (SWEEPER_LEFT, "Count"),
    (LATE_PAYMENT_RECEIVED, "Count"),
    (RECONCILIATION_FINDINGS, "Count"),
    (RECONCILIATION_FAILED, "Count"),
    (WEBHOOK_UNCONFIRMED, "Count"),
    (RELAY_AUDIT_REQUEUED, "Count"),
    (ENDPOINT_DISABLED, "Count"),
    (QUEUE_DEAD_LETTERED, "Count"),
];

/// Registers units and descriptions with the installed recorder (call once after installing).
pub fn describe_metrics() {
    for (name, unit) in METRICS {
        let unit = if unit == "Milliseconds" {
            metrics::Unit::Milliseconds
        } else {
            metrics::Unit::Count
        };
        if unit == metrics::Unit::Milliseconds {
            metrics::describe_histogram!(name, unit, name);
        } else {
            metrics::describe_counter!(name, unit, name);
        }
    }
}

/// Adds one to a counter, labelled with the gateway when there is one.
pub fn count(name: &'static str, gateway: Option<&str>) {
    match gateway {
        Some(g) => metrics::counter!(name, GATEWAY_LABEL => g.to_string()).increment(1),
        None => metrics::counter!(name).increment(1),
    }
}

/// One sweeper pass: charges it recorded and claims it left (only non-zero counts are sent).
pub fn sweep(recorded: usize, left: usize) {
    for (name, n) in [(SWEEPER_RECORDED, recorded), (SWEEPER_LEFT, left)] {
        if n > 0 {
            metrics::counter!(name).increment(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }
}

/// One reconciliation run: its findings (sent only when there are any) and whether it failed.
pub fn reconciliation(gateway: &str, findings: usize, failed: bool) {
    if findings > 0 {
        metrics::counter!(RECONCILIATION_FINDINGS)
            .increment(u64::try_from(findings).unwrap_or(u64::MAX));
    }
    if failed {
        tracing::warn!(gateway, "reconciliation run failed to list its gateway");
        metrics::counter!(RECONCILIATION_FAILED).increment(1);
    }
}

/// One relay audit: the events it handed to the delivery queue (sent only when there are any).
pub fn relay_audit(requeued: usize) {
    if requeued > 0 {
        metrics::counter!(RELAY_AUDIT_REQUEUED)
            .increment(u64::try_from(requeued).unwrap_or(u64::MAX));
    }
}

/// Records a duration in milliseconds.
pub fn latency(name: &'static str, gateway: Option<&str>, ms: f64) {
    match gateway {
        Some(g) => metrics::histogram!(name, GATEWAY_LABEL => g.to_string()).record(ms),
        None => metrics::histogram!(name).record(ms),
    }
}

/// One gateway HTTP call ended: its latency metric and its log line (the call's span in the
/// JSON logs, with the trace ids of the span it runs in).
pub fn gateway_call(gateway: &str, op: &'static str, failure: Option<ErrorClass>, ms: f64) {
    latency(GATEWAY_LATENCY, Some(gateway), ms);
    let outcome = match failure {
        None => "ok",
        Some(ErrorClass::Declined) => "declined",
        Some(ErrorClass::Invalid) => "invalid",
        Some(ErrorClass::Unavailable) => "unavailable",
        Some(ErrorClass::Ambiguous) => "ambiguous",
        Some(ErrorClass::Misconfigured) => "misconfigured",
    };
    tracing::info!(
        gateway,
        op,
        outcome,
        duration_ms = ms.round() as u64,
        "gateway_call"
    );
}

/// The X-Ray trace header of the running invocation (`Root=…;Parent=…;Sampled=…`), which the
/// Lambda runtime sets before each one; `None` outside Lambda or when tracing is off.
pub fn trace_header() -> Option<String> {
    std::env::var("_X_AMZN_TRACE_ID")
        .ok()
        .filter(|v| valid_trace_header(v))
}

/// Whether a value looks like an X-Ray trace header (it is copied into queue messages and log
/// lines, so nothing else is let through).
pub fn valid_trace_header(v: &str) -> bool {
    v.len() <= 256
        && v.starts_with("Root=1-")
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b';' | b'-' | b':'))
}

/// The JSON log format, writing to `writer` (stdout in the binaries, a buffer in tests).
pub fn json_logs_to<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber on stdout once; later calls are no-ops.
pub fn init_json_logs() {
    let _ = tracing::subscriber::set_global_default(json_logs_to(std::io::stdout));
}
