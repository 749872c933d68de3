//! The tenant's callback endpoint as the worker sees it: `GET /v1/webhook_endpoint` (healthy,
//! failing since when, disabled, the next probe, the last error) and
//! `POST /v1/webhook_endpoint/enable` (a disabled or failing endpoint is healthy again, and its
//! backlog — the events not delivered since it began failing — is queued again, both modes).

use super::{Orchestrator, Principal};
use crate::domain::{DeliveryState, EndpointHealth, TenantId};
use crate::error::ApiError;
use crate::ports::{DeliveryMessage, EndpointKey, EventFilter};
use serde_json::{json, Value};

/// At most this many events are resent per enable (the answer says whether more were left; a
/// second enable resends the rest, newest first).
pub const MAX_BACKLOG_RESENT: usize = 10_000;

/// Events read per page while looking for the backlog.
const PAGE: usize = 100;

fn render(t: &Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.as_ref()
        .map_or(Value::Null, |t| json!(crate::time_format::render(t)))
}

fn view(url: &str, h: &EndpointHealth) -> Value {
    json!({
        "object": "webhook_endpoint",
        "url": url,
        "state": h.state(),
        "failing_since": render(&h.failing_since),
        "failures": h.failures,
        "next_attempt_at": if h.failing_since.is_some() { render(&h.retry_at) } else { Value::Null },
        "disabled_at": render(&h.disabled_at),
        "last_error": h.last_error,
    })
}

impl Orchestrator {
    fn endpoint_store(&self) -> Result<&dyn crate::ports::EndpointHealthStore, ApiError> {
        self.endpoints
            .as_deref()
            .ok_or_else(|| ApiError::Unavailable("endpoint health is not configured".into()))
    }

    fn callback_url(who: &Principal) -> Result<String, ApiError> {
        who.tenant
            .callback_url
            .as_ref()
            .map(|u| u.as_str().to_string())
            .ok_or_else(|| {
                ApiError::NotFound("no callback URL is configured for this tenant".into())
            })
    }

    /// `GET /v1/webhook_endpoint`.
    pub async fn get_webhook_endpoint(&self, who: &Principal) -> Result<String, ApiError> {
        let url = Self::callback_url(who)?;
        let h = self
            .endpoint_store()?
            .load(&EndpointKey::new(&who.tenant.id, &url))
            .await?;
        Ok(view(&url, &h).to_string())
    }

    /// `POST /v1/webhook_endpoint/enable`: healthy again, backlog resent.
    pub async fn enable_webhook_endpoint(&self, who: &Principal) -> Result<String, ApiError> {
        let url = Self::callback_url(who)?;
        let store = self.endpoint_store()?;
        let key = EndpointKey::new(&who.tenant.id, &url);
        let mut before = store.load(&key).await?;
        for _ in 0..5 {
            if before.is_healthy()
                || store
                    .save(&key, before.version, &before.after_success())
                    .await?
            {
                break;
            }
            before = store.load(&key).await?;
        }
        let (resent, more) = match before.failing_since {
            // An event made shortly before the first failure may have waited for its first
            // attempt until then; anything older was attempted while the endpoint worked.
            Some(since) => {
                self.resend_backlog(&who.tenant.id, &url, since - chrono::Duration::hours(1))
                    .await?
            }
            None => (0, false),
        };
        self.audit(
            &who.tenant.id,
            &who.key_id,
            "webhook_endpoint.enable",
            view(&url, &before),
            json!({"state": "healthy", "resent": resent}),
        )
        .await;
        let mut out = view(&url, &EndpointHealth::default());
        out["resent"] = json!(resent);
        out["more_backlog"] = json!(more);
        Ok(out.to_string())
    }

    /// Queues again every event of both modes created since `since` for `url` that is not
    /// delivered; (how many, whether more were left).
    async fn resend_backlog(
        &self,
        tenant: &TenantId,
        url: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<(usize, bool), ApiError> {
        let outbox = self
            .outbox
            .as_deref()
            .ok_or_else(|| ApiError::Unavailable("events are not configured".into()))?;
        let queue = self
            .delivery_queue
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("event delivery is not configured".into()))?;
        let tenant_url = self
            .tenants
            .get(&tenant.live_id())
            .await?
            .and_then(|t| t.callback_url.map(|u| u.as_str().to_string()));
        let mut resent = 0;
        for partition in [tenant.live_id(), tenant.live_id().test_id()] {
            let mut cursor: Option<String> = None;
            loop {
                let page = outbox
                    .list(&partition, &EventFilter::default(), PAGE, cursor.as_deref())
                    .await?;
                let mut older = false;
                for e in &page.items {
                    if e.event.created_at < since {
                        older = true;
                        break;
                    }
                    let to = e.event.callback_url.as_deref().or(tenant_url.as_deref());
                    if to != Some(url)
                        || matches!(
                            e.state,
                            DeliveryState::Delivered | DeliveryState::NoEndpoint
                        )
                    {
                        continue;
                    }
                    if resent == MAX_BACKLOG_RESENT {
                        return Ok((resent, true));
                    }
                    queue
                        .send_delivery(&DeliveryMessage::new(e.event.id.clone(), partition.clone()))
                        .await?;
                    resent += 1;
                }
                match page.next_cursor {
                    Some(c) if !older => cursor = Some(c),
                    _ => break,
                }
            }
        }
        Ok((resent, false))
    }
}
