//! Asaas wire types and mappings. `value` is a JSON number in reais: it is written and read as
//! raw JSON number text and converted with the exact decimal parser, so no f64 ever holds it.

use crate::domain::{
    format_decimal, parse_decimal, BoletoDetails, Currency, Money, PaymentMethod, PaymentStatus,
    PixDetails, RefundStatus,
};
use crate::ports::{ErrorClass, GatewayCharge, GatewayError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A JSON number written exactly as `format_decimal` renders it.
pub fn json_decimal(minor: i64) -> Result<Box<RawValue>, serde_json::Error> {
    RawValue::from_string(format_decimal(minor, 2))
}

/// Reads a JSON number (or numeric string) in reais into centavos, exactly.
pub fn read_decimal(raw: &RawValue) -> Option<i64> {
    let text = raw.get().trim().trim_matches('"');
    // Asaas may send 100.9 or 100.90 or 100; more than 2 decimals never carries centavos.
    parse_decimal(text, 2)
}

/// `POST /v3/customers`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewCustomer<'a> {
    pub name: &'a str,
    pub cpf_cnpj: &'a str,
    pub email: Option<&'a str>,
    pub notification_disabled: bool,
}

/// `POST /v3/payments`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewPayment<'a> {
    pub customer: &'a str,
    pub billing_type: &'static str,
    pub value: Box<RawValue>,
    pub due_date: String,
    pub description: Option<&'a str>,
    pub external_reference: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_card_token: Option<&'a str>,
}

/// The billing type for a method.
pub fn billing_type(m: PaymentMethod) -> &'static str {
    match m {
        PaymentMethod::Pix => "PIX",
        PaymentMethod::Boleto => "BOLETO",
        PaymentMethod::Card => "CREDIT_CARD",
    }
}

/// `dueDate` of a new payment, from `today` (a date is all Asaas takes): boleto 3 days, card
/// 1 day; Pix 1 day, or with `expires_in` seconds `ceil(expires_in / 86 400)` days — rounded
/// up, since Asaas keeps a payment payable until the end of its due date, so the payer gets at
/// least `expires_in` (up to a day more) before it turns `OVERDUE`.
pub fn due_date(
    method: PaymentMethod,
    expires_in: Option<u32>,
    today: chrono::NaiveDate,
) -> chrono::NaiveDate {
    let days = match (method, expires_in) {
        (PaymentMethod::Boleto, _) => 3,
        (PaymentMethod::Pix, Some(secs)) => u64::from(secs).div_ceil(86_400).max(1),
        _ => 1,
    };
    today
        .checked_add_days(chrono::Days::new(days))
        .unwrap_or(today)
}

/// List envelope of `GET /v3/customers` and `GET /v3/payments`.
#[derive(Debug, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default, rename = "hasMore")]
    pub has_more: bool,
}

/// A customer (only the id matters).
#[derive(Debug, Deserialize)]
pub struct Customer {
    pub id: String,
}

/// A payment (cobrança).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub id: String,
    pub status: String,
    pub value: Box<RawValue>,
    #[serde(default)]
    pub bank_slip_url: Option<String>,
    #[serde(default)]
    pub identification_field: Option<String>,
    #[serde(default)]
    pub nosso_numero: Option<String>,
    #[serde(default)]
    pub invoice_url: Option<String>,
    #[serde(default)]
    pub due_date: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub refunds: Option<Vec<WireRefund>>,
    /// Our payment id (set on create); read by look-ups and listings.
    #[serde(default)]
    pub external_reference: Option<String>,
    /// `PIX`, `BOLETO`, `CREDIT_CARD`.
    #[serde(default)]
    pub billing_type: Option<String>,
    /// What Asaas credits after its fee (a decimal, like `value`).
    #[serde(default)]
    pub net_value: Option<Box<RawValue>>,
    /// `YYYY-MM-DD`, São Paulo's date.
    #[serde(default)]
    pub date_created: Option<String>,
}

