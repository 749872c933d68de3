//! The only place an [`ApiError`] becomes an HTTP status and an error body.

use super::ApiResponse;
use crate::error::ApiError;

/// Status, error `type` and `code` for each error.
fn classify(e: &ApiError) -> (u16, &'static str, String) {
    match e {
        ApiError::Invalid { code, .. } => (400, "invalid_request", (*code).to_string()),
        ApiError::PayloadTooLarge => (413, "invalid_request", "body_too_large".into()),
        ApiError::Unauthenticated(_) => (401, "authentication", "unauthenticated".into()),
        ApiError::IdempotencyKeyInvalid(_) => {
            (400, "idempotency", "idempotency_key_invalid".into())
        }
        ApiError::IdempotencyKeyInUse => (409, "idempotency", "idempotency_key_in_use".into()),
        ApiError::IdempotencyKeyReused => (422, "idempotency", "idempotency_key_reused".into()),
        ApiError::NotFound(_) => (404, "not_found", "resource_missing".into()),
        ApiError::AlreadyExists(_) => (409, "invalid_request", "resource_exists".into()),
        ApiError::InvalidState(_) => (422, "invalid_request", "invalid_state".into()),
        ApiError::NoCallbackUrl(_) => (422, "invalid_request", "no_callback_url".into()),
        ApiError::Unprocessable { code, .. } => (422, "invalid_request", (*code).to_string()),
        ApiError::MethodNotAllowed { .. } => (405, "invalid_request", "method_not_allowed".into()),
        ApiError::GatewayNotConfigured { .. } => {
            (422, "invalid_request", "gateway_not_configured".into())
        }
        ApiError::GatewayCredentialsChanged(_) => {
            (409, "gateway", "gateway_credentials_changed".into())
        }
        ApiError::Gateway { code, .. } => (502, "gateway", (*code).to_string()),
        ApiError::RateLimited { .. } => (429, "rate_limited", "rate_limited".into()),
        ApiError::Unavailable(_) => (503, "internal", "dependency_unavailable".into()),
        ApiError::Internal(_) => (500, "internal", "internal_error".into()),
    }
}

/// The IETF `RateLimit-Policy` field (draft-ietf-httpapi-ratelimit-headers): quota `q` per
/// window `w` seconds.
pub fn rate_limit_policy(limit: u32, window_secs: u32) -> String {
    format!("\"default\";q={limit};w={window_secs}")
}

/// Renders `{"error": {"type", "code", "message", "param"?}}`. Internal details (store errors)
/// go to the log, never to the client.
pub fn error_response(e: &ApiError) -> ApiResponse {
    let (status, kind, code) = classify(e);
    match e {
        ApiError::Unavailable(detail) | ApiError::Internal(detail) => {
            tracing::error!(status, code = %code, detail = %detail, "request failed");
        }
        _ => {}
    }
    let mut err = serde_json::json!({"type": kind, "code": code, "message": e.to_string()});
    if let ApiError::Invalid { param: Some(p), .. } = e {
        err["param"] = serde_json::Value::String(p.clone());
    }
    if let ApiError::GatewayNotConfigured { param, .. } | ApiError::Unprocessable { param, .. } = e
    {
        err["param"] = serde_json::Value::String((*param).to_string());
    }
    let mut resp = ApiResponse::json(status, serde_json::json!({ "error": err }).to_string());
    if let ApiError::MethodNotAllowed { allow } = e {
        resp.headers.push(("allow", (*allow).to_string()));
    }
    if matches!(e, ApiError::IdempotencyKeyInUse | ApiError::Unavailable(_)) {
        resp.headers.push(("retry-after", "1".into()));
    }
    if let ApiError::RateLimited {
        limit,
        window_secs,
        retry_after,
    } = e
    {
        resp.headers.push(("retry-after", retry_after.to_string()));
        resp.headers
            .push(("ratelimit-policy", rate_limit_policy(*limit, *window_secs)));
        resp.headers
            .push(("ratelimit", format!("\"default\";r=0;t={retry_after}")));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{all_error_codes, ERROR_TYPES};

    /// One of each variant: its `type` and `code` are in the tables docs/openapi.yaml is
    /// checked against (`tests/tests/error_codes.rs`).
    #[test]
    fn every_variant_renders_a_listed_type_and_code() {
        let all = [
            ApiError::invalid("parameter_missing", "amount", "amount is required"),
            ApiError::PayloadTooLarge,
            ApiError::Unauthenticated("no key"),
            ApiError::IdempotencyKeyInvalid("bad".into()),
            ApiError::IdempotencyKeyInUse,
            ApiError::IdempotencyKeyReused,
            ApiError::Unprocessable {
                code: "no_gateway_for_method",
                param: "method",
                message: "none".into(),
            },
            ApiError::InvalidState("no".into()),
            ApiError::AlreadyExists("x".into()),
            ApiError::NotFound("x".into()),
            ApiError::MethodNotAllowed { allow: "GET" },
            ApiError::GatewayNotConfigured {
                message: "x".into(),
                param: "gateway",
            },
            ApiError::GatewayCredentialsChanged("x".into()),
            ApiError::Gateway {
                code: "gateway_unavailable",
                message: "x".into(),
            },
            ApiError::RateLimited {
                limit: 1,
                window_secs: 60,
                retry_after: 1,
            },
            ApiError::Unavailable("x".into()),
            ApiError::Internal("x".into()),
        ];
        let codes = all_error_codes();
        for e in &all {
            let (_, kind, code) = classify(e);
            assert!(ERROR_TYPES.contains(&kind), "{e:?}: {kind}");
            assert!(codes.contains(&code.as_str()), "{e:?}: {code}");
        }
    }

    #[test]
    fn a_405_names_the_allowed_methods() {
        let r = error_response(&ApiError::MethodNotAllowed { allow: "GET, POST" });
        assert_eq!(r.status, 405);
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| *k == "allow" && v == "GET, POST"));
    }

    #[test]
    fn a_422_refusal_names_its_field() {
        let r = error_response(&ApiError::Unprocessable {
            code: "amount_exceeds_refundable",
            param: "amount",
            message: "amount must be at most 5".into(),
        });
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(r.status, 422);
        assert_eq!(v["error"]["param"], "amount");
        assert_eq!(v["error"]["code"], "amount_exceeds_refundable");
    }
}
