//! Stripe wire types and their mapping to and from the domain: form fields for a create, the
//! PaymentIntent and error bodies, and the error classification table.

use crate::domain::{
    BoletoDetails, ChargeAmountError, Money, NextAction, PaymentMethod, PaymentStatus, PixDetails,
    RefundStatus,
};
use crate::gateways::keys::refund_id_from_key;
use crate::ports::{ChargeRequest, ErrorClass, GatewayCharge, GatewayError, RefundRequest};
use serde::Deserialize;

/// Form fields of `POST /v1/payment_intents` (create and confirm in one call).
pub fn create_form(req: &ChargeRequest) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = vec![
        ("amount".into(), req.amount.minor().to_string()),
        (
            "currency".into(),
            req.amount.currency().code().to_ascii_lowercase(),
        ),
        ("confirm".into(), "true".into()),
        ("metadata[payment_id]".into(), req.payment_id.to_string()),
    ];
    if let Some(d) = &req.description {
        f.push(("description".into(), d.clone()));
    }
    match req.method {
        PaymentMethod::Card => {
            f.push(("payment_method_types[]".into(), "card".into()));
            if let Some(t) = &req.card_token {
                f.push(("payment_method".into(), t.clone()));
            }
        }
        PaymentMethod::Pix | PaymentMethod::Boleto => {
            let kind = req.method.as_str();
            f.push(("payment_method_types[]".into(), kind.into()));
            f.push(("payment_method_data[type]".into(), kind.into()));
            // Without it Stripe's Pix default applies (a day).
            if let (PaymentMethod::Pix, Some(secs)) = (req.method, req.expires_in) {
                f.push((
                    "payment_method_options[pix][expires_after_seconds]".into(),
                    secs.to_string(),
                ));
            }
            if let Some(c) = &req.customer {
                f.push((
                    "payment_method_data[billing_details][name]".into(),
                    c.name.clone(),
                ));
                if let Some(e) = &c.email {
                    f.push((
                        "payment_method_data[billing_details][email]".into(),
                        e.clone(),
                    ));
                }
                if let (PaymentMethod::Boleto, Some(doc)) = (req.method, &c.document) {
                    f.push((
                        "payment_method_data[boleto][tax_id]".into(),
                        doc.as_str().to_string(),
                    ));
                }
            }
        }
    }
    f
}

/// The PaymentIntent fields the orchestrator reads.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: String,
    /// Minor units of `currency`, as Stripe recorded them: checked against the request.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Lowercase ISO code (`brl`), as Stripe recorded it: checked against the request.
    #[serde(default)]
    pub currency: Option<String>,
    /// Unix seconds; the oldest intent of a payment is the one a look-up reports.
    #[serde(default)]
    pub created: Option<i64>,
    /// `metadata[payment_id]` and whatever else the intent carries.
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub next_action: Option<WireNextAction>,
    #[serde(default)]
    pub last_payment_error: Option<StripeError>,
    /// `["card"]`, `["pix"]`, `["boleto"]`: the method a listed intent was made for.
    #[serde(default)]
    pub payment_method_types: Option<Vec<String>>,
    /// An id, or (a listing expands it) the charge with its balance transaction, whose `fee`
    /// and `net` reconciliation stores. Read leniently: anything else is no fee.
    #[serde(default)]
    pub latest_charge: Option<serde_json::Value>,
}

/// One page of `GET /v1/payment_intents` (a list object).
#[derive(Debug, Clone, Deserialize)]
pub struct IntentList {
    pub data: Vec<PaymentIntent>,
    #[serde(default)]
    pub has_more: bool,
}

