//! Routes a request to its use case and renders the result.

use super::{error_response, ApiRequest, ApiResponse, MAX_BODY_BYTES};
use crate::error::ApiError;
use crate::service::Orchestrator;
use http::Method;
use std::time::Instant;

/// Serves one request. Never panics on input; every failure is an error body.
pub async fn handle(svc: &Orchestrator, req: ApiRequest) -> ApiResponse {
    // The web console's static assets, before any API routing (no key needed to load the page).
    if super::console::is_console_path(&req.path) {
        return super::console::serve(&req);
    }
    let started = Instant::now();
    // Every answer names its request (header, and `error.request_id` in error bodies), and the
    // log line carries the same id, so a merchant's support ticket finds the request.
    let request_id = format!("req_{}", ulid::Ulid::new());
    let mut tenant_id = None;
    let mut resp = match route(svc, &req, &mut tenant_id).await {
        Ok(r) => r,
        Err(e) => with_request_id(error_response(&e), &request_id),
    };
    resp.headers.push(("request-id", request_id.clone()));
    // The X-Ray trace of this invocation (lambda_http copies it into this header), so the
    // request's line and the worker's lines for what it caused share one trace id.
    let trace = header(&req, "x-amzn-trace-id")
        .map(str::to_string)
        .or_else(crate::telemetry::trace_header)
        .filter(|t| crate::telemetry::valid_trace_header(t))
        .unwrap_or_else(|| "-".into());
    // One JSON line per request; no headers, no body, no key material.
    tracing::info!(
        request_id = %request_id,
        method = %req.method,
        path = %req.path,
        status = resp.status,
        tenant = tenant_id.as_deref().unwrap_or("-"),
        xray_trace_id = %trace,
        duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    resp
}

/// A POST's answer: its stored or fresh reply, marked (and counted) when it is a replay.
fn reply_response(reply: crate::service::Reply) -> ApiResponse {
    let mut resp = ApiResponse::json(reply.status, reply.body);
    if reply.replayed {
        crate::telemetry::count(crate::telemetry::IDEMPOTENT_REPLAY, None);
        resp.headers.push(("idempotent-replayed", "true".into()));
    }
    resp
}

/// Adds `request_id` to an error body `{"error": {...}}`.
fn with_request_id(mut resp: ApiResponse, request_id: &str) -> ApiResponse {
    if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&resp.body) {
        if let Some(err) = v.get_mut("error").and_then(|e| e.as_object_mut()) {
            err.insert("request_id".into(), request_id.into());
            resp.body = v.to_string();
        }
    }
    resp
}

fn header<'a>(req: &'a ApiRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Every route: its path (`*` one segment of any value) and the methods it takes, in the
/// form of the `Allow` header a 405 carries. One table decides 404 versus 405, so a route
/// added to the dispatch below must get its row here (and in docs/openapi.yaml), e.g.
/// `(&["v1", "settings"], "GET, PATCH")`.
pub const ROUTES: &[(&[&str], &str)] = &[
    (&["health"], "GET, HEAD"),
    (&["v1", "payments"], "GET, POST"),
    (&["v1", "payments", "*"], "GET"),
    (&["v1", "payments", "*", "refunds"], "POST"),
    (&["v1", "payments", "*", "cancel"], "POST"),
    (&["v1", "routing"], "PUT"),
    (&["v1", "gateways"], "GET"),
    (&["v1", "gateways", "*", "credentials"], "GET, PUT, DELETE"),
    (&["v1", "gateways", "*", "credentials", "verify"], "POST"),
    (&["v1", "events"], "GET"),
    (&["v1", "events", "*"], "GET"),
    (&["v1", "events", "*", "resend"], "POST"),
    (&["v1", "webhooks", "unmatched"], "GET"),
    (&["v1", "usage"], "GET"),
    (&["v1", "api_keys"], "GET, POST"),
    (&["v1", "api_keys", "*"], "DELETE"),
    (&["v1", "webhook_secrets"], "GET"),
    (&["v1", "webhook_secrets", "rotate"], "POST"),
    (&["v1", "webhook_endpoint"], "GET"),
    (&["v1", "webhook_endpoint", "enable"], "POST"),
    (&["v1", "webhook_endpoint", "test"], "POST"),
    (&["v1", "settings"], "GET, PATCH"),
    (&["v1", "audit"], "GET"),
    (&["v1", "reconciliation", "runs"], "GET, POST"),
    (&["v1", "reconciliation", "runs", "*"], "GET"),
    (&["v1", "admin", "tenants"], "GET, POST"),
    (&["v1", "admin", "tenants", "*"], "PATCH"),
];

