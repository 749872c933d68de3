//! API Gateway (HTTP API, payload v2) ↔ [`ApiRequest`]/[`ApiResponse`], shared by the proxy and
//! webhook-receiver Lambdas. `lambda_http` has already decoded base64 bodies.

use super::{ApiRequest, ApiResponse};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

/// Converts an API Gateway request; the Lambda deadline, the caller's IP and the issuer of a
/// client certificate verified over mutual TLS come along.
pub fn to_api_request(req: Request) -> ApiRequest {
    let deadline = req
        .lambda_context_ref()
        .and_then(|c| i64::try_from(c.deadline).ok())
        .and_then(chrono::DateTime::from_timestamp_millis);
    let (source_ip, client_cert_issuer) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok()),
            // API Gateway forwards a request over a mutual-TLS domain only once the client's
            // certificate chained to the domain's trust store; it reports the certificate here.
            ctx.authentication
                .as_ref()
                .and_then(|a| a.client_cert.as_ref())
                .and_then(|c| c.issuer_dn.as_deref())
                .map(str::trim)
                .filter(|dn| !dn.is_empty())
                .map(str::to_string),
        ),
        _ => (None, None),
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
        client_cert_issuer,
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
