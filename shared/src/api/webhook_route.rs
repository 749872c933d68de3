//! The receiver's one route: `POST /webhooks/{gateway}/{tenant_id}`.

use super::{error_response, ApiRequest, ApiResponse};
use crate::error::ApiError;
use crate::service::webhooks::{RequestOrigin, WebhookReceiver};
use http::Method;

/// True for paths the webhook receiver serves.
pub fn is_webhook_path(path: &str) -> bool {
    path.starts_with("/webhooks/")
}

/// Serves one gateway webhook: 200 only after the queue accepted it; 401 bad authentication;
/// 404 unknown gateway or tenant; 413 over 256 KiB; 503 when the queue refused.
pub async fn handle_webhook(rx: &WebhookReceiver, req: ApiRequest) -> ApiResponse {
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').skip(1).collect();
    let result = match (segments.as_slice(), &req.method) {
        (["webhooks", gateway, tenant], &Method::POST) => {
            rx.receive(
                gateway,
                tenant,
                &req.headers,
                req.query.as_deref(),
                &req.body,
                RequestOrigin {
                    source_ip: req.source_ip,
                    client_cert_issuer: req.client_cert_issuer.as_deref(),
                },
            )
            .await
        }
        (["webhooks", _, _], _) => Err(ApiError::MethodNotAllowed { allow: "POST" }),
        _ => Err(ApiError::NotFound("no such route".into())),
    };
    let resp = match result {
        Ok(()) => ApiResponse::json(200, r#"{"received":true}"#.into()),
        Err(e) => error_response(&e),
    };
    tracing::info!(path = %req.path, status = resp.status, "webhook");
    resp
}
