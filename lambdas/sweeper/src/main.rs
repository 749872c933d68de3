//! Sweeper Lambda, on an EventBridge schedule (`template.yaml`): one pass of
//! `Orchestrator::sweep_stale_claims` per invocation — the create claims whose holder died
//! after (maybe) charging and whose merchant never retried are settled from a look-up at the
//! intent gateway. A second schedule sends `{"task": "reconcile"}`: one reconciliation pass
//! (`Orchestrator::reconcile_all`) over every tenant's live gateways. A third sends
//! `{"task": "relay_audit"}`: the relay audit (`Orchestrator::relay_audit`) hands the merchant
//! events written 28 h to 25 h ago that are still pending with no attempt (the stream relay lost
//! them) to the delivery queue. Clients are built once per instance.

use lambda_runtime::{Error, LambdaEvent};
use metrics_cloudwatch_embedded::lambda::handler::run;
use serde_json::{json, Value};
use shared::service::Orchestrator;

/// A reconciliation pass stops starting runs this long after it began (the function's timeout
/// is 120 s; a run keeps its own margin to store its result).
const RECONCILE_BUDGET: std::time::Duration = std::time::Duration::from_secs(100);

async fn sweep(svc: &Orchestrator, event: LambdaEvent<Value>) -> Result<Value, Error> {
    if event.payload.get("task").and_then(Value::as_str) == Some("relay_audit") {
        let r = svc.relay_audit().await?;
        let out = json!({
            "tenants": r.tenants,
            "examined": r.examined,
            "requeued": r.requeued,
            "failed": r.failed,
        });
        // A tenant left unaudited fails the invocation: the schedule's asynchronous retries
        // run it again (over nearly the same window) and the function's Errors metric shows it.
        if r.failed > 0 {
            return Err(format!("relay audit incomplete: {out}").into());
        }
        return Ok(out);
    }
    if event.payload.get("task").and_then(Value::as_str) == Some("reconcile") {
        // Never past the invocation's own deadline (less a margin to answer).
        let now_ms = u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0),
        )
        .unwrap_or(u64::MAX);
        let left = std::time::Duration::from_millis(
            event
                .context
                .deadline
                .saturating_sub(now_ms)
                .saturating_sub(5_000),
        );
        let p = svc.reconcile_all(RECONCILE_BUDGET.min(left)).await?;
        return Ok(json!({"runs": p.runs, "findings": p.findings, "failed": p.failed}));
    }
    let r = svc.sweep_stale_claims().await?;
    Ok(json!({
        "found": r.found,
        "recorded": r.recorded,
        "released": r.released,
        "left": r.left,
        "skipped": r.skipped,
    }))
}

// One thread: an instance serves one invocation at a time (docs/BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_json_logs();
    let metrics = shared::emf::lambda_recorder("sweeper")?;
    let svc = shared::bootstrap::lambda_orchestrator().await?;
    run(metrics, |ev| sweep(&svc, ev)).await
}
