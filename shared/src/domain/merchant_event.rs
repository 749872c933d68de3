//! Merchant events: what the orchestrator tells a merchant, one per change of a payment or a
//! refund. An event is written in the same durable write as the change it reports (the
//! transactional outbox), so neither exists without the other; its id, body and bytes are fixed
//! there and every delivery, retry, redrive and resend carries the same ones.

use super::{PaymentId, PaymentStatus, RefundStatus, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The event types. `payment.*` follow the payment's status (plus `payment.overdue`, a boleto or
/// Pix past due that is still payable); `refund.*` follow one refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "payment.pending")]
    PaymentPending,
    #[serde(rename = "payment.requires_action")]
    PaymentRequiresAction,
    #[serde(rename = "payment.processing")]
    PaymentProcessing,
    #[serde(rename = "payment.succeeded")]
    PaymentSucceeded,
    #[serde(rename = "payment.failed")]
    PaymentFailed,
    #[serde(rename = "payment.canceled")]
    PaymentCanceled,
    #[serde(rename = "payment.expired")]
    PaymentExpired,
    #[serde(rename = "payment.partially_refunded")]
    PaymentPartiallyRefunded,
    #[serde(rename = "payment.refunded")]
    PaymentRefunded,
    #[serde(rename = "payment.overdue")]
    PaymentOverdue,
    /// The gateway confirmed money after a final non-success status (`late_payment`).
    #[serde(rename = "payment.late_payment_received")]
    PaymentLatePaymentReceived,
    #[serde(rename = "refund.succeeded")]
    RefundSucceeded,
    #[serde(rename = "refund.failed")]
    RefundFailed,
    /// A test event the tenant asked for (`POST /v1/webhook_endpoint/test`): sent once, at
    /// once, signed like every callback, about no payment and never stored — so the events
    /// API's `type` filter knows the name but never finds one.
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

/// Every event type, in documentation order (the API's `type` filter accepts exactly these).
pub const EVENT_TYPES: [EventType; 14] = [
    EventType::PaymentPending,
    EventType::PaymentRequiresAction,
    EventType::PaymentProcessing,
    EventType::PaymentSucceeded,
    EventType::PaymentFailed,
    EventType::PaymentCanceled,
    EventType::PaymentExpired,
    EventType::PaymentPartiallyRefunded,
    EventType::PaymentRefunded,
    EventType::PaymentOverdue,
    EventType::PaymentLatePaymentReceived,
    EventType::RefundSucceeded,
    EventType::RefundFailed,
    EventType::WebhookTest,
];

impl EventType {
    /// The wire name (`payment.succeeded`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaymentPending => "payment.pending",
            Self::PaymentRequiresAction => "payment.requires_action",
            Self::PaymentProcessing => "payment.processing",
            Self::PaymentSucceeded => "payment.succeeded",
            Self::PaymentFailed => "payment.failed",
            Self::PaymentCanceled => "payment.canceled",
            Self::PaymentExpired => "payment.expired",
            Self::PaymentPartiallyRefunded => "payment.partially_refunded",
            Self::PaymentRefunded => "payment.refunded",
            Self::PaymentOverdue => "payment.overdue",
            Self::PaymentLatePaymentReceived => "payment.late_payment_received",
            Self::RefundSucceeded => "refund.succeeded",
            Self::RefundFailed => "refund.failed",
            Self::WebhookTest => "webhook.test",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        EVENT_TYPES.into_iter().find(|t| t.as_str() == s)
    }

    /// The event announcing that a payment reached `status`.
    pub fn for_status(status: PaymentStatus) -> Self {
        match status {
            PaymentStatus::Pending => Self::PaymentPending,
            PaymentStatus::RequiresAction => Self::PaymentRequiresAction,
            PaymentStatus::Processing => Self::PaymentProcessing,
            PaymentStatus::Succeeded => Self::PaymentSucceeded,
            PaymentStatus::Failed => Self::PaymentFailed,
            PaymentStatus::Canceled => Self::PaymentCanceled,
            PaymentStatus::Expired => Self::PaymentExpired,
            PaymentStatus::PartiallyRefunded => Self::PaymentPartiallyRefunded,
            PaymentStatus::Refunded => Self::PaymentRefunded,
        }
    }

    /// The event announcing that a refund settled; `None` while it is pending.
    pub fn for_refund(status: RefundStatus) -> Option<Self> {
        match status {
            RefundStatus::Pending => None,
            RefundStatus::Succeeded => Some(Self::RefundSucceeded),
            RefundStatus::Failed => Some(Self::RefundFailed),
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One merchant event as written in the outbox. `payload` is the exact callback body
/// (`{"id","type","created_at","data"}`), rendered once at write time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantEvent {
    /// `evt_<ULID>`: the callback's `webhook-id`; ULIDs sort by creation time.
    pub id: String,
    pub tenant_id: TenantId,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub payment_id: PaymentId,
    /// The refund a `refund.*` event is about.
    pub refund_id: Option<String>,
    /// The payment's version after the change (merchants discard older ones).
    pub payment_version: u64,
    #[serde(with = "crate::time_format")]
    pub created_at: DateTime<Utc>,
    /// The payment's own callback URL, if it had one; otherwise the tenant's, read at delivery.
    pub callback_url: Option<String>,
    pub payload: String,
}

impl MerchantEvent {
    /// A fresh event id. Monotonic within the process (a ULID generator that increments
    /// within one millisecond), so the events of one change list in the order they were made.
    pub fn new_id() -> String {
        static GEN: std::sync::Mutex<Option<ulid::Generator>> = std::sync::Mutex::new(None);
        let mut g = GEN.lock().unwrap_or_else(|e| e.into_inner());
        let id = g
            .get_or_insert_with(ulid::Generator::new)
            .generate()
            .unwrap_or_else(|_| ulid::Ulid::new());
        format!("evt_{id}")
    }

    /// Whether a string has the shape of an event id (checked before any lookup).
    pub fn is_event_id(s: &str) -> bool {
        // Uppercase only: the cursor of a listing sorts as stored.
        s.strip_prefix("evt_").is_some_and(|u| {
            u.len() == 26
                && u.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
                && u.parse::<ulid::Ulid>().is_ok()
        })
    }
}

/// Where an event's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet; retries are scheduled.
    Pending,
    /// The merchant answered 2xx.
    Delivered,
    /// Every attempt failed (the message is in the dead-letter queue), or the merchant answered
    /// 410 Gone. A redrive or a resend tries again.
    Failed,
    /// Nowhere to send it: neither the payment nor the tenant has a callback URL.
    NoEndpoint,
}

/// One delivery attempt, as the events API shows it. Never the merchant's full response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    #[serde(with = "crate::time_format")]
    pub at: DateTime<Utc>,
    /// The merchant's HTTP status, when one came back.
    pub http_status: Option<u16>,
    pub duration_ms: u64,
    /// Why it failed (timeout, connection refused, non-2xx), when it did.
    pub error: Option<String>,
    /// At most [`RESPONSE_EXCERPT_CHARS`] characters of the merchant's answer.
    pub response_excerpt: Option<String>,
}