/// A listed intent, for reconciliation: our reference, amount, currency, method and creation
/// time as Stripe recorded them, and the fee and net of its charge's balance transaction when
/// the listing expanded it (a paid intent; the others have none yet).
pub fn to_listed(pi: PaymentIntent) -> crate::ports::ListedCharge {
    let payment_id = crate::gateways::keys::payment_id_from_echo(payment_id_of(&pi));
    let amount_minor = pi.amount;
    let currency = pi.currency.as_deref().and_then(|c| {
        c.to_ascii_uppercase()
            .parse::<crate::domain::Currency>()
            .ok()
    });
    let method = pi
        .payment_method_types
        .as_ref()
        .and_then(|t| t.first())
        .and_then(|t| match t.as_str() {
            "card" => Some(PaymentMethod::Card),
            "pix" => Some(PaymentMethod::Pix),
            "boleto" => Some(PaymentMethod::Boleto),
            _ => None,
        });
    let created_at = pi
        .created
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    // A fee is in the balance transaction's (settlement) currency: kept only when that is the
    // charge's own, so it is never read in the wrong unit.
    let bt = pi
        .latest_charge
        .as_ref()
        .and_then(|c| c.get("balance_transaction"))
        .filter(|b| b.is_object())
        .filter(|b| {
            let c = b.get("currency").and_then(serde_json::Value::as_str);
            c.is_some()
                && c.map(str::to_ascii_lowercase)
                    == pi.currency.as_deref().map(str::to_ascii_lowercase)
        });
    let minor = |k: &str| {
        bt.and_then(|b| b.get(k))
            .and_then(serde_json::Value::as_i64)
    };
    let (fee, net) = match (minor("fee"), minor("net")) {
        (Some(f), Some(n)) => (Some(f), Some(n)),
        _ => (None, None),
    };
    crate::ports::ListedCharge {
        charge: to_charge(pi),
        payment_id,
        amount_minor,
        currency,
        method,
        created_at,
        fee,
        net,
    }
}

/// `next_action`: a redirect (3DS), a Pix QR code, or boleto details.
#[derive(Debug, Clone, Deserialize)]
pub struct WireNextAction {
    #[serde(rename = "type")]
    pub kind: String,
    pub redirect_to_url: Option<RedirectToUrl>,
    pub pix_display_qr_code: Option<PixQr>,
    pub boleto_display_details: Option<BoletoDisplay>,
}

/// 3DS or other redirect.
#[derive(Debug, Clone, Deserialize)]
pub struct RedirectToUrl {
    pub url: String,
}

/// Pix instructions.
#[derive(Debug, Clone, Deserialize)]
pub struct PixQr {
    pub data: String,
    pub image_url_png: Option<String>,
    pub expires_at: Option<i64>,
}

/// Boleto instructions.
#[derive(Debug, Clone, Deserialize)]
pub struct BoletoDisplay {
    pub number: String,
    pub hosted_voucher_url: Option<String>,
    pub expires_at: Option<i64>,
}

/// A Refund object.
#[derive(Debug, Clone, Deserialize)]
pub struct WireRefund {
    pub id: String,
    pub status: String,
}

/// Refund `status` → refund status. `requires_action` waits on the customer, so it is pending
/// like `pending`; `canceled` moved no money, so it failed like `failed`. One table for the
/// client's answer and the webhooks, so both report a refund the same way.
pub const REFUND_STATUSES: &[(&str, RefundStatus)] = &[
    ("pending", RefundStatus::Pending),
    ("requires_action", RefundStatus::Pending),
    ("succeeded", RefundStatus::Succeeded),
    ("failed", RefundStatus::Failed),
    ("canceled", RefundStatus::Failed),
];

/// A Refund `status` as a refund status. A status newer than this code is pending: it is not
/// known to have moved money or to have failed, and a later event settles it.
pub fn refund_status(status: &str) -> RefundStatus {
    REFUND_STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or(RefundStatus::Pending, |(_, to)| *to)
}

/// The client's view of a created refund.
pub fn to_refund(r: WireRefund) -> crate::ports::GatewayRefund {
    crate::ports::GatewayRefund {
        status: refund_status(&r.status),
        gateway_refund_id: r.id,
    }
}

/// Form fields of `POST /v1/refunds`. `metadata[refund_id]` is our refund id (`ref_<ulid>`,
/// from the refund key `REF<ulid>`), so a `refund.*` webhook names our refund even when the
/// answer to this call was lost and its `re_…` id never stored. A key of another shape (none
/// the service makes) sends no metadata rather than a value no webhook could read.
pub fn refund_form(req: &RefundRequest) -> Vec<(String, String)> {
    let mut f = vec![
        ("payment_intent".to_string(), req.gateway_payment_id.clone()),
        ("amount".to_string(), req.amount.minor().to_string()),
    ];
    if let Some(id) = refund_id_from_key(&req.refund_key) {
        f.push(("metadata[refund_id]".to_string(), id));
    }
    f
}

