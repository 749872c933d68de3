//! Inbound gateway webhooks: each gateway module verifies its own authentication on the raw
//! bytes and normalizes its events; the registry maps a gateway name to its module.

use crate::domain::{PaymentId, PaymentStatus, RefundStatus};
use crate::ports::WebhookSecrets;
use http::HeaderMap;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// An inbound webhook request, before any parsing of the body.
#[derive(Debug, Clone)]
pub struct InboundWebhook<'a> {
    pub headers: &'a HeaderMap,
    pub query: Option<&'a str>,
    pub body: &'a [u8],
    pub source_ip: Option<IpAddr>,
    /// The request came over mutual TLS with a client certificate from the issuer the
    /// deployment names as this gateway's (EFI: `EFI_MTLS_ISSUER_DN`); never on the dev server.
    pub client_cert_verified: bool,
    /// The tenant is live (real money): EFI then needs more than its static `hmac`.
    pub live: bool,
    /// Unix seconds, for timestamp tolerances.
    pub now: i64,
}

/// A gateway event in the orchestrator's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayEvent {
    /// The gateway's own event identity (Stripe `event.id`, Asaas event `id`, EFI
    /// `endToEndId` [+ refund id and status]); duplicates share it.
    pub dedupe_id: String,
    /// The gateway's id of the charge (PaymentIntent id, EFI txid, Asaas payment id).
    pub gateway_payment_id: String,
    /// Our payment id when the gateway echoes it back (Stripe `metadata.payment_id`, Asaas
    /// `externalReference`, EFI txid `PAY<ulid>`). Matched before the gateway id, so a payment
    /// stored without `gateway_payment_id` (unknown create outcome) is still found.
    pub payment_id: Option<PaymentId>,
    /// What the event reports.
    pub kind: GatewayEventKind,
}

/// What a gateway event reports about a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayEventKind {
    /// The charge's status. Never `partially_refunded`/`refunded`: those follow from refunds.
    Status(PaymentStatus),
    /// Past due but still payable (Asaas `PAYMENT_OVERDUE`): not a final status.
    Overdue,
    /// One refund's state.
    Refund(RefundReport),
    /// The charge is refunded in full, without the refunds named (Asaas `PAYMENT_REFUNDED`
    /// without a list): pending refunds succeeded, and whatever was not yet recorded was
    /// refunded outside the orchestrator.
    RefundedInFull,
}

/// One refund as a gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundReport {
    /// The gateway's refund id (Stripe `re_…`, EFI devolução `id`/`rtrId`, Asaas refund id).
    pub gateway_refund_id: String,
    /// Our refund id (`ref_<ulid>`) when the gateway echoes our refund key back (EFI devolução
    /// id `REF<ulid>`, Stripe `metadata.refund_id`, Asaas description).
    pub refund_id: Option<String>,
    /// Minor units.
    pub amount: i64,
    pub status: RefundStatus,
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook authentication failed: {0}")]
    Unauthorized(&'static str),
    #[error("webhook body is not a valid {gateway} event: {reason}")]
    Malformed {
        gateway: &'static str,
        reason: String,
    },
}

/// One gateway's webhook handling.
pub trait GatewayWebhooks: Send + Sync {
    /// The gateway name in `/webhooks/{gateway}/…`.
    fn name(&self) -> &'static str;

    /// Authenticates the raw request with the tenant's secrets. Runs before any parsing.
    fn verify(
        &self,
        secrets: &WebhookSecrets,
        req: &InboundWebhook<'_>,
    ) -> Result<(), WebhookError>;

    /// Turns a verified body into events; event types the orchestrator doesn't act on yield none.
    fn normalize(&self, body: &[u8]) -> Result<Vec<GatewayEvent>, WebhookError>;

    /// Whether the body itself is signed (Stripe). An unsigned body (EFI, Asaas: only a static
    /// shared value authenticates the request) is a hint: money it reports is confirmed at the
    /// gateway before it is applied.
    fn body_is_signed(&self) -> bool {
        false
    }
}

/// Webhook modules by gateway name.
#[derive(Clone, Default)]
pub struct WebhookRegistry {
    modules: BTreeMap<&'static str, Arc<dyn GatewayWebhooks>>,
}

impl WebhookRegistry {
    /// The three gateways' modules.
    pub fn standard() -> Self {
        let mut r = Self::default();
        r.register(Arc::new(super::stripe::webhook::StripeWebhooks));
        r.register(Arc::new(super::asaas::webhook::AsaasWebhooks));
        r.register(Arc::new(super::efi::webhook::EfiWebhooks));
        r
    }

    /// Adds a module under its name.
    pub fn register(&mut self, m: Arc<dyn GatewayWebhooks>) {
        self.modules.insert(m.name(), m);
    }

    /// The module for a gateway name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn GatewayWebhooks>> {
        self.modules.get(name)
    }
}

/// Reads a header as text.
pub(crate) fn header<'a>(req: &'a InboundWebhook<'_>, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A `serde_json` failure as a `Malformed` error.
pub(crate) fn malformed(gateway: &'static str, e: impl std::fmt::Display) -> WebhookError {
    WebhookError::Malformed {
        gateway,
        reason: e.to_string(),
    }
}
