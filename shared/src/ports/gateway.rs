//! The gateway port: what the orchestrator asks of EFI, Stripe, Asaas (or a simulator).

use crate::domain::{
    BoletoDetails, Currency, Customer, Money, NextAction, PaymentId, PaymentMethod, PaymentStatus,
    PixDetails,
};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Everything a gateway needs to create a charge. `gateway_key` is derived from the payment id,
/// so a retry (after a crash or a timeout) reaches the same gateway charge.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    pub payment_id: PaymentId,
    pub gateway_key: String,
    pub amount: Money,
    pub method: PaymentMethod,
    pub customer: Option<Customer>,
    pub description: Option<String>,
    pub card_token: Option<String>,
    /// Pix only: how long the charge stays payable, in seconds (`None`: the gateway module's
    /// default). Each module maps it to its own field (EFI `calendario.expiracao`, Stripe
    /// `payment_method_options[pix][expires_after_seconds]`, Asaas `dueDate`).
    pub expires_in: Option<u32>,
}

/// What identifies a charge this orchestrator may have asked a gateway for: our payment id and
/// the deterministic gateway key derived from it. A look-up finds the charge by these without
/// ever creating one (reconciliation, and a takeover after a crash, must never create).
#[derive(Debug, Clone)]
pub struct ChargeLookup {
    pub payment_id: PaymentId,
    pub gateway_key: String,
    pub method: PaymentMethod,
    /// The amount and currency asked for: a charge found with another one is never accepted.
    pub amount: Money,
}

impl From<&ChargeRequest> for ChargeLookup {
    fn from(r: &ChargeRequest) -> Self {
        Self {
            payment_id: r.payment_id.clone(),
            gateway_key: r.gateway_key.clone(),
            method: r.method,
            amount: r.amount,
        }
    }
}

/// A charge as the gateway reported it, already normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayCharge {
    pub gateway_payment_id: String,
    pub status: PaymentStatus,
    pub pix: Option<PixDetails>,
    pub boleto: Option<BoletoDetails>,
    pub next_action: Option<NextAction>,
    /// How much the gateway shows refunded on the charge (completed refunds, minor units),
    /// where the charge read exposes it (EFI: the cob's Pix devoluções; Asaas: the payment's
    /// `refunds`); `None` when it does not say. Confirms an unsigned refund report.
    pub refunded_minor: Option<i64>,
}

/// A window of creation times over which a gateway's charges are listed (reconciliation).
/// Half-open: `from <= created < to`. A gateway that only filters by day (Asaas) lists the
/// whole days the window touches; the extra charges are compared like any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeWindow {
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
}

/// One charge as a gateway's listing reports it: the normalized charge plus what a comparison
/// with our payment needs. Fields a gateway does not report are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCharge {
    pub charge: GatewayCharge,
    /// Our payment id, read from the reference this orchestrator put on the charge (Stripe
    /// `metadata[payment_id]`, Asaas `externalReference`, EFI's txid); `None` for a charge
    /// made by someone else (whatever it carries).
    pub payment_id: Option<PaymentId>,
    /// The amount in minor units and the currency as the gateway recorded them.
    pub amount_minor: Option<i64>,
    pub currency: Option<Currency>,
    pub method: Option<PaymentMethod>,
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The gateway's fee and the net amount credited, in minor units, where the listing says.
    pub fee: Option<i64>,
    pub net: Option<i64>,
}

/// A listing over a window. `complete` is false when the gateway had more than a client reads
/// in one run ([`MAX_LISTED_CHARGES`]): the run says so and a narrower window is needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChargeListing {
    pub charges: Vec<ListedCharge>,
    pub complete: bool,
}

/// The most charges one listing reads (pages are followed up to it).
pub const MAX_LISTED_CHARGES: usize = 5_000;

/// The error code of a gateway that cannot list its charges.
pub const LISTING_UNSUPPORTED: &str = "listing_unsupported";

/// A refund to make at the gateway. `refund_key` is derived from the refund id: the gateway's
/// idempotency key (Stripe), refund id (EFI) or marker (Asaas), so a retry finds the first.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub gateway_payment_id: String,
    pub method: PaymentMethod,
    pub refund_key: String,
    pub amount: Money,
}

/// A refund as the gateway reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRefund {
    pub gateway_refund_id: String,
    pub status: crate::domain::RefundStatus,
}

/// The classes every gateway error falls in; failover and the breaker act on the class only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Business refusal (card declined); never counts against the gateway.
    Declined,
    /// Request rejected, nothing created.
    Invalid,
    /// Provably nothing created (connect failure, 429, explicit "not processed").
    Unavailable,
    /// May or may not have created a charge (timeout after send, 5xx on a create).
    Ambiguous,
    /// Credentials refused (401/403).
    Misconfigured,
}