/// The methods of the route `segments` names, or `None` when no route matches (404). The
/// fixed rows come before the `*` ones in the table only by habit: a fixed segment never
/// equals `*`'s row of the same length with a different fixed part, so order does not matter.
fn allowed_methods(segments: &[&str]) -> Option<&'static str> {
    ROUTES
        .iter()
        .find(|(pattern, _)| {
            pattern.len() == segments.len()
                && pattern
                    .iter()
                    .zip(segments)
                    .all(|(p, s)| *p == "*" || p == s)
        })
        .map(|(_, allow)| *allow)
}

async fn route(
    svc: &Orchestrator,
    req: &ApiRequest,
    tenant_id: &mut Option<String>,
) -> Result<ApiResponse, ApiError> {
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').skip(1).collect();
    let Some(allow) = allowed_methods(&segments) else {
        return Err(ApiError::NotFound("no such route".into()));
    };
    // Before authentication: which methods a path takes is no secret (the contract says it).
    if !allow.split(", ").any(|m| m == req.method.as_str()) {
        return Err(ApiError::MethodNotAllowed { allow });
    }
    if segments == ["health"] {
        return Ok(ApiResponse::json(200, r#"{"status":"ok"}"#.into()));
    }
    if req.body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    // The operator API: an operator key only (never a tenant key).
    if let ["v1", "admin", "tenants", rest @ ..] = segments.as_slice() {
        let auth = header(req, "authorization");
        let r = match (rest, &req.method) {
            ([], &Method::POST) => {
                ApiResponse::json(201, svc.admin_create_tenant(auth, &req.body).await?)
            }
            ([], &Method::GET) => ApiResponse::json(200, svc.admin_list_tenants(auth).await?),
            ([id], &Method::PATCH) => {
                ApiResponse::json(200, svc.admin_patch_tenant(auth, id, &req.body).await?)
            }
            _ => {
                return Err(ApiError::Internal(
                    "route table and admin dispatch disagree".into(),
                ))
            }
        };
        *tenant_id = Some("operator".into());
        return Ok(r);
    }
    let who = svc.authenticate_key(header(req, "authorization")).await?;
    let tenant = who.tenant.clone();
    *tenant_id = Some(tenant.id.to_string());
    let mut resp = route_tenant(svc, req, &segments, &who).await?;
    if req.method == Method::POST {
        if let Some(p) = svc.rate_limit_policy(&tenant) {
            resp.headers.push(("ratelimit-policy", p));
        }
    }
    Ok(resp)
}

/// The tenant's routes, once its key is known.
async fn route_tenant(
    svc: &Orchestrator,
    req: &ApiRequest,
    segments: &[&str],
    who: &crate::service::Principal,
) -> Result<ApiResponse, ApiError> {
    let tenant = &who.tenant;
    match (segments, &req.method) {
        (["v1", "api_keys"], &Method::POST) => Ok(ApiResponse::json(
            201,
            svc.create_api_key(who, &req.body).await?,
        )),
        (["v1", "api_keys"], &Method::GET) => {
            Ok(ApiResponse::json(200, svc.list_api_keys(who).await?))
        }
        (["v1", "api_keys", id], &Method::DELETE) => {
            Ok(ApiResponse::json(200, svc.revoke_api_key(who, id).await?))
        }
        (["v1", "webhook_secrets"], &Method::GET) => {
            Ok(ApiResponse::json(200, svc.list_webhook_secrets(who).await?))
        }
        (["v1", "webhook_endpoint"], &Method::GET) => Ok(ApiResponse::json(
            200,
            svc.get_webhook_endpoint(who, req.query.as_deref()).await?,
        )),
        (["v1", "webhook_endpoint", "enable"], &Method::POST) => Ok(ApiResponse::json(
            200,
            svc.enable_webhook_endpoint(who, req.query.as_deref())
                .await?,
        )),
        (["v1", "settings"], &Method::GET) => {
            Ok(ApiResponse::json(200, svc.get_settings(who).await?))
        }
        (["v1", "settings"], &Method::PATCH) => Ok(ApiResponse::json(
            200,
            svc.update_settings(who, &req.body).await?,
        )),
        (["v1", "webhook_endpoint", "test"], &Method::POST) => Ok(ApiResponse::json(
            200,
            svc.send_test_webhook(who, &req.body).await?,
        )),
        (["v1", "webhook_secrets", "rotate"], &Method::POST) => Ok(ApiResponse::json(
            200,
            svc.rotate_webhook_secret(who, &req.body).await?,
        )),
        (["v1", "audit"], &Method::GET) => Ok(ApiResponse::json(
            200,
            svc.list_audit(who, req.query.as_deref()).await?,
        )),
        (["v1", "reconciliation", "runs"], &Method::POST) => Ok(ApiResponse::json(
            201,
            svc.create_reconciliation_runs(who, &req.body, req.deadline)
                .await?,
        )),
        (["v1", "reconciliation", "runs"], &Method::GET) => Ok(ApiResponse::json(
            200,
            svc.list_reconciliation_runs(who, req.query.as_deref())
                .await?,
        )),
        (["v1", "reconciliation", "runs", id], &Method::GET) => Ok(ApiResponse::json(
            200,
            svc.get_reconciliation_run(who, id).await?,
        )),
        (["v1", "payments"], &Method::POST) => {
            let reply = svc
                .create_payment(
                    tenant,
                    header(req, "idempotency-key"),
                    &req.body,
                    req.deadline,
                )
                .await?;
            Ok(reply_response(reply))
        }
        (["v1", "payments"], &Method::GET) => Ok(ApiResponse::json(
            200,
            svc.list_payments(tenant, req.query.as_deref()).await?,
        )),
        (["v1", "gateways"], &Method::GET) => {
            Ok(ApiResponse::json(200, svc.gateways_view(tenant).await?))
        }
        (["v1", "gateways", gw, "credentials"], &Method::PUT) => {
            let before = svc.get_credentials(tenant, gw).await.ok();
            let body = svc.put_credentials(tenant, gw, &req.body).await?;
            // The audit keeps the masked views only.
            svc.audit_change(
                who,
                &format!("credentials.{gw}.put"),
                before.as_deref(),
                Some(&body),
            )
            .await;
            Ok(ApiResponse::json(200, body))
        }
        (["v1", "gateways", gw, "credentials"], &Method::GET) => Ok(ApiResponse::json(
            200,
            svc.get_credentials(tenant, gw).await?,
        )),
        (["v1", "gateways", gw, "credentials"], &Method::DELETE) => {
            let before = svc.get_credentials(tenant, gw).await.ok();
            let body = svc.delete_credentials(tenant, gw).await?;
            svc.audit_change(
                who,
                &format!("credentials.{gw}.delete"),
                before.as_deref(),
                None,
            )
            .await;
            Ok(ApiResponse::json(200, body))
        }
        (["v1", "gateways", gw, "credentials", "verify"], &Method::POST) => Ok(ApiResponse::json(
            200,
            svc.verify_credentials(tenant, gw).await?,
        )),
        (["v1", "routing"], &Method::PUT) => Ok(ApiResponse::json(
            200,
            svc.put_routing(who, &req.body).await?,
        )),
        (["v1", "payments", id, "refunds"], &Method::POST) => {
            let reply = svc
                .create_refund(
                    tenant,
                    id,
                    header(req, "idempotency-key"),
                    &req.body,
                    req.deadline,
                )
                .await?;
            Ok(reply_response(reply))
        }
        (["v1", "payments", id, "cancel"], &Method::POST) => {
            let reply = svc
                .cancel_payment(
                    tenant,
                    id,
                    header(req, "idempotency-key"),
                    &req.body,
                    req.deadline,
                )
                .await?;
            Ok(reply_response(reply))
        }
        (["v1", "events"], &Method::GET) => Ok(ApiResponse::json(
            200,
            svc.list_events(tenant, req.query.as_deref()).await?,
        )),
        (["v1", "events", id], &Method::GET) => {
            Ok(ApiResponse::json(200, svc.get_event(tenant, id).await?))
        }
        (["v1", "events", id, "resend"], &Method::POST) => {
            Ok(ApiResponse::json(202, svc.resend_event(tenant, id).await?))
        }
        (["v1", "webhooks", "unmatched"], &Method::GET) => Ok(ApiResponse::json(
            200,
            svc.list_unmatched(tenant, req.query.as_deref()).await?,
        )),
        (["v1", "usage"], &Method::GET) => Ok(ApiResponse::json(
            200,
            svc.usage(tenant, req.query.as_deref()).await?,
        )),
        (["v1", "payments", id], &Method::GET) => Ok(ApiResponse::json(
            200,
            svc.get_payment(tenant, id, req.query.as_deref(), req.deadline)
                .await?,
        )),
        // `allowed_methods` let the request through, so this is a row without a dispatch.
        _ => Err(ApiError::Internal(
            "route table and dispatch disagree".into(),
        )),
    }
}
