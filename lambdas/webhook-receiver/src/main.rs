//! Webhook receiver Lambda: `POST /webhooks/{gateway}/{tenant_id}` → verify → SQS → 200.
//! API Gateway's base64 bodies are decoded by `lambda_http` before verification.

use lambda_http::{Body, Error, Request, Response};
use metrics_cloudwatch_embedded::lambda::handler::run_http;
use shared::api::handle_webhook;
use shared::api::lambda_glue::{to_api_request, to_lambda_response};
use shared::service::webhooks::WebhookReceiver;

async fn serve(rx: &WebhookReceiver, req: Request) -> Result<Response<Body>, Error> {
    Ok(to_lambda_response(
        handle_webhook(rx, to_api_request(req)).await,
    )?)
}

// One thread: a Lambda instance serves one invocation at a time, and a multi-thread runtime
// spent most of a warm invocation's CPU waking and parking its workers (docs/BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_json_logs();
    let metrics = shared::emf::lambda_recorder("webhook-receiver")?;
    let rx = shared::bootstrap::lambda_receiver().await?;
    run_http(metrics, |req| serve(&rx, req)).await
}