/// A classified gateway failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct GatewayError {
    pub class: ErrorClass,
    pub code: String,
    pub message: String,
}

/// One payment gateway.
#[async_trait]
pub trait Gateway: Send + Sync {
    /// The name used in routing and in the API (`efi`, `stripe`, `asaas`).
    fn name(&self) -> &str;

    /// Whether this gateway can take the method (EFI: Pix only).
    fn supports(&self, method: PaymentMethod) -> bool;

    /// Whether this gateway can charge in the currency (Asaas and EFI: BRL only). Routing skips
    /// a gateway that cannot, so an amount is never sent in a currency it would misread.
    fn supports_currency(&self, currency: Currency) -> bool;

    /// Creates (or, with the same `gateway_key`, finds again) a charge.
    async fn create(&self, req: &ChargeRequest) -> Result<GatewayCharge, GatewayError>;

    /// Whether re-sending a create can never make a second charge, even while the first send
    /// is still being processed: true where the gateway itself dedupes (Stripe's idempotency
    /// key, EFI's txid). Asaas has no idempotency key — its client looks up, then creates — so
    /// a takeover never re-sends an Asaas create: it only looks up, and the payment waits
    /// (`processing`) for a refresh or a webhook.
    fn create_is_idempotent(&self) -> bool {
        true
    }

    /// Finds the charge made for this payment, if any, without creating one (Stripe: search by
    /// `metadata[payment_id]`; Asaas: `externalReference`; EFI: the txid). `Ok(None)` means the
    /// gateway answered that it holds none; an error means it could not tell.
    async fn lookup(&self, q: &ChargeLookup) -> Result<Option<GatewayCharge>, GatewayError>;

    /// Reads a charge's current state (status sync, reconciliation).
    async fn retrieve(
        &self,
        gateway_payment_id: &str,
        method: PaymentMethod,
    ) -> Result<GatewayCharge, GatewayError>;

    /// Cancels an unpaid charge (an orphan after failover, or on request).
    async fn cancel(
        &self,
        gateway_payment_id: &str,
        method: PaymentMethod,
    ) -> Result<(), GatewayError>;

    /// Refunds part or all of a paid charge, at most once per `refund_key`.
    async fn refund(&self, req: &RefundRequest) -> Result<GatewayRefund, GatewayError>;

    /// The charges created in `window` (reconciliation). Read-only, paged by the client up to
    /// [`MAX_LISTED_CHARGES`]. Gateways without a listing (the simulators) answer
    /// `listing_unsupported`.
    async fn list_charges(&self, window: &ChargeWindow) -> Result<ChargeListing, GatewayError> {
        let _ = window;
        Err(GatewayError {
            class: ErrorClass::Invalid,
            code: LISTING_UNSUPPORTED.into(),
            message: format!("{} cannot list its charges", self.name()),
        })
    }

    /// One harmless authenticated call that proves the credentials work (Stripe
    /// `GET /v1/balance`, Asaas `GET /finance/balance`, EFI a new OAuth2 token); nothing is
    /// created. Simulators have no credentials: they always pass.
    async fn verify(&self) -> Result<(), GatewayError> {
        Ok(())
    }
}

/// The gateways this deployment knows, by name. Adding a gateway is registering it here; no
/// other code matches on gateway names.
#[derive(Clone, Default)]
pub struct GatewayRegistry {
    gateways: BTreeMap<String, Arc<dyn Gateway>>,
}

impl GatewayRegistry {
    /// Adds (or replaces) a gateway under its own name.
    pub fn register(&mut self, gateway: Arc<dyn Gateway>) {
        self.gateways.insert(gateway.name().to_string(), gateway);
    }

    /// The gateway with this name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Gateway>> {
        self.gateways.get(name)
    }

    /// Names in a stable order, for error messages and docs.
    pub fn names(&self) -> Vec<&str> {
        self.gateways.keys().map(String::as_str).collect()
    }
}

/// Reads a payment's charge at its gateway, through exactly the account that made it (the
/// webhook worker confirms an unsigned gateway's report of money before applying it).
/// `Ok(None)`: the gateway holds no such charge; `Err`: it could not say now (retried).
#[async_trait]
pub trait ChargeConfirmer: Send + Sync {
    async fn charge_at_gateway(
        &self,
        tenant: &crate::ports::Tenant,
        payment: &crate::domain::Payment,
    ) -> Result<Option<GatewayCharge>, String>;
}
