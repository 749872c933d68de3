//! The tenant's callback endpoints as the worker sees them: `GET /v1/webhook_endpoint` (healthy,
//! failing since when, disabled, the next probe, the last error) and
//! `POST /v1/webhook_endpoint/enable` (healthy again, and its backlog — the events marked
//! `failed` since it began failing — queued again, both modes). Both take `?url=` for a
//! payment's own callback URL (each URL is an endpoint of its own); the default is the
//! tenant's callback URL.

use super::{Orchestrator, Principal};
use crate::domain::{DeliveryState, EndpointHealth, MerchantEvent, TenantId};
use crate::error::ApiError;
use crate::ports::{DeliveryMessage, EndpointKey, EventFilter};
use serde_json::{json, Value};

/// At most this many events are resent per enable; the answer's `next_cursor` continues.
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

/// The query of both routes: `url` (1–2048 characters), and on enable `starting_after` (a
/// cursor of an earlier answer); any other parameter is refused, as everywhere in the API.
struct EndpointQuery {
    url: Option<String>,
    starting_after: Option<(usize, Option<String>)>,
}

fn parse_query(query: Option<&str>, cursor_allowed: bool) -> Result<EndpointQuery, ApiError> {
    let mut q = EndpointQuery {
        url: None,
        starting_after: None,
    };
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "url" if !v.is_empty() && v.len() <= 2048 => q.url = Some(v.into_owned()),
            "url" => {
                return Err(ApiError::invalid(
                    "parameter_invalid_string",
                    "url",
                    "url must be a callback URL of at most 2048 characters",
                ))
            }
            "starting_after" if cursor_allowed => {
                q.starting_after = Some(parse_cursor(&v).ok_or_else(|| {
                    ApiError::invalid(
                        "parameter_invalid_format",
                        "starting_after",
                        "starting_after must be the next_cursor of an earlier answer",
                    )
                })?)
            }
            other => {
                return Err(ApiError::invalid(
                    "unknown_parameter",
                    other.to_string(),
                    format!(
                        "unknown query parameter `{}`",
                        other.chars().take(40).collect::<String>()
                    ),
                ))
            }
        }
    }
    Ok(q)
}

/// A backlog cursor: which partition (0 live, 1 test) and the last event resent there (none:
/// from that partition's newest).
fn parse_cursor(c: &str) -> Option<(usize, Option<String>)> {
    let (part, id) = c.split_once(':')?;
    let part = match part {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    match id {
        "" => Some((part, None)),
        id if MerchantEvent::is_event_id(id) => Some((part, Some(id.to_string()))),
        _ => None,
    }
}

impl Orchestrator {
    fn endpoint_store(&self) -> Result<&dyn crate::ports::EndpointHealthStore, ApiError> {
        self.endpoints
            .as_deref()
            .ok_or_else(|| ApiError::Unavailable("endpoint health is not configured".into()))
    }

    /// `?url=` (a payment's own callback URL) or the tenant's callback URL.
    fn endpoint_url(who: &Principal, url: Option<String>) -> Result<String, ApiError> {
        if let Some(url) = url {
            return Ok(url);
        }
        who.tenant
            .callback_url
            .as_ref()
            .map(|u| u.as_str().to_string())
            .ok_or_else(|| {
                ApiError::NotFound(
                    "no callback URL is configured for this tenant (pass ?url= for a payment's own)"
                        .into(),
                )
            })
    }

    /// `GET /v1/webhook_endpoint[?url=]`.
    pub async fn get_webhook_endpoint(
        &self,
        who: &Principal,
        query: Option<&str>,
    ) -> Result<String, ApiError> {
        let url = Self::endpoint_url(who, parse_query(query, false)?.url)?;
        let h = self
            .endpoint_store()?
            .load(&EndpointKey::new(&who.tenant.id, &url))
            .await?;
        Ok(view(&url, &h).to_string())
    }

    /// `POST /v1/webhook_endpoint/enable[?url=&starting_after=]`: healthy again, backlog
    /// resent. The record keeps where the backlog begins, so an enable whose resend was cut
    /// short (or a backlog longer than one call, continued with `starting_after`) can be
    /// repeated; only events marked `failed` are resent (pending ones still have their own
    /// message waiting), so repeating it never multiplies messages.
    pub async fn enable_webhook_endpoint(
        &self,
        who: &Principal,
        query: Option<&str>,
    ) -> Result<String, ApiError> {
        let EndpointQuery {
            url,
            starting_after,
        } = parse_query(query, true)?;
        let url = Self::endpoint_url(who, url)?;
        let store = self.endpoint_store()?;
        let key = EndpointKey::new(&who.tenant.id, &url);
        let mut before = store.load(&key).await?;
        let mut from = before.backlog_from();
        for _ in 0..5 {
            if before.is_healthy() && before.resend_from == from {
                break;
            }
            if store
                .save(&key, before.version, &before.enabled(from))
                .await?
            {
                break;
            }
            before = store.load(&key).await?;
            from = before.backlog_from();
        }
        let (resent, next_cursor) = match from {
            Some(since) => {
                self.resend_backlog(&who.tenant.id, &url, since, starting_after)
                    .await?
            }
            None => (0, None),
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
        out["more_backlog"] = json!(next_cursor.is_some());
        out["next_cursor"] = json!(next_cursor);
        Ok(out.to_string())
    }

    /// Queues again every event of both modes created since `since` for `url` and marked
    /// `failed`, newest first from `starting_after`; (how many, the cursor when more are left).
    async fn resend_backlog(
        &self,
        tenant: &TenantId,
        url: &str,
        since: chrono::DateTime<chrono::Utc>,
        starting_after: Option<(usize, Option<String>)>,
    ) -> Result<(usize, Option<String>), ApiError> {
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
        let (first, start) = starting_after.unwrap_or((0, None));
        let partitions = [tenant.live_id(), tenant.live_id().test_id()];
        for (index, partition) in partitions.iter().enumerate().skip(first) {
            let mut cursor = if index == first { start.clone() } else { None };
            let mut last_sent: Option<String> = None;
            loop {
                let page = outbox
                    .list(partition, &EventFilter::default(), PAGE, cursor.as_deref())
                    .await?;
                let mut older = false;
                for e in &page.items {
                    if e.event.created_at < since {
                        older = true;
                        break;
                    }
                    let to = e.event.callback_url.as_deref().or(tenant_url.as_deref());
                    if to != Some(url) || e.state != DeliveryState::Failed {
                        continue;
                    }
                    if resent == MAX_BACKLOG_RESENT {
                        // The next call continues below the last one resent.
                        let at = last_sent.or_else(|| cursor.clone()).unwrap_or_default();
                        return Ok((resent, Some(format!("{index}:{at}"))));
                    }
                    queue
                        .send_delivery(&DeliveryMessage::new(e.event.id.clone(), partition.clone()))
                        .await?;
                    resent += 1;
                    last_sent = Some(e.event.id.clone());
                }
                match page.next_cursor {
                    Some(c) if !older => cursor = Some(c),
                    _ => break,
                }
            }
        }
        Ok((resent, None))
    }
}
