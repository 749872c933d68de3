//! `POST /webhooks/{gateway}/{tenant_id}`: authenticate on the raw bytes, enqueue, then 200.

use super::TenantCache;
use crate::clock::Clock;
use crate::domain::TenantId;
use crate::error::ApiError;
use crate::gateways::webhooks::{InboundWebhook, WebhookError, WebhookRegistry};
use crate::ports::{WebhookEnvelope, WebhookQueue};
use http::HeaderMap;
use std::net::IpAddr;
use std::sync::Arc;

/// The receiver's dependencies, built once per instance.
pub struct WebhookReceiver {
    pub(crate) registry: WebhookRegistry,
    pub(crate) tenants: TenantCache,
    pub(crate) queue: Arc<dyn WebhookQueue>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl WebhookReceiver {
    /// Wires the receiver.
    pub fn new(
        registry: WebhookRegistry,
        tenants: TenantCache,
        queue: Arc<dyn WebhookQueue>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            registry,
            tenants,
            queue,
            clock,
        }
    }

    /// Verifies and enqueues one webhook. Nothing is enqueued on any rejection; `Ok` only after
    /// the queue accepted the message, so the gateway retries whenever we could not keep it.
    pub async fn receive(
        &self,
        gateway: &str,
        tenant_id: &str,
        headers: &HeaderMap,
        query: Option<&str>,
        body: &[u8],
        source_ip: Option<IpAddr>,
    ) -> Result<(), ApiError> {
        if body.len() > crate::api::MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        let not_found = || ApiError::NotFound("no such webhook endpoint".into());
        let module = self.registry.get(gateway).ok_or_else(not_found)?;
        let tid = TenantId::parse(tenant_id).map_err(|_| not_found())?;
        let tenant = self
            .tenants
            .get(&tid)
            .await?
            .filter(|t| !t.disabled)
            .ok_or_else(not_found)?;
        let now = self.clock.now();
        let inbound = InboundWebhook {
            headers,
            query,
            body,
            source_ip,
            now: now.timestamp(),
        };
        module
            .verify(&tenant.webhook_secrets, &inbound)
            .map_err(|e| match e {
                WebhookError::Unauthorized(why) => ApiError::Unauthenticated(why),
                WebhookError::Malformed { .. } => {
                    ApiError::invalid("invalid_webhook", "body", e.to_string())
                }
            })?;
        let envelope = WebhookEnvelope::new(module.name().to_string(), tid, now, body);
        self.queue.send(&envelope).await?;
        crate::telemetry::count(crate::telemetry::WEBHOOK_RECEIVED, Some(module.name()));
        Ok(())
    }
}
