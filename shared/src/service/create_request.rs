//! Parsing `POST /v1/payments` bodies into a [`NewPayment`]: the edge where untrusted JSON
//! becomes domain types. Everything refused here is refused before any claim or write.

use super::json_body::{self, int};
use crate::domain::{CallbackUrl, Currency, Customer, Document, Money, PaymentMethod};
use crate::error::ApiError;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCreate {
    #[serde(deserialize_with = "int::i64")]
    amount: i64,
    currency: String,
    method: String,
    customer: Option<RawCustomer>,
    card: Option<RawCard>,
    description: Option<String>,
    reference: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
    gateway: Option<String>,
    callback_url: Option<String>,
    #[serde(default, deserialize_with = "int::opt_i64")]
    expires_in: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustomer {
    name: String,
    document: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCard {
    tokens: BTreeMap<String, String>,
}

/// A validated create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub amount: Money,
    pub method: PaymentMethod,
    pub customer: Option<Customer>,
    /// Gateway name → card token for that gateway.
    pub card_tokens: BTreeMap<String, String>,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub gateway: Option<String>,
    pub callback_url: Option<CallbackUrl>,
    /// Pix only: seconds the charge stays payable (`None`: each gateway's default).
    pub expires_in: Option<u32>,
}

/// Shortest Pix lifetime a create may ask for (`expires_in`, seconds).
pub const MIN_EXPIRES_IN: u32 = 60;
/// Longest Pix lifetime a create may ask for: 7 days.
pub const MAX_EXPIRES_IN: u32 = 7 * 24 * 3600;

/// Limits on free-text fields, as most gateways truncate or refuse beyond them.
const MAX_DESCRIPTION: usize = 500;
const MAX_REFERENCE: usize = 128;
const MAX_METADATA_KEYS: usize = 50;
const MAX_METADATA_KEY: usize = 40;
const MAX_METADATA_VALUE: usize = 500;

/// How the create's fields read in refusals, where their JSON type says too little.
const HINTS: json_body::Hints<'static> = &[
    (
        "amount",
        "an integer number of cents (minor units), e.g. 1990 for 19.90",
    ),
    ("expires_in", "an integer number of seconds"),
    ("metadata", "an object of string values"),
    ("card.tokens", "an object of gateway name → token"),
];

fn text(param: &str, v: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    match v {
        None => Ok(None),
        Some(s) if s.is_empty() || s.chars().count() > max => Err(ApiError::invalid(
            "parameter_invalid_string",
            param,
            format!("{param} must be 1-{max} characters"),
        )),
        Some(s) if s.chars().any(char::is_control) => Err(ApiError::invalid(
            "parameter_invalid_string",
            param,
            format!("{param} must not contain control characters"),
        )),
        Some(s) => Ok(Some(s)),
    }
}