/// `{"error": {...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    pub error: StripeError,
}

/// Stripe's error object.
#[derive(Debug, Clone, Deserialize)]
pub struct StripeError {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: Option<String>,
}

/// PaymentIntent status → payment status. A Pix or boleto intent waiting on the payer is
/// `requires_action` at Stripe but `pending` here (the payer pays out of band).
pub fn status_of(pi: &PaymentIntent) -> PaymentStatus {
    let payer_document = pi
        .next_action
        .as_ref()
        .is_some_and(|n| n.pix_display_qr_code.is_some() || n.boleto_display_details.is_some());
    match pi.status.as_str() {
        "succeeded" => PaymentStatus::Succeeded,
        "processing" | "requires_capture" => PaymentStatus::Processing,
        "requires_action" if payer_document => PaymentStatus::Pending,
        "requires_action" => PaymentStatus::RequiresAction,
        "canceled" => PaymentStatus::Canceled,
        "requires_payment_method" if pi.last_payment_error.is_some() => PaymentStatus::Failed,
        _ => PaymentStatus::Pending,
    }
}

/// Refuses an intent whose amount or currency is not the one asked for (or is missing): a
/// charge for another sum must never be reported as this payment's. Ambiguous, like the amount
/// checks of Asaas and EFI: something exists at Stripe, and it is not what was requested.
pub fn check_amount(pi: &PaymentIntent, expected: Money) -> Result<(), GatewayError> {
    let currency_ok = pi
        .currency
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case(expected.currency().code()));
    if pi.amount == Some(expected.minor()) && currency_ok {
        return Ok(());
    }
    let shown = |v: Option<String>| v.unwrap_or_else(|| "none".into());
    Err(GatewayError {
        class: ErrorClass::Ambiguous,
        code: ChargeAmountError::CODE.into(),
        message: format!(
            "Stripe PaymentIntent {} is for {} {} instead of {} {}",
            pi.id,
            shown(pi.amount.map(|a| a.to_string())),
            shown(pi.currency.clone()),
            expected.minor(),
            expected.currency().code().to_ascii_lowercase()
        ),
    })
}

/// The intent's `metadata[payment_id]`, when it carries one.
pub fn payment_id_of(pi: &PaymentIntent) -> Option<&str> {
    pi.metadata
        .as_ref()
        .and_then(|m| m.get("payment_id"))
        .and_then(|v| v.as_str())
}

/// The normalized charge.
pub fn to_charge(pi: PaymentIntent) -> GatewayCharge {
    let status = status_of(&pi);
    let na = pi.next_action;
    let ts = |t: Option<i64>| t.and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    GatewayCharge {
        gateway_payment_id: pi.id,
        status,
        pix: na
            .as_ref()
            .and_then(|n| n.pix_display_qr_code.as_ref())
            .map(|q| PixDetails {
                copy_paste: q.data.clone(),
                qr_code_png_base64: None,
                expires_at: ts(q.expires_at),
            }),
        boleto: na
            .as_ref()
            .and_then(|n| n.boleto_display_details.as_ref())
            .map(|b| BoletoDetails {
                url: b.hosted_voucher_url.clone().unwrap_or_default(),
                barcode: b.number.clone(),
                due_date: ts(b.expires_at).map(|t| t.format("%Y-%m-%d").to_string()),
            }),
        next_action: na
            .as_ref()
            .and_then(|n| n.redirect_to_url.as_ref())
            .map(|r| NextAction {
                kind: "redirect".into(),
                url: r.url.clone(),
            }),
        // Stripe's webhooks are signed: no refund report needs the read to confirm it.
        refunded_minor: None,
    }
}