/// One entry of a payment's `refunds`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRefund {
    /// Not in the documented examples; used when Asaas sends one (see [`entry_id`]).
    #[serde(default)]
    pub id: serde_json::Value,
    pub status: String,
    pub description: Option<String>,
    pub date_created: Option<String>,
    /// The refunded amount (a decimal, like the payment's `value`).
    #[serde(default)]
    pub value: Option<Box<RawValue>>,
}

/// What the payment shows refunded (`DONE` entries, centavos): 0 with no `refunds`; `None`
/// when a done entry's amount cannot be read (then the read says nothing of refunds).
pub fn refunded_minor(p: &Payment) -> Option<i64> {
    let mut total: i64 = 0;
    for r in p.refunds.iter().flatten() {
        if refund_status(&r.status) != RefundStatus::Succeeded {
            continue;
        }
        total = total.checked_add(r.value.as_deref().and_then(read_decimal)?)?;
    }
    Some(total)
}

/// `POST /v3/payments/{id}/refund`.
#[derive(Debug, Serialize)]
pub struct NewRefund<'a> {
    pub value: Box<RawValue>,
    pub description: &'a str,
}

/// Refund entry `status` → refund status. `CANCELLED` moved no money. One table for the
/// client's answer and the webhooks, so both report a refund the same way.
pub const REFUND_STATUSES: &[(&str, RefundStatus)] = &[
    ("PENDING", RefundStatus::Pending),
    ("DONE", RefundStatus::Succeeded),
    ("CANCELLED", RefundStatus::Failed),
];

/// A refund entry's status. One this table lacks is pending: not known to have moved money or
/// to have failed, and a later event settles it.
pub fn refund_status(status: &str) -> RefundStatus {
    REFUND_STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or(RefundStatus::Pending, |(_, to)| *to)
}

/// A refund entry's own `id`, if it has a usable one. Undocumented, so read leniently: text or
/// a number; anything else (absent, null, empty) is none, never a failed read.
pub fn entry_id(id: &serde_json::Value) -> Option<String> {
    match id {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The gateway refund id of a refund we made, when Asaas gives the entry no `id`: the payment
/// id plus our refund key (its description). The client stores it and the webhooks report it,
/// so both name the refund alike.
pub fn keyed_refund_id(payment_id: &str, key: &str) -> String {
    format!("{payment_id}:{key}")
}

/// The refund with this key (carried as its description), if the payment lists it.
pub fn find_refund(p: &Payment, key: &str) -> Option<crate::ports::GatewayRefund> {
    p.refunds
        .iter()
        .flatten()
        .find(|r| r.description.as_deref() == Some(key))
        .map(|r| crate::ports::GatewayRefund {
            gateway_refund_id: entry_id(&r.id).unwrap_or_else(|| keyed_refund_id(&p.id, key)),
            status: refund_status(&r.status),
        })
}

/// `GET /v3/payments/{id}/pixQrCode`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PixQrCode {
    pub encoded_image: Option<String>,
    pub payload: String,
    pub expiration_date: Option<String>,
}

/// `{"errors": [{"code", "description"}]}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
}

/// One Asaas error.
#[derive(Debug, Deserialize)]
pub struct ErrorItem {
    pub code: Option<String>,
    pub description: Option<String>,
}

/// Asaas status → payment status.
pub fn status_of(status: &str) -> PaymentStatus {
    match status {
        "RECEIVED" | "CONFIRMED" | "RECEIVED_IN_CASH" | "REFUND_REQUESTED"
        | "REFUND_IN_PROGRESS" => PaymentStatus::Succeeded,
        "PENDING" => PaymentStatus::Pending,
        // Past due but still payable at Asaas: a later payment succeeds it.
        "OVERDUE" => PaymentStatus::Pending,
        "REFUNDED" => PaymentStatus::Refunded,
        _ => PaymentStatus::Processing,
    }
}

