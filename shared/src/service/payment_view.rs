//! The public payment object (DESIGN §4): the body of create/get responses and the `data` of
//! every callback. Internal fields (tenant, customer PII, callback URL) stay out — except that
//! the tenant's own read of one payment asked with `?expand=customer` names the customer, with
//! the document masked (`render_payment_with_customer`): an operator looking at a payment needs
//! to know whose it is, while lists and callbacks, copied into logs and queues, carry no PII.

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

/// The customer as the tenant's read of one payment shows it: name, email, and the document
/// with only its first three and last two characters (`529.***.***-25`, `11.***.***/****-81`).
#[derive(Serialize)]
struct CustomerView<'a> {
    name: &'a str,
    email: Option<&'a str>,
    document_type: Option<&'static str>,
    document_masked: Option<String>,
}

/// `529.***.***-25` for a CPF, `11.***.***/****-81` for a CNPJ.
fn mask_document(d: &crate::domain::Document) -> String {
    let s: Vec<char> = d.as_str().chars().collect();
    let head: String = s.iter().take(if d.is_cpf() { 3 } else { 2 }).collect();
    let tail: String = s.iter().skip(s.len().saturating_sub(2)).collect();
    if d.is_cpf() {
        format!("{head}.***.***-{tail}")
    } else {
        format!("{head}.***.***/****-{tail}")
    }
}

/// [`render_payment`] plus `customer` (or `null`): `GET /v1/payments/{id}?expand=customer`.
pub fn render_payment_with_customer(p: &Payment) -> String {
    #[derive(Serialize)]
    struct WithCustomer<'a> {
        #[serde(flatten)]
        payment: PaymentView<'a>,
        customer: Option<CustomerView<'a>>,
    }
    let customer = p.customer.as_ref().map(|c| CustomerView {
        name: &c.name,
        email: c.email.as_deref(),
        document_type: c
            .document
            .as_ref()
            .map(|d| if d.is_cpf() { "cpf" } else { "cnpj" }),
        document_masked: c.document.as_ref().map(mask_document),
    });
    serde_json::to_string(&WithCustomer {
        payment: view(p),
        customer,
    })
    .unwrap_or_else(|_| "{}".into())
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

#[cfg(test)]
mod customer_tests {
    use super::mask_document;
    use crate::domain::Document;

    #[test]
    fn documents_are_masked_to_their_ends() {
        let cpf = Document::parse("529.982.247-25").expect("valid CPF");
        assert_eq!(mask_document(&cpf), "529.***.***-25");
        let cnpj = Document::parse("11.222.333/0001-81").expect("valid CNPJ");
        assert_eq!(mask_document(&cnpj), "11.***.***/****-81");
    }
}
