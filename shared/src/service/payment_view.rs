//! The public payment object (DESIGN §4): the body of create/get responses and the `data` of
//! every callback. Internal fields (tenant, version, customer PII, callback URL) stay out.

use crate::domain::{
    Attempt, BoletoDetails, Failure, LateSource, NextAction, Payment, PixDetails, Refund,
    RefundStatus,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// A borrowed, serializable view of a payment in the public field order.
#[derive(Serialize)]
pub struct PaymentView<'a> {
    id: &'a str,
    /// `true` for a live-mode payment, `false` for a test-mode one.
    livemode: bool,
    status: &'a str,
    amount: i64,
    currency: &'a str,
    method: &'a str,
    gateway: Option<&'a str>,
    gateway_payment_id: Option<&'a str>,
    reference: Option<&'a str>,
    description: Option<&'a str>,
    metadata: &'a BTreeMap<String, String>,
    pix: Option<&'a PixDetails>,
    boleto: Option<&'a BoletoDetails>,
    next_action: Option<&'a NextAction>,
    failure: Option<&'a Failure>,
    refunded_amount: i64,
    refunds: &'a [Refund],
    overdue_at: Option<String>,
    /// Money the gateway confirmed after a final non-success status; `null` otherwise.
    late_payment: Option<LatePaymentView<'a>>,
    /// The gateway's fee and the net it credits (minor units), once a reconciliation listing
    /// reported them; `null` until then.
    fee: Option<i64>,
    net: Option<i64>,
    attempts: &'a [Attempt],
    created_at: String,
    updated_at: String,
    /// Incremented on every change: of two events about one payment, the higher version is newer.
    version: u64,
}

/// The public form of a [`crate::domain::LatePayment`].
#[derive(Serialize)]
pub struct LatePaymentView<'a> {
    amount: i64,
    currency: &'a str,
    gateway_payment_id: &'a str,
    source: LateSource,
    received_at: String,
}

/// The public view of a payment.
pub fn view(p: &Payment) -> PaymentView<'_> {
    PaymentView {
        id: p.id.as_str(),
        livemode: p.livemode(),
        status: p.status.as_str(),
        amount: p.amount.minor(),
        currency: p.amount.currency().code(),
        method: p.method.as_str(),
        gateway: p.gateway.as_deref(),
        gateway_payment_id: p.gateway_payment_id.as_deref(),
        reference: p.reference.as_deref(),
        description: p.description.as_deref(),
        metadata: &p.metadata,
        pix: p.pix.as_ref(),
        boleto: p.boleto.as_ref(),
        next_action: p.next_action.as_ref(),
        failure: p.failure.as_ref(),
        refunded_amount: p.refunded_amount,
        refunds: &p.refunds,
        overdue_at: p.overdue_at.as_ref().map(crate::time_format::render),
        late_payment: p.late_payment.as_ref().map(|l| LatePaymentView {
            amount: l.amount,
            currency: p.amount.currency().code(),
            gateway_payment_id: &l.gateway_payment_id,
            source: l.source,
            received_at: crate::time_format::render(&l.received_at),
        }),
        fee: p.fee,
        net: p.net,
        attempts: &p.attempts,
        created_at: crate::time_format::render(&p.created_at),
        updated_at: crate::time_format::render(&p.updated_at),
        version: p.version,
    }
}

/// The payment as a JSON string, fields in the documented order.
pub fn render_payment(p: &Payment) -> String {
    serde_json::to_string(&view(p)).unwrap_or_else(|_| "{}".into())
}

/// The public refund object: the answer of `POST /v1/payments/{id}/refunds` and the `data` of
/// `refund.*` events, with the payment as it stands after the refund.
#[derive(Serialize)]
pub struct RefundView<'a> {
    id: &'a str,
    object: &'static str,
    livemode: bool,
    payment_id: &'a str,
    amount: i64,
    currency: &'a str,
    status: RefundStatus,
    gateway_refund_id: Option<&'a str>,
    reason: Option<&'a str>,
    created_at: String,
    payment: PaymentView<'a>,
}

/// The public view of refund `r` of payment `p`.
pub fn refund_view<'a>(p: &'a Payment, r: &'a Refund) -> RefundView<'a> {
    RefundView {
        id: &r.id,
        object: "refund",
        livemode: p.livemode(),
        payment_id: p.id.as_str(),
        amount: r.amount,
        currency: p.amount.currency().code(),
        status: r.status,
        gateway_refund_id: r.gateway_refund_id.as_deref(),
        reason: r.reason.as_deref(),
        created_at: crate::time_format::render(&r.created_at),
        payment: view(p),
    }
}
