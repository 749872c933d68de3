//! Webhook receiver Lambda: `POST /webhooks/{gateway}/{tenant_id}` → verify → SQS → 200.
//! API Gateway's base64 bodies are decoded by `lambda_http` before verification.

use lambda_http::request::RequestContext;
use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};
use shared::api::{handle_webhook, ApiRequest};
use shared::service::webhooks::WebhookReceiver;

async fn serve(rx: &WebhookReceiver, req: Request) -> Result<Response<Body>, Error> {
    let source_ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok())
        }
        _ => None,
    };
    let path = req.raw_http_path().to_string();
    let query = req.uri().query().map(str::to_string);
    let (parts, body) = req.into_parts();
    let api = ApiRequest {
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        body: body.to_vec().into(),
        deadline: None,
        source_ip,
    };
    let out = handle_webhook(rx, api).await;
    let mut resp = Response::builder().status(out.status);
    for (k, v) in out.headers {
        resp = resp.header(k, v);
    }
    Ok(resp.body(Body::Text(out.body))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_json_logs();
    let rx = shared::bootstrap::lambda_receiver().await?;
    run(service_fn(|req| serve(&rx, req))).await
}
