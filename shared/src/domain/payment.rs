//! The payment aggregate and the value objects it carries.

use super::{
    CallbackUrl, Currency, Document, GatewayAccount, LatePayment, Money, PaymentId, PaymentMethod,
    PaymentStatus, TenantId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who pays. The document is optional for cards and Pix, required for boleto.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
    pub document: Option<Document>,
    pub email: Option<String>,
}

/// What the payer needs to pay by Pix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PixDetails {
    /// The EMV BR Code ("Pix copia e cola").
    pub copy_paste: String,
    pub qr_code_png_base64: Option<String>,
    #[serde(with = "crate::time_format::opt")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What the payer needs to pay a boleto.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoletoDetails {
    pub url: String,
    /// The 47-digit "linha digitável".
    pub barcode: String,
    pub due_date: Option<String>,
}

/// A step the payer must take (3DS, redirect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextAction {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

/// Why a payment failed, as the gateway explained it (normalized code plus a message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// How one gateway call ended; recorded for every attempt so an operator can see what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Succeeded,
    Declined,
    Invalid,
    Unavailable,
    Ambiguous,
    Misconfigured,
}

/// One gateway call made for a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub gateway: String,
    pub outcome: AttemptOutcome,
    pub code: Option<String>,
    pub duration_ms: u64,
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

/// How many applied gateway event ids a payment remembers.
pub const MAX_APPLIED_EVENTS: usize = 50;

/// A refund of part or all of a payment. Its id is fixed when the refund's idempotency key is
/// claimed, and the gateway-side refund key derives from it, so a retry never refunds twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    pub status: RefundStatus,
    pub gateway_refund_id: Option<String>,
    pub reason: Option<String>,
    #[serde(with = "crate::time_format")]
    pub created_at: DateTime<Utc>,
    /// The record this one took over: a refund first reported by the gateway's webhook without
    /// our id (`ref_ext_…`), then recognized as ours when the API call recorded it. The same
    /// refund, so no second event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// A payment as the orchestrator keeps it. `tenant_id` and `version` are internal; the public
/// object is rendered by the API layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub tenant_id: TenantId,
    pub status: PaymentStatus,
    pub amount: Money,
    pub method: PaymentMethod,
    pub gateway: Option<String>,
    pub gateway_payment_id: Option<String>,
    pub reference: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub customer: Option<Customer>,
    /// The gateway card token the charge was made with (a token, never card data), kept so a
    /// reconciliation can re-issue the identical idempotent create. Not part of the public view.
    #[serde(default)]
    pub card_token: Option<String>,
    pub callback_url: Option<CallbackUrl>,
    pub pix: Option<PixDetails>,
    pub boleto: Option<BoletoDetails>,
    pub next_action: Option<NextAction>,
    pub failure: Option<Failure>,
    pub refunded_amount: i64,
    #[serde(default)]
    pub refunds: Vec<Refund>,
    pub attempts: Vec<Attempt>,
    #[serde(with = "crate::time_format")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::time_format")]
    pub updated_at: DateTime<Utc>,
    /// Incremented on every stored change; updates are conditional on it.
    pub version: u64,
    /// When the gateway reported the boleto/Pix past due while it stays payable (Asaas
    /// `PAYMENT_OVERDUE`); a later payment still succeeds it.
    #[serde(default, with = "crate::time_format::opt")]
    pub overdue_at: Option<DateTime<Utc>>,
    /// The gateway events (dedupe ids) that changed this payment, newest last, at most
    /// [`MAX_APPLIED_EVENTS`]: a redelivered event is recognized even where the status table
    /// would allow the move again (`processing` ↔ `requires_action`).
    #[serde(default)]
    pub applied_events: Vec<String>,
    /// How many gateway webhooks changed this payment (each counted once: a redelivery is
    /// recognized by `applied_events`); the usage counters read it.
    #[serde(default)]
    pub webhooks_applied: u32,
    /// The account that made the charge (mode and credentials). `None` on payments stored
    /// before accounts were pinned, and on a create that reached no gateway; see
    /// `Orchestrator::resolve_for_payment` for how those are resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<GatewayAccount>,
    /// Money the gateway confirmed after a final non-success status (see [`LatePayment`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_payment: Option<LatePayment>,
    /// The gateway's fee and the net amount it credits, in minor units, as a reconciliation
    /// listing reported them (Asaas `value − netValue`); `None` where no listing said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<i64>,
}

impl Payment {
    /// Sums of the refunds that succeeded and of those still pending, in minor units.
    pub fn refund_totals(&self) -> (i64, i64) {
        self.refunds
            .iter()
            .fold((0, 0), |(done, pending), r| match r.status {
                RefundStatus::Succeeded => (done + r.amount, pending),
                RefundStatus::Pending => (done, pending + r.amount),
                RefundStatus::Failed => (done, pending),
            })
    }

    /// What can still be refunded: the amount less succeeded and pending refunds (a pending
    /// refund holds its amount until it fails).
    pub fn refundable(&self) -> i64 {
        let (done, pending) = self.refund_totals();
        self.amount.minor() - done - pending
    }

    /// Derives `refunded_amount` from the refund records (the sum of succeeded ones) and the
    /// refund-driven status from it. Statuses only move forward: a payment that is not yet
    /// succeeded is left alone, and `refunded` is final.
    pub fn settle_refunds(&mut self) {
        let (done, _) = self.refund_totals();
        self.refunded_amount = done;
        let target = if done >= self.amount.minor() {
            PaymentStatus::Refunded
        } else if done > 0 {
            PaymentStatus::PartiallyRefunded
        } else {
            return;
        };
        if self.status != target && self.status.can_move_to(target) {
            self.status = target;
        }
    }
}

impl Payment {
    /// Whether money reported for this payment now would be late: its status is final and not
    /// a success (`failed`, `canceled`, `expired`), and no late payment is recorded yet.
    pub fn takes_late_payment(&self) -> bool {
        matches!(
            self.status,
            PaymentStatus::Failed | PaymentStatus::Canceled | PaymentStatus::Expired
        ) && self.late_payment.is_none()
    }

    /// Whether the payment was made in live mode: its pinned account's mode; for a payment
    /// stored before accounts were pinned, its partition's (a test twin's payments are test).
    pub fn livemode(&self) -> bool {
        match &self.account {
            Some(a) => a.mode == super::AccountMode::Live,
            None => !self.tenant_id.is_test(),
        }
    }
}

/// Where a refund may go next: only a pending refund settles, and a settled one never changes
/// (a late or duplicated report is ignored), so a refunded amount never shrinks.
pub fn refund_can_move(from: RefundStatus, to: RefundStatus) -> bool {
    from == RefundStatus::Pending && to != RefundStatus::Pending
}

#[derive(Serialize, Deserialize)]
struct RawMoney {
    amount: i64,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawMoney {
            amount: self.minor(),
            currency: self.currency(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawMoney::deserialize(d)?;
        Money::new(raw.amount, raw.currency).map_err(serde::de::Error::custom)
    }
}
