//! Proxy Lambda: API Gateway HTTP API → the shared API service. Clients are built once per
//! instance (in `main`) and reused across invocations.

use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};
use shared::api::{handle, ApiRequest};
use shared::service::Orchestrator;

async fn serve(svc: &Orchestrator, req: Request) -> Result<Response<Body>, Error> {
    let deadline = req
        .lambda_context_ref()
        .and_then(|c| i64::try_from(c.deadline).ok())
        .and_then(chrono::DateTime::from_timestamp_millis);
    let path = req.raw_http_path().to_string();
    let query = req.uri().query().map(str::to_string);
    let (parts, body) = req.into_parts();
    let api = ApiRequest {
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        body: body.to_vec().into(),
        deadline,
        source_ip: None,
    };
    let out = handle(svc, api).await;
    let mut resp = Response::builder().status(out.status);
    for (k, v) in out.headers {
        resp = resp.header(k, v);
    }
    Ok(resp.body(Body::Text(out.body))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_json_logs();
    let svc = shared::bootstrap::lambda_orchestrator().await;
    run(service_fn(|req| serve(&svc, req))).await
}