/// How much of a merchant's response body an attempt keeps.
pub const RESPONSE_EXCERPT_CHARS: usize = 200;

/// How many attempts an event keeps in its log (the newest); the schedule makes 8 per delivery.
pub const MAX_LOGGED_ATTEMPTS: usize = 40;

/// An event with its delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub event: MerchantEvent,
    pub state: DeliveryState,
    pub attempts: Vec<DeliveryAttempt>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_statuses_map() {
        for t in EVENT_TYPES {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        assert_eq!(EventType::parse("payment.unknown"), None);
        for s in PaymentStatus::ALL {
            assert_eq!(EventType::for_status(s).as_str(), format!("payment.{s}"));
        }
        assert_eq!(EventType::for_refund(RefundStatus::Pending), None);
    }

    #[test]
    fn event_ids_increase_within_a_millisecond() {
        let ids: Vec<String> = (0..1000).map(|_| MerchantEvent::new_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn event_ids() {
        assert!(MerchantEvent::is_event_id(&MerchantEvent::new_id()));
        for bad in [
            "evt_",
            "evt_x",
            "pay_01J0000000000000000000000",
            "evt_01J000000000000000000000000",
            "evt_01J0000000000000000000000U",
            "evt_01jd0000000000000000000000",
        ] {
            assert!(!MerchantEvent::is_event_id(bad), "{bad}");
        }
    }
}