/// The normalized charge; the amount must match what was asked (exactly, in centavos, and in
/// reais: Asaas holds BRL only, so an expectation in any other currency never matches).
pub fn to_charge(
    p: Payment,
    qr: Option<PixQrCode>,
    expected: Option<Money>,
) -> Result<GatewayCharge, GatewayError> {
    if let Some(m) = expected {
        if m.currency() != Currency::BRL || read_decimal(&p.value) != Some(m.minor()) {
            return Err(GatewayError {
                class: ErrorClass::Ambiguous,
                code: crate::domain::ChargeAmountError::CODE.into(),
                message: format!(
                    "Asaas payment {} has value {} BRL instead of {} {}",
                    p.id,
                    p.value.get(),
                    m.to_decimal_string(),
                    m.currency().code()
                ),
            });
        }
    }
    let status = if p.deleted {
        PaymentStatus::Canceled
    } else {
        status_of(&p.status)
    };
    let refunded = refunded_minor(&p);
    let boleto = match (&p.bank_slip_url, &p.identification_field) {
        (Some(url), Some(line)) => Some(BoletoDetails {
            url: url.clone(),
            barcode: line.chars().filter(char::is_ascii_digit).collect(),
            due_date: p.due_date.clone(),
        }),
        _ => None,
    };
    let pix = qr.map(|q| PixDetails {
        copy_paste: q.payload,
        qr_code_png_base64: q.encoded_image,
        expires_at: q.expiration_date.as_deref().and_then(parse_local_time),
    });
    Ok(GatewayCharge {
        gateway_payment_id: p.id,
        status,
        pix,
        boleto,
        next_action: None,
        refunded_minor: refunded,
    })
}

/// A listed payment, for reconciliation: our reference, the amount (Asaas holds BRL only), the
/// method, the creation date (São Paulo midnight; Asaas lists by day) and the fee
/// (`value − netValue`) where Asaas reports the net. No QR code is read for a listing.
pub fn to_listed(p: Payment) -> crate::ports::ListedCharge {
    let amount_minor = read_decimal(&p.value);
    let net = p.net_value.as_deref().and_then(read_decimal);
    let fee = match (amount_minor, net) {
        (Some(v), Some(n)) => v.checked_sub(n),
        _ => None,
    };
    let method = match p.billing_type.as_deref() {
        Some("PIX") => Some(PaymentMethod::Pix),
        Some("BOLETO") => Some(PaymentMethod::Boleto),
        Some("CREDIT_CARD") => Some(PaymentMethod::Card),
        _ => None,
    };
    let created_at = p
        .date_created
        .as_deref()
        .and_then(|d| parse_local_time(&format!("{} 00:00:00", d.get(..10).unwrap_or(d))));
    let payment_id = crate::gateways::keys::payment_id_from_echo(p.external_reference.as_deref());
    let status = if p.deleted {
        PaymentStatus::Canceled
    } else {
        status_of(&p.status)
    };
    let boleto = match (&p.bank_slip_url, &p.identification_field) {
        (Some(url), Some(line)) => Some(BoletoDetails {
            url: url.clone(),
            barcode: line.chars().filter(char::is_ascii_digit).collect(),
            due_date: p.due_date.clone(),
        }),
        _ => None,
    };
    crate::ports::ListedCharge {
        charge: GatewayCharge {
            gateway_payment_id: p.id,
            status,
            pix: None,
            boleto,
            next_action: None,
            refunded_minor: None,
        },
        payment_id,
        amount_minor,
        currency: Some(Currency::BRL),
        method,
        created_at,
        fee,
        net,
    }
}

/// The charge as known before its Pix QR code could be read: it exists at Asaas, so it is
/// reported (never an error), but as `processing` since the payer has no instructions yet; a
/// later `retrieve` reads the QR code. The amount is checked as always.
pub fn to_charge_without_qr(
    p: Payment,
    expected: Option<Money>,
) -> Result<GatewayCharge, GatewayError> {
    let mut charge = to_charge(p, None, expected)?;
    if charge.pix.is_none() && charge.status == PaymentStatus::Pending {
        charge.status = PaymentStatus::Processing;
    }
    Ok(charge)
}

