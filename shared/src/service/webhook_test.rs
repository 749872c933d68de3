//! `POST /v1/webhook_endpoint/test`: one signed `webhook.test` event to the tenant's callback
//! URL, now, with the delivery shown in the answer.
//!
//! A merchant wiring up its receiver needs to see one callback arrive and verify before any
//! payment exists. The event is signed exactly like a real one (Standard Webhooks headers, one
//! `v1` signature per active callback secret, the current one first) and goes through the
//! worker's own sender (no redirects, no proxy, the SSRF guard where the deployment has it), so
//! a receiver that accepts it accepts real events. It is bounded ([`TEST_TIMEOUT`]), sent once
//! (never retried: the answer *is* the delivery report), touches no payment, is not stored as an
//! event and does not move the endpoint's health; only an audit line records it. A failed
//! delivery is still a 200 with `delivered: false` and the error — that is what the merchant
//! asked to see.

use super::settings_api::{body_object, refuse_unknown};
use super::{Orchestrator, Principal};
use crate::domain::{EventType, MerchantEvent};
use crate::error::ApiError;
use crate::ports::{Callback, CallbackSender, DeliveryOutcome};
use crate::signing::standard_webhooks::{signature_header, CallbackSecret};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most a test delivery may take (the worker allows 15 s; an API answer should not).
pub const TEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Test events a tenant may send per minute (service clock) on one instance; more is a 429.
/// The route takes no idempotency claim (it stores nothing), so the tenant's counted rate
/// limit does not see it, and it must not become a way to make this service POST without
/// bound.
pub const TEST_EVENTS_PER_MINUTE: u32 = 10;

impl Orchestrator {
    /// Counts one test event of `tenant` in this minute, or answers 429 until the next one.
    fn take_test_turn(&self, tenant: &str) -> Result<(), ApiError> {
        let now = self.clock.now().timestamp();
        let minute = now.div_euclid(60);
        let mut seen = self.test_events.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, (m, _)| *m == minute);
        }
        let entry = seen.entry(tenant.to_string()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1 >= TEST_EVENTS_PER_MINUTE {
            return Err(ApiError::RateLimited {
                limit: TEST_EVENTS_PER_MINUTE,
                window_secs: 60,
                retry_after: u64::try_from(60 - now.rem_euclid(60)).unwrap_or(60),
            });
        }
        entry.1 += 1;
        Ok(())
    }

    /// The sender: the one wired in, else the worker's `HttpCallbackSender` under this
    /// deployment's loopback rule, built once.
    fn test_sender(&self) -> Result<Arc<dyn CallbackSender>, ApiError> {
        if let Some(s) = self.callback_sender.get() {
            return Ok(s.clone());
        }
        let built: Arc<dyn CallbackSender> = Arc::new(
            crate::adapters::http::HttpCallbackSender::new(self.config.allow_loopback_callbacks)
                .map_err(|e| ApiError::Unavailable(format!("callback sender: {e}")))?,
        );
        Ok(self.callback_sender.get_or_init(|| built).clone())
    }

    /// `POST /v1/webhook_endpoint/test` (body absent or `{}`).
    pub async fn send_test_webhook(
        &self,
        who: &Principal,
        body: &[u8],
    ) -> Result<String, ApiError> {
        refuse_unknown(&body_object(body, true)?, &[])?;
        self.take_test_turn(&who.tenant.id.to_string())?;
        // The stored tenant, not this instance's cached copy: a URL just changed (on any
        // instance) is the one tested. The mode is the key's.
        let livemode = who.tenant.livemode();
        let tenant = self
            .tenants
            .get(&who.tenant.id)
            .await?
            .ok_or_else(|| ApiError::NotFound("no such tenant".into()))?;
        let url = tenant.callback_url.clone().ok_or_else(|| {
            ApiError::NoCallbackUrl(
                "no callback URL is configured: set one with PATCH /v1/settings first".into(),
            )
        })?;
        let now = self.clock.now();
        let secrets: Vec<CallbackSecret> = tenant
            .active_callback_secrets(now)
            .into_iter()
            .filter_map(|s| CallbackSecret::parse(s).ok())
            .collect();
        if secrets.is_empty() {
            return Err(ApiError::InvalidState(
                "this account has no callback signing secret; rotate one in first".into(),
            ));
        }
        let id = MerchantEvent::new_id();
        let created_at = crate::time_format::render(&now);
        let data = json!({
            "object": "webhook_test",
            "message": "A test event: it concerns no payment. Verify its signature and answer 2xx.",
        });
        // The callback body has the shape of every other (`id`, `type`, `livemode`,
        // `created_at`, `data`); the answer shows it as an event object.
        let payload = json!({
            "id": id, "type": EventType::WebhookTest.as_str(), "livemode": livemode,
            "created_at": created_at, "data": data,
        })
        .to_string();
        let ts = now.timestamp();
        let cb = Callback {
            url: url.as_str().to_string(),
            webhook_id: id.clone(),
            timestamp: ts,
            signature: signature_header(&secrets, &id, ts, payload.as_bytes()),
            body: payload,
        };
        let sender = self.test_sender()?;
        let started = Instant::now();
        let report = tokio::time::timeout(TEST_TIMEOUT, sender.send(&cb)).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (delivered, status, error) = match report {
            Err(_) => (
                false,
                None,
                Some(format!(
                    "no answer within {} s (test events wait {} s; real deliveries 15 s)",
                    TEST_TIMEOUT.as_secs(),
                    TEST_TIMEOUT.as_secs()
                )),
            ),
            Ok(r) => match r.outcome {
                DeliveryOutcome::Delivered => (true, r.http_status, None),
                DeliveryOutcome::Gone => (
                    false,
                    r.http_status,
                    Some("the endpoint answered 410 Gone: real events to it would stop".into()),
                ),
                DeliveryOutcome::Retry(why) => (false, r.http_status, Some(why)),
            },
        };
        let delivery = json!({
            "url": url.as_str(),
            "delivered": delivered,
            "response_status": status,
            "duration_ms": duration_ms,
            "error": error,
        });
        tracing::info!(tenant = %tenant.id, event_id = %id, delivered, http_status = status.unwrap_or(0), duration_ms, "test callback");
        self.audit(
            &who.tenant.id,
            &who.key_id,
            "webhook_endpoint.test",
            Value::Null,
            json!({"event_id": id, "url": url.as_str(), "delivered": delivered, "response_status": status}),
        )
        .await;
        Ok(json!({
            "object": "webhook_test",
            "event": {
                "id": id, "object": "event", "type": EventType::WebhookTest.as_str(),
                "created_at": created_at, "livemode": livemode, "data": data,
            },
            "delivery": delivery,
        })
        .to_string())
    }
}