/// Parses the body. `known_gateways` checks `gateway` and card token names;
/// `allow_loopback_callbacks` is true only in local development.
pub fn parse_create(
    body: &[u8],
    known_gateways: &[&str],
    allow_loopback_callbacks: bool,
) -> Result<NewPayment, ApiError> {
    let raw: RawCreate = json_body::parse(body, HINTS)?;

    let currency: Currency = raw
        .currency
        .parse()
        .map_err(|e: crate::domain::MoneyError| {
            ApiError::invalid("invalid_currency", "currency", e.to_string())
        })?;
    let amount = Money::new(raw.amount, currency)
        .map_err(|e| ApiError::invalid("invalid_amount", "amount", e.to_string()))?;
    let method: PaymentMethod = raw.method.parse().map_err(|_| {
        ApiError::invalid(
            "parameter_invalid_enum",
            "method",
            "method must be one of pix, card, boleto",
        )
    })?;
    if matches!(method, PaymentMethod::Pix | PaymentMethod::Boleto) && currency != Currency::BRL {
        return Err(ApiError::invalid(
            "currency_not_supported",
            "currency",
            format!("currency must be BRL for {method} payments"),
        ));
    }

    let customer = match raw.customer {
        None => None,
        Some(c) => {
            let name = text("customer.name", Some(c.name), 200)?.unwrap_or_default();
            let document = c
                .document
                .map(|d| Document::parse(&d))
                .transpose()
                .map_err(|e| {
                    ApiError::invalid("invalid_document", "customer.document", e.to_string())
                })?;
            let email = text("customer.email", c.email, 254)?;
            if let Some(e) = &email {
                let ok = e
                    .split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
                if !ok {
                    return Err(ApiError::invalid(
                        "invalid_email",
                        "customer.email",
                        "customer.email is not an email address",
                    ));
                }
            }
            Some(Customer {
                name,
                document,
                email,
            })
        }
    };
    if method == PaymentMethod::Boleto
        && customer
            .as_ref()
            .and_then(|c| c.document.as_ref())
            .is_none()
    {
        return Err(ApiError::invalid(
            "customer_document_required",
            "customer.document",
            "boleto payments need the customer's CPF or CNPJ",
        ));
    }

    let card_tokens = match (method, raw.card) {
        (PaymentMethod::Card, Some(card)) => {
            if card.tokens.is_empty() {
                return Err(ApiError::invalid(
                    "card_token_required",
                    "card.tokens",
                    "card.tokens needs a token for at least one gateway",
                ));
            }
            for (g, t) in &card.tokens {
                if !known_gateways.contains(&g.as_str()) {
                    return Err(ApiError::invalid(
                        "unknown_gateway",
                        format!("card.tokens.{g}"),
                        format!("unknown gateway `{g}`"),
                    ));
                }
                if t.is_empty() || t.len() > 255 || !t.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
                    return Err(ApiError::invalid(
                        "invalid_card_token",
                        format!("card.tokens.{g}"),
                        "card tokens must be 1-255 printable ASCII characters",
                    ));
                }
            }
            card.tokens
        }
        (PaymentMethod::Card, None) => {
            return Err(ApiError::invalid(
                "card_token_required",
                "card",
                "card payments need card.tokens",
            ))
        }
        (_, Some(_)) => {
            return Err(ApiError::invalid(
                "card_not_allowed",
                "card",
                "card is only valid with method card",
            ))
        }
        (_, None) => BTreeMap::new(),
    };

    let metadata = raw.metadata.unwrap_or_default();
    if metadata.len() > MAX_METADATA_KEYS {
        return Err(ApiError::invalid(
            "invalid_metadata",
            "metadata",
            format!("metadata allows at most {MAX_METADATA_KEYS} keys"),
        ));
    }
    for (k, v) in &metadata {
        if k.is_empty()
            || k.chars().count() > MAX_METADATA_KEY
            || v.chars().count() > MAX_METADATA_VALUE
        {
            return Err(ApiError::invalid(
                "invalid_metadata",
                format!("metadata.{k}"),
                format!("metadata keys must be 1-{MAX_METADATA_KEY} characters and values at most {MAX_METADATA_VALUE}"),
            ));
        }
    }

    let gateway = match raw.gateway {
        Some(g) if !known_gateways.contains(&g.as_str()) => {
            return Err(ApiError::invalid(
                "unknown_gateway",
                "gateway",
                format!(
                    "unknown gateway `{g}`; known: {}",
                    known_gateways.join(", ")
                ),
            ))
        }
        g => g,
    };
    let callback_url = raw
        .callback_url
        .map(|u| CallbackUrl::parse(&u, allow_loopback_callbacks))
        .transpose()
        .map_err(|e| ApiError::invalid("invalid_callback_url", "callback_url", e.to_string()))?;

    let expires_in = match raw.expires_in {
        None => None,
        Some(_) if method != PaymentMethod::Pix => {
            return Err(ApiError::invalid(
                "parameter_conflict",
                "expires_in",
                "expires_in is only valid with method pix",
            ))
        }
        Some(s) => Some(
            u32::try_from(s)
                .ok()
                .filter(|s| (MIN_EXPIRES_IN..=MAX_EXPIRES_IN).contains(s))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "parameter_out_of_range",
                        "expires_in",
                        format!(
                            "expires_in must be a whole number of seconds from {MIN_EXPIRES_IN} to {MAX_EXPIRES_IN}"
                        ),
                    )
                })?,
        ),
    };

    Ok(NewPayment {
        amount,
        method,
        customer,
        card_tokens,
        description: text("description", raw.description, MAX_DESCRIPTION)?,
        reference: text("reference", raw.reference, MAX_REFERENCE)?,
        metadata,
        gateway,
        callback_url,
        expires_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GW: &[&str] = &["asaas", "efi", "stripe"];

    fn parse(v: serde_json::Value) -> Result<NewPayment, ApiError> {
        parse_create(v.to_string().as_bytes(), GW, false)
    }

    fn code_of(r: Result<NewPayment, ApiError>) -> (&'static str, Option<String>) {
        match r {
            Err(ApiError::Invalid { code, param, .. }) => (code, param),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_full_pix_request_parses() {
        let p = parse(serde_json::json!({
            "amount": 1990, "currency": "BRL", "method": "pix",
            "customer": {"name": "Maria Souza", "document": "52998224725", "email": "maria@example.com"},
            "description": "Pedido 42", "reference": "order-42", "metadata": {"k": "v"},
            "gateway": "efi", "callback_url": "https://merchant.example/hooks"
        }))
        .unwrap();
        assert_eq!(p.amount.minor(), 1990);
        assert_eq!(p.method, PaymentMethod::Pix);
        assert_eq!(p.gateway.as_deref(), Some("efi"));
    }

    #[test]
    fn bad_inputs_name_their_parameter() {
        let base = serde_json::json!({"amount": 1990, "currency": "BRL", "method": "pix"});
        let with = |k: &str, v: serde_json::Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        assert_eq!(code_of(parse(with("amount", 0.into()))).0, "invalid_amount");
        assert_eq!(
            code_of(parse(with("amount", (-5).into()))).0,
            "invalid_amount"
        );
        assert_eq!(
            code_of(parse(with("amount", "1990".into()))),
            ("parameter_invalid_integer", Some("amount".into()))
        );
        assert_eq!(
            code_of(parse(with("amount", serde_json::json!(19.9)))).0,
            "parameter_invalid_integer"
        );
        assert_eq!(
            code_of(parse(with("currency", "XXX".into()))).0,
            "invalid_currency"
        );
        assert_eq!(
            code_of(parse(with("method", "crypto".into()))).0,
            "parameter_invalid_enum"
        );
        assert_eq!(
            code_of(parse(with("gateway", "paypal".into()))).0,
            "unknown_gateway"
        );
        assert_eq!(
            code_of(parse(with("callback_url", "http://x.example/h".into()))).0,
            "invalid_callback_url"
        );
        assert_eq!(
            code_of(parse(with("surprise", 1.into()))),
            ("unknown_parameter", Some("surprise".into()))
        );
        assert_eq!(
            code_of(parse(with(
                "customer",
                serde_json::json!({"name": "A", "document": "123"})
            ))),
            ("invalid_document", Some("customer.document".into()))
        );
        assert_eq!(
            code_of(parse(with("currency", "USD".into()))).0,
            "currency_not_supported"
        );
        assert_eq!(
            code_of(parse_create(b"{not json", GW, false)).0,
            "body_not_json"
        );
        assert_eq!(code_of(parse_create(b"", GW, false)).0, "body_not_json");
    }

    #[test]
    fn card_rules() {
        let card = |tokens: serde_json::Value| {
            parse(
                serde_json::json!({"amount": 100, "currency": "USD", "method": "card", "card": {"tokens": tokens}}),
            )
        };
        assert!(card(serde_json::json!({"stripe": "pm_123"})).is_ok());
        assert_eq!(
            code_of(card(serde_json::json!({}))).0,
            "card_token_required"
        );
        assert_eq!(
            code_of(card(serde_json::json!({"nope": "x"}))).0,
            "unknown_gateway"
        );
        assert_eq!(
            code_of(parse(
                serde_json::json!({"amount": 100, "currency": "BRL", "method": "card"})
            ))
            .0,
            "card_token_required"
        );
        assert_eq!(
            code_of(parse(serde_json::json!({"amount": 100, "currency": "BRL", "method": "pix", "card": {"tokens": {"stripe": "x"}}}))).0,
            "card_not_allowed"
        );
    }

    #[test]
    fn expires_in_is_pix_only_and_bounded() {
        let pix = |v: serde_json::Value| {
            parse(
                serde_json::json!({"amount": 100, "currency": "BRL", "method": "pix", "expires_in": v}),
            )
        };
        assert_eq!(pix(60.into()).unwrap().expires_in, Some(60));
        assert_eq!(pix(604_800.into()).unwrap().expires_in, Some(604_800));
        for bad in [
            serde_json::json!(59),
            serde_json::json!(604_801),
            serde_json::json!(0),
            serde_json::json!(-60),
            serde_json::json!(1e12),
        ] {
            assert_eq!(
                code_of(pix(bad.clone())),
                ("parameter_out_of_range", Some("expires_in".into())),
                "{bad}"
            );
        }
        for bad in [
            serde_json::json!(90.5),
            serde_json::json!("3600"),
            serde_json::json!(u64::MAX),
        ] {
            assert_eq!(
                code_of(pix(bad.clone())),
                ("parameter_invalid_integer", Some("expires_in".into())),
                "{bad}"
            );
        }
        assert_eq!(
            pix(serde_json::json!(3600.0)).unwrap().expires_in,
            Some(3600)
        );
        assert_eq!(
            parse(serde_json::json!({"amount": 100, "currency": "BRL", "method": "pix"}))
                .unwrap()
                .expires_in,
            None
        );
        for body in [
            serde_json::json!({"amount": 100, "currency": "BRL", "method": "card",
                "card": {"tokens": {"stripe": "pm_1"}}, "expires_in": 3600}),
            serde_json::json!({"amount": 100, "currency": "BRL", "method": "boleto",
                "customer": {"name": "A", "document": "52998224725"}, "expires_in": 3600}),
        ] {
            assert_eq!(
                code_of(parse(body.clone())),
                ("parameter_conflict", Some("expires_in".into())),
                "{body}"
            );
        }
    }

    #[test]
    fn boleto_needs_a_document() {
        assert_eq!(
            code_of(parse(serde_json::json!({"amount": 100, "currency": "BRL", "method": "boleto", "customer": {"name": "A"}}))).0,
            "customer_document_required"
        );
    }
}