/// Asaas times are `YYYY-MM-DD HH:mm:ss` in São Paulo time (UTC−3, no DST since 2019). A time
/// too close to the end of chrono's range to shift is unknown, never an overflow panic.
fn parse_local_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok()?;
    naive
        .and_utc()
        .checked_add_signed(chrono::TimeDelta::try_hours(3)?)
}

/// The classification table for an HTTP error answer:
///
/// | status | class |
/// |---|---|
/// | 400 with a credit-card code | declined |
/// | 400, 404 | invalid |
/// | 401, 403 | misconfigured |
/// | 429 | unavailable |
/// | 5xx, 408, others | ambiguous |
pub fn classify(status: u16, body: Option<&ErrorBody>) -> GatewayError {
    let first = body.and_then(|b| b.errors.first());
    let code = first
        .and_then(|e| e.code.clone())
        .unwrap_or_else(|| format!("http_{status}"));
    let message = first
        .and_then(|e| e.description.clone())
        .unwrap_or_else(|| format!("Asaas answered HTTP {status}"));
    let class = match status {
        400 if code.to_ascii_lowercase().contains("creditcard") => ErrorClass::Declined,
        400 | 404 => ErrorClass::Invalid,
        401 | 403 => ErrorClass::Misconfigured,
        429 => ErrorClass::Unavailable,
        _ => ErrorClass::Ambiguous,
    };
    GatewayError {
        class,
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_date_rounds_expires_in_up_to_whole_days() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        assert_eq!(due_date(PaymentMethod::Pix, None, today), day(22));
        assert_eq!(due_date(PaymentMethod::Pix, Some(60), today), day(22));
        assert_eq!(due_date(PaymentMethod::Pix, Some(86_400), today), day(22));
        assert_eq!(due_date(PaymentMethod::Pix, Some(86_401), today), day(23));
        assert_eq!(due_date(PaymentMethod::Pix, Some(604_800), today), day(28));
        assert_eq!(due_date(PaymentMethod::Boleto, None, today), day(24));
        assert_eq!(due_date(PaymentMethod::Card, Some(604_800), today), day(22));
    }

    #[test]
    fn decimals_are_exact_both_ways() {
        for (minor, text) in [(29, "0.29"), (115, "1.15"), (1_999_999_999, "19999999.99")] {
            assert_eq!(json_decimal(minor).unwrap().get(), text);
            let raw = RawValue::from_string(text.into()).unwrap();
            assert_eq!(read_decimal(&raw), Some(minor));
        }
        let raw = RawValue::from_string("100.9".into()).unwrap();
        assert_eq!(read_decimal(&raw), Some(10090));
        let body = serde_json::to_string(&NewPayment {
            customer: "cus_1",
            billing_type: "PIX",
            value: json_decimal(1990).unwrap(),
            due_date: "2026-11-22".into(),
            description: None,
            external_reference: "pay_1",
            credit_card_token: None,
        })
        .unwrap();
        assert!(body.contains(r#""value":19.90"#), "{body}");
    }

    #[test]
    fn error_table() {
        let b = |code: &str| ErrorBody {
            errors: vec![ErrorItem {
                code: Some(code.into()),
                description: None,
            }],
        };
        assert_eq!(
            classify(400, Some(&b("invalid_creditCard"))).class,
            ErrorClass::Declined
        );
        assert_eq!(
            classify(400, Some(&b("invalid_value"))).class,
            ErrorClass::Invalid
        );
        assert_eq!(classify(401, None).class, ErrorClass::Misconfigured);
        assert_eq!(classify(429, None).class, ErrorClass::Unavailable);
        assert_eq!(classify(500, None).class, ErrorClass::Ambiguous);
        assert_eq!(
            classify(400, Some(&b("invalid_value"))).code,
            "invalid_value"
        );
    }

    #[test]
    fn status_table() {
        assert_eq!(status_of("RECEIVED"), PaymentStatus::Succeeded);
        assert_eq!(status_of("CONFIRMED"), PaymentStatus::Succeeded);
        assert_eq!(status_of("PENDING"), PaymentStatus::Pending);
        assert_eq!(status_of("OVERDUE"), PaymentStatus::Pending);
        assert_eq!(status_of("REFUNDED"), PaymentStatus::Refunded);
        assert_eq!(
            status_of("AWAITING_RISK_ANALYSIS"),
            PaymentStatus::Processing
        );
    }

    /// `expirationDate` comes from Asaas: shifting it to UTC must not overflow at the end of
    /// chrono's range.
    #[test]
    fn local_times_at_the_edge_of_the_range_do_not_panic() {
        assert_eq!(
            parse_local_time("2026-11-23 23:59:59").map(|t| t.to_rfc3339()),
            Some("2026-11-24T02:59:59+00:00".to_string())
        );
        for edge in [
            "262142-12-31 23:59:59",
            "+262142-12-31 23:59:59",
            "262143-12-31 23:59:59",
            "-262143-01-01 00:00:00",
            "not a date",
        ] {
            let _ = parse_local_time(edge);
        }
        assert_eq!(
            parse_local_time("+262142-12-31 23:59:59"),
            None,
            "three hours past chrono's last date: unknown"
        );
    }

    #[test]
    fn find_refund_names_a_refund_as_the_webhooks_do() {
        let p: Payment = serde_json::from_str(
            r#"{"id":"pay_1","status":"RECEIVED","value":10,"refunds":[
              {"status":"DONE","value":1,"description":"REFA"},
              {"id":"rf_9","status":"PENDING","value":2,"description":"REFB"},
              {"id":42,"status":"CANCELLED","value":3,"description":"REFC"}]}"#,
        )
        .unwrap();
        let got = |key| find_refund(&p, key).map(|r| (r.gateway_refund_id, r.status));
        assert_eq!(
            got("REFA"),
            Some(("pay_1:REFA".into(), RefundStatus::Succeeded))
        );
        assert_eq!(got("REFB"), Some(("rf_9".into(), RefundStatus::Pending)));
        assert_eq!(got("REFC"), Some(("42".into(), RefundStatus::Failed)));
        assert_eq!(got("REFD"), None);
    }

    /// What a payment read shows refunded: done entries only; nothing listed is 0; a done
    /// entry without a readable amount makes it unknown.
    #[test]
    fn refunded_minor_sums_done_refunds() {
        let read = |refunds: &str| {
            let p: Payment = serde_json::from_str(&format!(
                r#"{{"id":"pay_1","status":"RECEIVED","value":25.90,"refunds":{refunds}}}"#
            ))
            .unwrap();
            refunded_minor(&p)
        };
        assert_eq!(read("null"), Some(0));
        assert_eq!(read("[]"), Some(0));
        assert_eq!(
            read(
                r#"[{"status":"DONE","value":10.5},{"status":"PENDING","value":2},
                    {"status":"CANCELLED","value":3},{"status":"DONE","value":"1.00"}]"#
            ),
            Some(1150)
        );
        assert_eq!(read(r#"[{"status":"DONE"}]"#), None);
        assert_eq!(read(r#"[{"status":"DONE","value":"abc"}]"#), None);
        assert_eq!(read(r#"[{"status":"PENDING"}]"#), Some(0));
    }

    #[test]
    fn refund_status_table() {
        for (s, want) in REFUND_STATUSES {
            assert_eq!(refund_status(s), *want);
        }
        assert_eq!(refund_status("SOMETHING_NEW"), RefundStatus::Pending);
    }
}
