//! Asaas webhooks: static `asaas-access-token` header (constant-time) and event normalization.

use crate::domain::PaymentStatus;
use crate::gateways::webhooks::{
    header, malformed, GatewayEvent, GatewayEventKind, GatewayWebhooks, InboundWebhook,
    WebhookError,
};
use crate::ports::{is_blank_secret, WebhookSecrets};
use crate::signing::constant_time_eq;
use serde::Deserialize;

/// Asaas's webhook module.
pub struct AsaasWebhooks;

#[derive(Deserialize)]
struct Event {
    id: String,
    event: String,
    payment: Option<Payment>,
}

#[derive(Deserialize)]
struct Payment {
    id: String,
}

/// Event → status. Events not listed (created, updated, viewed, …) change nothing.
const EVENTS: &[(&str, PaymentStatus)] = &[
    ("PAYMENT_CONFIRMED", PaymentStatus::Succeeded),
    ("PAYMENT_RECEIVED", PaymentStatus::Succeeded),
    ("PAYMENT_OVERDUE", PaymentStatus::Expired),
    ("PAYMENT_DELETED", PaymentStatus::Canceled),
    ("PAYMENT_REFUNDED", PaymentStatus::Refunded),
    (
        "PAYMENT_PARTIALLY_REFUNDED",
        PaymentStatus::PartiallyRefunded,
    ),
    ("PAYMENT_CREDIT_CARD_CAPTURE_REFUSED", PaymentStatus::Failed),
    ("PAYMENT_REPROVED_BY_RISK_ANALYSIS", PaymentStatus::Failed),
];

impl GatewayWebhooks for AsaasWebhooks {
    fn name(&self) -> &'static str {
        "asaas"
    }

    fn verify(
        &self,
        secrets: &WebhookSecrets,
        req: &InboundWebhook<'_>,
    ) -> Result<(), WebhookError> {
        // A blank token is no token: it would match an empty header.
        let want = secrets
            .asaas_token
            .as_deref()
            .filter(|t| !is_blank_secret(t))
            .ok_or(WebhookError::Unauthorized(
                "no Asaas webhook token configured",
            ))?;
        let got = header(req, "asaas-access-token")
            .ok_or(WebhookError::Unauthorized("missing asaas-access-token"))?;
        if constant_time_eq(got.as_bytes(), want.as_bytes()) {
            Ok(())
        } else {
            Err(WebhookError::Unauthorized(
                "asaas-access-token does not match",
            ))
        }
    }

    fn normalize(&self, body: &[u8]) -> Result<Vec<GatewayEvent>, WebhookError> {
        let ev: Event = serde_json::from_slice(body).map_err(|e| malformed("asaas", e))?;
        let Some((_, to)) = EVENTS.iter().find(|(name, _)| *name == ev.event) else {
            return Ok(vec![]);
        };
        let payment = ev
            .payment
            .ok_or_else(|| malformed("asaas", "payment event without payment"))?;
        Ok(vec![GatewayEvent {
            dedupe_id: ev.id,
            gateway_payment_id: payment.id,
            payment_id: None,
            kind: GatewayEventKind::Status(*to),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_table() {
        let ev = |e: &str| {
            format!(
                r#"{{"id":"evt_a&1","event":"{e}","payment":{{"object":"payment","id":"pay_080225913252","value":100.90}}}}"#
            )
        };
        for (name, to) in EVENTS {
            let got = AsaasWebhooks.normalize(ev(name).as_bytes()).unwrap();
            assert_eq!(
                (
                    got[0].dedupe_id.as_str(),
                    got[0].gateway_payment_id.as_str(),
                    &got[0].kind
                ),
                (
                    "evt_a&1",
                    "pay_080225913252",
                    &GatewayEventKind::Status(*to)
                )
            );
        }
        assert!(AsaasWebhooks
            .normalize(ev("PAYMENT_BANK_SLIP_VIEWED").as_bytes())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_blank_configured_token_authenticates_nothing() {
        let body = br#"{"id":"evt_1","event":"PAYMENT_RECEIVED","payment":{"id":"pay_1"}}"#;
        for (configured, sent) in [("", ""), ("  ", "  "), ("", "anything")] {
            let mut headers = http::HeaderMap::new();
            headers.insert("asaas-access-token", sent.parse().unwrap());
            let req = InboundWebhook {
                headers: &headers,
                query: None,
                body,
                source_ip: None,
                now: 0,
            };
            let secrets = WebhookSecrets {
                asaas_token: Some(configured.to_string()),
                ..WebhookSecrets::default()
            };
            assert_eq!(
                AsaasWebhooks.verify(&secrets, &req),
                Err(WebhookError::Unauthorized(
                    "no Asaas webhook token configured"
                ))
            );
        }
        // A real token still works.
        let mut headers = http::HeaderMap::new();
        headers.insert("asaas-access-token", "tok".parse().unwrap());
        let req = InboundWebhook {
            headers: &headers,
            query: None,
            body,
            source_ip: None,
            now: 0,
        };
        let secrets = WebhookSecrets {
            asaas_token: Some("tok".into()),
            ..WebhookSecrets::default()
        };
        assert_eq!(AsaasWebhooks.verify(&secrets, &req), Ok(()));
    }
}