/// The classification table for an HTTP error answer to a create. `should_retry` is the
/// `Stripe-Should-Retry` header. The rows, in order:
///
/// | status | class | why |
/// |---|---|---|
/// | 402 | declined | card_error: the issuer said no; never counts against Stripe |
/// | 400, 404 | invalid | request rejected before execution (idempotency_error included) |
/// | 401, 403 | misconfigured | key refused |
/// | 429 | unavailable | rate limited: nothing was executed |
/// | 409 | ambiguous | the same key is still executing: a charge may be on its way |
/// | 5xx, others | ambiguous | execution may have begun (Stripe replays 500s for the key) |
pub fn classify(
    status: u16,
    body: Option<&StripeError>,
    should_retry: Option<bool>,
) -> GatewayError {
    let class = match status {
        402 => ErrorClass::Declined,
        400 | 404 => ErrorClass::Invalid,
        401 | 403 => ErrorClass::Misconfigured,
        429 => ErrorClass::Unavailable,
        _ => ErrorClass::Ambiguous,
    };
    let code = body
        .and_then(|e| e.decline_code.clone().or_else(|| e.code.clone()))
        .unwrap_or_else(|| format!("http_{status}"));
    let mut message = body
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| format!("Stripe answered HTTP {status}"));
    if should_retry == Some(false) && class == ErrorClass::Ambiguous {
        message.push_str(" (Stripe-Should-Retry: false)");
    }
    GatewayError {
        class,
        code,
        message,
    }
}

pub use crate::gateways::http_errors::classify_transport;

#[cfg(test)]
mod tests {
    use super::*;

