//! Stripe webhooks: `Stripe-Signature` verification and event normalization.

use crate::domain::PaymentStatus;
use crate::gateways::webhooks::{
    header, malformed, GatewayEvent, GatewayEventKind, GatewayWebhooks, InboundWebhook,
    WebhookError,
};
use crate::ports::{is_blank_secret, WebhookSecrets};
use crate::signing::stripe;
use serde::Deserialize;

/// Stripe's webhook module.
pub struct StripeWebhooks;

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

/// Event type → status, for PaymentIntent events. The table is the whole mapping.
const PAYMENT_INTENT_EVENTS: &[(&str, PaymentStatus)] = &[
    ("payment_intent.succeeded", PaymentStatus::Succeeded),
    ("payment_intent.payment_failed", PaymentStatus::Failed),
    ("payment_intent.processing", PaymentStatus::Processing),
    (
        "payment_intent.requires_action",
        PaymentStatus::RequiresAction,
    ),
    ("payment_intent.canceled", PaymentStatus::Canceled),
];

impl GatewayWebhooks for StripeWebhooks {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn verify(
        &self,
        secrets: &WebhookSecrets,
        req: &InboundWebhook<'_>,
    ) -> Result<(), WebhookError> {
        // A blank secret is no secret: refused here as well as when tenants are loaded.
        if secrets.stripe.iter().all(|s| is_blank_secret(s)) {
            return Err(WebhookError::Unauthorized(
                "no Stripe webhook secret configured",
            ));
        }
        let h = header(req, "stripe-signature")
            .ok_or(WebhookError::Unauthorized("missing Stripe-Signature"))?;
        stripe::verify(h, req.body, &secrets.stripe, req.now).map_err(|e| match e {
            stripe::StripeSignatureError::Stale => {
                WebhookError::Unauthorized("Stripe-Signature timestamp too old")
            }
            stripe::StripeSignatureError::NoSecret => {
                WebhookError::Unauthorized("no Stripe webhook secret configured")
            }
            _ => WebhookError::Unauthorized("Stripe-Signature does not match"),
        })
    }

    fn normalize(&self, body: &[u8]) -> Result<Vec<GatewayEvent>, WebhookError> {
        let ev: Event = serde_json::from_slice(body).map_err(|e| malformed("stripe", e))?;
        let obj = &ev.data.object;
        let str_field = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if let Some((_, to)) = PAYMENT_INTENT_EVENTS.iter().find(|(t, _)| *t == ev.kind) {
            let id =
                str_field("id").ok_or_else(|| malformed("stripe", "data.object.id missing"))?;
            return Ok(vec![GatewayEvent {
                dedupe_id: ev.id,
                gateway_payment_id: id,
                payment_id: None,
                kind: GatewayEventKind::Status(*to),
            }]);
        }
        Ok(vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_intent_and_refund_events() {
        let ev = |kind: &str, obj: &str| {
            format!(r#"{{"id":"evt_1","type":"{kind}","data":{{"object":{obj}}}}}"#)
        };
        let s = StripeWebhooks;
        let got = s
            .normalize(
                ev(
                    "payment_intent.payment_failed",
                    r#"{"id":"pi_1","object":"payment_intent"}"#,
                )
                .as_bytes(),
            )
            .unwrap();
        assert_eq!(
            (got[0].gateway_payment_id.as_str(), &got[0].kind),
            ("pi_1", &GatewayEventKind::Status(PaymentStatus::Failed))
        );
        assert!(s
            .normalize(ev("customer.created", r#"{"id":"cus_1"}"#).as_bytes())
            .unwrap()
            .is_empty());
        assert!(s.normalize(b"[]").is_err());
    }

    #[test]
    fn a_blank_endpoint_secret_authenticates_nothing() {
        let body =
            br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}}"#;
        let mut headers = http::HeaderMap::new();
        let forged = format!(
            "t=1700000000,v1={}",
            stripe::compute("", 1_700_000_000, body)
        );
        headers.insert("stripe-signature", forged.parse().unwrap());
        let req = InboundWebhook {
            headers: &headers,
            query: None,
            body,
            source_ip: None,
            now: 1_700_000_000,
        };
        for blank in [vec![String::new()], vec![" ".to_string(), String::new()]] {
            let secrets = WebhookSecrets {
                stripe: blank,
                ..WebhookSecrets::default()
            };
            assert!(matches!(
                StripeWebhooks.verify(&secrets, &req),
                Err(WebhookError::Unauthorized(_))
            ));
        }
    }
}
