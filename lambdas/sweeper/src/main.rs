//! Sweeper Lambda, on an EventBridge schedule (`template.yaml`): one pass of
//! `Orchestrator::sweep_stale_claims` per invocation — the create claims whose holder died
//! after (maybe) charging and whose merchant never retried are settled from a look-up at the
//! intent gateway. Clients are built once per instance; the event's content is not used.

use lambda_runtime::{Error, LambdaEvent};
use metrics_cloudwatch_embedded::lambda::handler::run;
use serde_json::{json, Value};
use shared::service::Orchestrator;

async fn sweep(svc: &Orchestrator, _event: LambdaEvent<Value>) -> Result<Value, Error> {
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