    fn pi(status: &str, na: Option<serde_json::Value>, err: bool) -> PaymentIntent {
        let mut v = serde_json::json!({"id": "pi_1", "status": status});
        if let Some(n) = na {
            v["next_action"] = n;
        }
        if err {
            v["last_payment_error"] =
                serde_json::json!({"type": "card_error", "code": "card_declined"});
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn status_table() {
        assert_eq!(
            status_of(&pi("succeeded", None, false)),
            PaymentStatus::Succeeded
        );
        assert_eq!(
            status_of(&pi("processing", None, false)),
            PaymentStatus::Processing
        );
        assert_eq!(
            status_of(&pi("canceled", None, false)),
            PaymentStatus::Canceled
        );
        assert_eq!(
            status_of(&pi("requires_payment_method", None, false)),
            PaymentStatus::Pending
        );
        assert_eq!(
            status_of(&pi("requires_payment_method", None, true)),
            PaymentStatus::Failed
        );
        let redirect = serde_json::json!({"type": "redirect_to_url", "redirect_to_url": {"url": "https://3ds"}});
        assert_eq!(
            status_of(&pi("requires_action", Some(redirect), false)),
            PaymentStatus::RequiresAction
        );
        let pix = serde_json::json!({"type": "pix_display_qr_code", "pix_display_qr_code": {"data": "000201", "expires_at": 1795262400}});
        let c = to_charge(pi("requires_action", Some(pix), false));
        assert_eq!(c.status, PaymentStatus::Pending);
        assert_eq!(c.pix.unwrap().copy_paste, "000201");
    }

    #[test]
    fn error_table() {
        let e = |kind: &str, code: &str| StripeError {
            kind: Some(kind.into()),
            code: Some(code.into()),
            decline_code: None,
            message: None,
        };
        let declined = StripeError {
            decline_code: Some("insufficient_funds".into()),
            ..e("card_error", "card_declined")
        };
        assert_eq!(
            classify(402, Some(&declined), None).class,
            ErrorClass::Declined
        );
        assert_eq!(
            classify(402, Some(&declined), None).code,
            "insufficient_funds"
        );
        assert_eq!(
            classify(
                400,
                Some(&e("invalid_request_error", "parameter_missing")),
                None
            )
            .class,
            ErrorClass::Invalid
        );
        assert_eq!(
            classify(
                400,
                Some(&e("idempotency_error", "idempotency_key_in_use")),
                None
            )
            .class,
            ErrorClass::Invalid
        );
        assert_eq!(classify(401, None, None).class, ErrorClass::Misconfigured);
        assert_eq!(classify(403, None, None).class, ErrorClass::Misconfigured);
        assert_eq!(
            classify(429, Some(&e("invalid_request_error", "rate_limit")), None).class,
            ErrorClass::Unavailable
        );
        assert_eq!(classify(409, None, Some(true)).class, ErrorClass::Ambiguous);
        assert_eq!(
            classify(500, None, Some(false)).class,
            ErrorClass::Ambiguous
        );
        assert_eq!(classify(503, None, None).code, "http_503");
    }

    #[test]
    fn amount_and_currency_must_both_match() {
        use crate::domain::Currency;
        let pi = |amount: Option<i64>, currency: Option<&str>| {
            let mut v = serde_json::json!({"id": "pi_1", "status": "succeeded"});
            if let Some(a) = amount {
                v["amount"] = a.into();
            }
            if let Some(c) = currency {
                v["currency"] = c.into();
            }
            serde_json::from_value::<PaymentIntent>(v).unwrap()
        };
        let brl = Money::new(1000, Currency::BRL).unwrap();
        assert_eq!(check_amount(&pi(Some(1000), Some("brl")), brl), Ok(()));
        for (amount, currency) in [
            (Some(1000), Some("jpy")),
            (Some(1001), Some("brl")),
            (None, Some("brl")),
            (Some(1000), None),
        ] {
            let e = check_amount(&pi(amount, currency), brl).unwrap_err();
            assert_eq!(
                (e.class, e.code.as_str()),
                (ErrorClass::Ambiguous, ChargeAmountError::CODE)
            );
        }
        let jpy = Money::new(1000, Currency::JPY).unwrap();
        assert_eq!(check_amount(&pi(Some(1000), Some("jpy")), jpy), Ok(()));
    }

    #[test]
    fn form_has_amount_in_minor_units_and_lowercase_currency() {
        use crate::domain::{Currency, Money, PaymentId};
        let req = ChargeRequest {
            payment_id: PaymentId::generate(),
            gateway_key: "PAYX".into(),
            amount: Money::new(1_999_999_999, Currency::BRL).unwrap(),
            method: PaymentMethod::Card,
            customer: None,
            description: None,
            card_token: Some("pm_card_visa".into()),
            expires_in: None,
        };
        let f = create_form(&req);
        assert!(f.contains(&("amount".into(), "1999999999".into())));
        assert!(f.contains(&("currency".into(), "brl".into())));
        assert!(f.contains(&("payment_method".into(), "pm_card_visa".into())));
        let expiry = "payment_method_options[pix][expires_after_seconds]";
        assert!(!f.iter().any(|(k, _)| k == expiry));
        let pix = ChargeRequest {
            method: PaymentMethod::Pix,
            card_token: None,
            expires_in: Some(900),
            ..req
        };
        assert!(create_form(&pix).contains(&(expiry.into(), "900".into())));
        let default = ChargeRequest {
            expires_in: None,
            ..pix
        };
        assert!(!create_form(&default).iter().any(|(k, _)| k == expiry));
    }

    #[test]
    fn refund_form_names_our_refund_id() {
        use crate::domain::{Currency, Money};
        let req = |key: &str| RefundRequest {
            gateway_payment_id: "pi_1".into(),
            method: PaymentMethod::Card,
            refund_key: key.into(),
            amount: Money::new(2500, Currency::BRL).unwrap(),
        };
        let f = refund_form(&req("REF01J9ZQ4M3K8D2B6X7Y5W0V1T2S"));
        assert_eq!(
            f,
            vec![
                ("payment_intent".to_string(), "pi_1".to_string()),
                ("amount".to_string(), "2500".to_string()),
                (
                    "metadata[refund_id]".to_string(),
                    "ref_01J9ZQ4M3K8D2B6X7Y5W0V1T2S".to_string()
                ),
            ]
        );
        // A key of another shape sends no metadata a webhook could not read anyway.
        assert!(!refund_form(&req("REF1"))
            .iter()
            .any(|(k, _)| k.starts_with("metadata")));
    }

    #[test]
    fn refund_status_table() {
        for (s, want) in REFUND_STATUSES {
            assert_eq!(refund_status(s), *want);
        }
        assert_eq!(refund_status("some_new_status"), RefundStatus::Pending);
    }
}
