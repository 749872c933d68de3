//! `POST /webhooks/{gateway}/{tenant_id}`: authenticate on the raw bytes, enqueue, then 200.

use super::TenantCache;
use crate::clock::Clock;
use crate::domain::TenantId;
use crate::error::ApiError;
use crate::gateways::webhooks::{InboundWebhook, WebhookError, WebhookRegistry};
use crate::ports::{WebhookEnvelope, WebhookQueue};
use http::HeaderMap;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Where a webhook request came from, as the front door saw it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOrigin<'a> {
    /// The client's address.
    pub source_ip: Option<IpAddr>,
    /// The issuer DN of a client certificate verified over mutual TLS.
    pub client_cert_issuer: Option<&'a str>,
}

/// The receiver's dependencies, built once per instance.
pub struct WebhookReceiver {
    pub(crate) registry: WebhookRegistry,
    pub(crate) tenants: TenantCache,
    pub(crate) queue: Arc<dyn WebhookQueue>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Gateway → the issuer DN of its webhook client certificates, where the deployment
    /// verifies them over mutual TLS (EFI: `EFI_MTLS_ISSUER_DN`).
    pub(crate) client_cert_issuers: BTreeMap<String, String>,
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
            client_cert_issuers: BTreeMap::new(),
        }
    }

    /// Counts a request whose verified client certificate was issued by `issuer_dn` (exactly
    /// as the front door reports it) as coming from `gateway` over mutual TLS. A blank DN
    /// configures nothing.
    pub fn with_client_cert_issuer(mut self, gateway: &str, issuer_dn: &str) -> Self {
        let dn = issuer_dn.trim();
        if !dn.is_empty() {
            self.client_cert_issuers
                .insert(gateway.to_string(), dn.to_string());
        }
        self
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
        origin: RequestOrigin<'_>,
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
        let client_cert_verified = match (
            origin.client_cert_issuer,
            self.client_cert_issuers.get(module.name()),
        ) {
            (Some(got), Some(want)) => got.trim() == want,
            _ => false,
        };
        let inbound = InboundWebhook {
            headers,
            query,
            body,
            source_ip: origin.source_ip,
            client_cert_verified,
            live: tenant.livemode(),
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
