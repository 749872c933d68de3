//! API Gateway (HTTP API, payload v2) ↔ [`ApiRequest`]/[`ApiResponse`], shared by the proxy and
//! webhook-receiver Lambdas. `lambda_http` has already decoded base64 bodies.

use super::{ApiRequest, ApiResponse};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

/// Converts an API Gateway request; the Lambda deadline and the caller's IP come along.
pub fn to_api_request(req: Request) -> ApiRequest {
    let deadline = req
        .lambda_context_ref()
        .and_then(|c| i64::try_from(c.deadline).ok())
        .and_then(chrono::DateTime::from_timestamp_millis);
    let source_ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok())
        }
        _ => None,
    };
    let path = req.raw_http_path().to_string();
    let query = req.uri().query().map(str::to_string);
    let (parts, body) = req.into_parts();
    ApiRequest {
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        body: body.to_vec().into(),
        deadline,
        source_ip,
    }
}

/// Renders an API response for API Gateway.
pub fn to_lambda_response(out: ApiResponse) -> Result<Response<Body>, lambda_http::http::Error> {
    let mut resp = Response::builder().status(out.status);
    for (k, v) in out.headers {
        resp = resp.header(k, v);
    }
    resp.body(Body::Text(out.body))
}
