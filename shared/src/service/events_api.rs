//! The events API: `GET /v1/events`, `GET /v1/events/{id}` (with the delivery log),
//! `POST /v1/events/{id}/resend`, and `GET /v1/webhooks/unmatched` — what a merchant needs to
//! answer "I never got the webhook".

use super::queries::{parse_limit, DEFAULT_LIMIT};
use super::Orchestrator;
use crate::domain::{
    DeliveryAttempt, DeliveryState, EventType, MerchantEvent, PaymentId, StoredEvent,
};
use crate::error::ApiError;
use crate::ports::{DeliveryMessage, EventFilter, Tenant, UnmatchedWebhook};
use serde::Serialize;

#[derive(Serialize)]
struct Delivery<'a> {
    state: DeliveryState,
    attempts: &'a [DeliveryAttempt],
}

#[derive(Serialize)]
struct EventView<'a> {
    id: &'a str,
    object: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    livemode: bool,
    created_at: String,
    payment_id: &'a str,
    refund_id: Option<&'a str>,
    payment_version: u64,
    delivery: Delivery<'a>,
    /// The `data` of the callback body, exactly as delivered.
    data: serde_json::Value,
}

fn event_view(e: &StoredEvent) -> EventView<'_> {
    let body = serde_json::from_str::<serde_json::Value>(&e.event.payload).ok();
    // As delivered; an event written before modes has none: its partition's mode.
    let livemode = body
        .as_ref()
        .and_then(|v| v.get("livemode"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(!e.event.tenant_id.is_test());
    let data = body
        .and_then(|mut v| v.get_mut("data").map(serde_json::Value::take))
        .unwrap_or(serde_json::Value::Null);
    EventView {
        id: &e.event.id,
        object: "event",
        kind: e.event.kind.as_str(),
        livemode,
        created_at: crate::time_format::render(&e.event.created_at),
        payment_id: e.event.payment_id.as_str(),
        refund_id: e.event.refund_id.as_deref(),
        payment_version: e.event.payment_version,
        delivery: Delivery {
            state: e.state,
            attempts: &e.attempts,
        },
        data,
    }
}

#[derive(Serialize)]
struct ListBody<'a, T: Serialize> {
    object: &'static str,
    data: Vec<T>,
    has_more: bool,
    next_cursor: Option<&'a str>,
}

fn unknown(name: &str) -> ApiError {
    ApiError::invalid(
        "unknown_parameter",
        name.to_string(),
        format!(
            "unknown query parameter `{}`",
            name.chars().take(40).collect::<String>()
        ),
    )
}

fn no_event(id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no event `{}`",
        id.chars().take(64).collect::<String>()
    ))
}

impl Orchestrator {
    fn outbox(&self) -> Result<&dyn crate::ports::OutboxStore, ApiError> {
        self.outbox
            .as_deref()
            .ok_or_else(|| ApiError::Unavailable("events are not configured".into()))
    }

    /// Lists the tenant's events newest first. Query: `type`, `payment_id`, `limit` (1–100,
    /// default 20), `starting_after` (the previous page's `next_cursor`).
    pub async fn list_events(
        &self,
        tenant: &Tenant,
        query: Option<&str>,
    ) -> Result<String, ApiError> {
        let mut filter = EventFilter::default();
        let mut limit = DEFAULT_LIMIT;
        let mut cursor = None;
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "type" => {
                    filter.kind = Some(EventType::parse(&v).ok_or_else(|| {
                        ApiError::invalid(
                            "parameter_invalid_enum",
                            "type",
                            "type must be one of the event types (payment.succeeded, refund.failed, ...)",
                        )
                    })?)
                }
                "payment_id" => {
                    filter.payment_id = Some(PaymentId::parse(&v).map_err(|_| {
                        ApiError::invalid(
                            "parameter_invalid_format",
                            "payment_id",
                            "payment_id must be a payment id",
                        )
                    })?)
                }
                "limit" => limit = parse_limit(&v)?,
                "starting_after" => {
                    if !MerchantEvent::is_event_id(&v) {
                        return Err(ApiError::invalid(
                            "parameter_invalid_format",
                            "starting_after",
                            "starting_after must be an event id",
                        ));
                    }
                    cursor = Some(v.into_owned());
                }
                other => return Err(unknown(other)),
            }
        }
        let page = self
            .outbox()?
            .list(&tenant.id, &filter, limit, cursor.as_deref())
            .await?;
        let body = ListBody {
            object: "list",
            data: page.items.iter().map(event_view).collect(),
            has_more: page.next_cursor.is_some(),
            next_cursor: page.next_cursor.as_deref(),
        };
        serde_json::to_string(&body).map_err(|e| ApiError::Internal(e.to_string()))
    }

    async fn find_event(&self, tenant: &Tenant, id: &str) -> Result<StoredEvent, ApiError> {
        if !MerchantEvent::is_event_id(id) {
            return Err(no_event(id));
        }
        self.outbox()?
            .get(&tenant.id, id)
            .await?
            .ok_or_else(|| no_event(id))
    }

    /// One of the tenant's events with its delivery log; another tenant's id is a 404.
    pub async fn get_event(&self, tenant: &Tenant, id: &str) -> Result<String, ApiError> {
        let e = self.find_event(tenant, id).await?;
        serde_json::to_string(&event_view(&e)).map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// Queues the event for delivery again, with the same `webhook-id` and body: repeating it
    /// is harmless, since the merchant dedupes on the id. Answers 202 with the event.
    pub async fn resend_event(&self, tenant: &Tenant, id: &str) -> Result<String, ApiError> {
        let e = self.find_event(tenant, id).await?;
        let queue = self
            .delivery_queue
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("event delivery is not configured".into()))?;
        queue
            .send_delivery(
                &DeliveryMessage::new(e.event.id.clone(), tenant.id.clone())
                    .resend()
                    .traced(crate::telemetry::trace_header()),
            )
            .await?;
        serde_json::to_string(&event_view(&e)).map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// Gateway webhooks that matched no payment (newest first). Query: `limit`.
    pub async fn list_unmatched(
        &self,
        tenant: &Tenant,
        query: Option<&str>,
    ) -> Result<String, ApiError> {
        let mut limit = DEFAULT_LIMIT;
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "limit" => limit = parse_limit(&v)?,
                other => return Err(unknown(other)),
            }
        }
        let store = self
            .unmatched
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("webhook records are not configured".into()))?;
        let items: Vec<UnmatchedWebhook> = store.list_unmatched(&tenant.id, limit).await?;
        let body = ListBody {
            object: "list",
            data: items,
            has_more: false,
            next_cursor: None,
        };
        serde_json::to_string(&body).map_err(|e| ApiError::Internal(e.to_string()))
    }
}
