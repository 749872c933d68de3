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

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample EFI webhook event, with `authentication` as API Gateway adds it on a
    /// mutual-TLS domain (or without it).
    fn event(authentication: Option<serde_json::Value>) -> Request {
        let text = include_str!("../../../events/webhook-efi.json");
        let mut v: serde_json::Value = serde_json::from_str(text).expect("sample event");
        if let Some(a) = authentication {
            v["requestContext"]["authentication"] = a;
        }
        lambda_http::request::from_str(&v.to_string()).expect("api gateway v2 request")
    }

    #[test]
    fn the_verified_client_certificate_issuer_comes_along() {
        let req = to_api_request(event(Some(serde_json::json!({"clientCert": {
            "clientCertPem": "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----",
            "subjectDN": "CN=webhook.efipay.com.br,O=Efi S.A.,C=BR",
            "issuerDN": " CN=EFI Webhooks CA,O=Efi S.A.,C=BR ",
            "serialNumber": "a1:b2",
            "validity": {"notBefore": "Jan 1 00:00:00 2026 GMT", "notAfter": "Jan 1 00:00:00 2027 GMT"}
        }}))));
        assert_eq!(
            req.client_cert_issuer.as_deref(),
            Some("CN=EFI Webhooks CA,O=Efi S.A.,C=BR")
        );
        assert_eq!(req.source_ip, "34.193.116.226".parse().ok());
        for auth in [
            None,
            Some(serde_json::json!({})),
            Some(serde_json::json!({"clientCert": {"issuerDN": "  ", "validity": {}}})),
        ] {
            assert_eq!(
                to_api_request(event(auth.clone())).client_cert_issuer,
                None,
                "{auth:?}"
            );
        }
    }
}
