//! Proxy Lambda: API Gateway HTTP API → the shared API service. Clients are built once per
//! instance (in `main`) and reused across invocations; metrics are flushed as one EMF batch
//! after each invocation.

use lambda_http::{Body, Error, Request, Response};
use metrics_cloudwatch_embedded::lambda::handler::run_http;
use shared::api::handle;
use shared::api::lambda_glue::{to_api_request, to_lambda_response};
use shared::service::Orchestrator;

async fn serve(svc: &Orchestrator, req: Request) -> Result<Response<Body>, Error> {
    Ok(to_lambda_response(handle(svc, to_api_request(req)).await)?)
}

// One thread: a Lambda instance serves one invocation at a time, and a multi-thread runtime
// spent most of a warm invocation's CPU waking and parking its workers (docs/BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_json_logs();
    let metrics = shared::emf::lambda_recorder("proxy")?;
    let svc = shared::bootstrap::lambda_orchestrator().await?;
    run_http(metrics, |req| serve(&svc, req)).await
}
