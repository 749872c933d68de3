//! Stripe webhooks: `Stripe-Signature` verification and event normalization.

use super::transformers::refund_status;
use crate::domain::PaymentStatus;
use crate::gateways::keys::{payment_id_from_echo, refund_id_from_echo, refund_id_from_key};
use crate::gateways::webhooks::{
    header, malformed, GatewayEvent, GatewayEventKind, GatewayWebhooks, InboundWebhook,
    RefundReport, WebhookError,
};
use crate::ports::{is_blank_secret, WebhookSecrets};
use crate::signing::stripe;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Stripe's webhook module.
pub struct StripeWebhooks;

/// The event envelope. `data.object` is read once the type says what it is.
#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: Box<RawValue>,
}

/// The PaymentIntent fields an event needs.
#[derive(Deserialize)]
struct Intent {
    id: String,
    /// The intent's status as of the event (`requires_payment_method` after a failed attempt).
    #[serde(default)]
    status: Option<String>,
    /// Kept as a value: metadata that is not an object only means "no payment id".
    #[serde(default)]
    metadata: serde_json::Value,
}

/// The Refund fields an event needs.
#[derive(Deserialize)]
struct Refund {
    id: String,
    amount: i64,
    status: String,
    /// A `pi_…` id, an expanded intent, or null for a refund of a charge made without one.
    #[serde(default)]
    payment_intent: serde_json::Value,
    #[serde(default)]
    metadata: serde_json::Value,
}

/// The Charge fields `charge.refunded` needs.
#[derive(Deserialize)]
struct Charge {
    #[serde(default)]
    payment_intent: serde_json::Value,
    #[serde(default)]
    metadata: serde_json::Value,
    /// Listed only on API versions that still expand it; absent otherwise.
    #[serde(default)]
    refunds: Option<RefundList>,
}

#[derive(Deserialize)]
struct RefundList {
    #[serde(default)]
    data: Vec<Refund>,
}

/// Event type → status, for PaymentIntent events. With [`PAYMENT_FAILED`], the table is the
/// whole mapping; refunds are never a status (they arrive one at a time as [`REFUND_EVENTS`]).
const PAYMENT_INTENT_EVENTS: &[(&str, PaymentStatus)] = &[
    ("payment_intent.succeeded", PaymentStatus::Succeeded),
    ("payment_intent.processing", PaymentStatus::Processing),
    (
        "payment_intent.requires_action",
        PaymentStatus::RequiresAction,
    ),
    ("payment_intent.canceled", PaymentStatus::Canceled),
];

/// A payment attempt failed. That is not the intent's end: it goes back to
/// `requires_payment_method` and can still be confirmed and succeed (another card, the 3DS
/// step retried), so the payment only needs the payer again — [`failed_attempt_status`].
const PAYMENT_FAILED: &str = "payment_intent.payment_failed";

/// The status a failed attempt leaves: `canceled` if the intent is (final at Stripe too),
/// otherwise `requires_action` — never `failed`, which is final here and would turn the
/// intent's later success into a late payment. (`requires_action` is reached only from
/// `processing`; a `pending` or `requires_action` payment stays as it is.)
fn failed_attempt_status(intent_status: Option<&str>) -> PaymentStatus {
    match intent_status {
        Some("canceled") => PaymentStatus::Canceled,
        _ => PaymentStatus::RequiresAction,
    }
}

/// Events whose `data.object` is one Refund: each reports that refund's current state.
const REFUND_EVENTS: &[&str] = &[
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.refund.updated",
];

/// A Charge event that may list its refunds; without the list the `refund.*` events carry them.
const CHARGE_REFUNDED: &str = "charge.refunded";

/// An id field that is either the id itself or an expanded object carrying `id`.
fn id_of(v: &serde_json::Value) -> Option<&str> {
    v.as_str()
        .or_else(|| v.get("id").and_then(serde_json::Value::as_str))
}

/// `metadata.<key>` when it is text.
fn meta<'a>(metadata: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    metadata.get(key).and_then(serde_json::Value::as_str)
}

/// Reads `data.object` as `T`; a shape that does not fit is a malformed event.
fn object<'a, T: Deserialize<'a>>(ev: &'a Event) -> Result<T, WebhookError> {
    serde_json::from_str(ev.data.object.get()).map_err(|e| malformed("stripe", e))
}

/// One refund as an event. `charge` is the Charge a `charge.refunded` event lists it under,
/// whose intent and metadata stand in when the refund lacks them. A refund of a charge made
/// without a PaymentIntent is none of ours: `None`.
fn refund_event(
    dedupe_id: String,
    r: Refund,
    charge: Option<&Charge>,
) -> Result<Option<GatewayEvent>, WebhookError> {
    if r.amount < 0 {
        return Err(malformed("stripe", "refund amount is negative"));
    }
    let Some(pi) = id_of(&r.payment_intent)
        .or_else(|| charge.and_then(|c| id_of(&c.payment_intent)))
        .map(str::to_string)
    else {
        return Ok(None);
    };
    let payment_id = payment_id_from_echo(meta(&r.metadata, "payment_id"))
        .or_else(|| charge.and_then(|c| payment_id_from_echo(meta(&c.metadata, "payment_id"))));
    // `ref_<ulid>` is what the client sends; `REF<ulid>` is what it sent before, so refunds
    // made then still find their record.
    let refund_id = meta(&r.metadata, "refund_id")
        .and_then(|s| refund_id_from_echo(s).or_else(|| refund_id_from_key(s)));
    Ok(Some(GatewayEvent {
        dedupe_id,
        gateway_payment_id: pi,
        payment_id,
        kind: GatewayEventKind::Refund(RefundReport {
            refund_id,
            amount: r.amount,
            status: refund_status(&r.status),
            gateway_refund_id: r.id,
        }),
    }))
}

impl GatewayWebhooks for StripeWebhooks {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn body_is_signed(&self) -> bool {
        true
    }

    fn verify(
        &self,
        secrets: &WebhookSecrets,
        req: &InboundWebhook<'_>,
    ) -> Result<(), WebhookError> {
        // A blank secret is no secret: refused here as well as when tenants are loaded.
        let accepted = secrets.stripe_at(req.now);
        if accepted.iter().all(|s| is_blank_secret(s)) {
            return Err(WebhookError::Unauthorized(
                "no Stripe webhook secret configured",
            ));
        }
        let h = header(req, "stripe-signature")
            .ok_or(WebhookError::Unauthorized("missing Stripe-Signature"))?;
        stripe::verify(h, req.body, accepted, req.now).map_err(|e| match e {
            stripe::StripeSignatureError::Stale => {
                WebhookError::Unauthorized("Stripe-Signature timestamp too old")
            }
            stripe::StripeSignatureError::NoSecret => {
                WebhookError::Unauthorized("no Stripe webhook secret configured")
            }
            _ => WebhookError::Unauthorized("Stripe-Signature does not match"),
        })
    }

    /// PaymentIntent events → one status; Refund events → one refund report each, deduped on
    /// the event id; `charge.refunded` → a report per listed refund, deduped on
    /// `<event id>#<re_…>` since one event carries several. Other types yield nothing.
    fn normalize(&self, body: &[u8]) -> Result<Vec<GatewayEvent>, WebhookError> {
        let ev: Event = serde_json::from_slice(body).map_err(|e| malformed("stripe", e))?;
        let fixed = PAYMENT_INTENT_EVENTS
            .iter()
            .find(|(t, _)| *t == ev.kind)
            .map(|(_, to)| *to);
        if fixed.is_some() || ev.kind == PAYMENT_FAILED {
            let pi: Intent = object(&ev)?;
            let to = fixed.unwrap_or_else(|| failed_attempt_status(pi.status.as_deref()));
            return Ok(vec![GatewayEvent {
                dedupe_id: ev.id.clone(),
                payment_id: payment_id_from_echo(meta(&pi.metadata, "payment_id")),
                gateway_payment_id: pi.id,
                kind: GatewayEventKind::Status(to),
            }]);
        }
        if REFUND_EVENTS.contains(&ev.kind.as_str()) {
            let r: Refund = object(&ev)?;
            return Ok(refund_event(ev.id.clone(), r, None)?.into_iter().collect());
        }
        if ev.kind == CHARGE_REFUNDED {
            let mut charge: Charge = object(&ev)?;
            let refunds = charge.refunds.take().map(|l| l.data).unwrap_or_default();
            let mut out = Vec::with_capacity(refunds.len());
            for r in refunds {
                let dedupe = format!("{}#{}", ev.id, r.id);
                out.extend(refund_event(dedupe, r, Some(&charge))?);
            }
            return Ok(out);
        }
        Ok(vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::{PaymentId, RefundStatus};

    const ULID: &str = "01J9ZQ4M3K8D2B6X7Y5W0V1T2S";

    fn ev(kind: &str, obj: &str) -> String {
        format!(r#"{{"id":"evt_1","object":"event","type":"{kind}","data":{{"object":{obj}}}}}"#)
    }

    fn one(body: &str) -> GatewayEvent {
        let mut got = StripeWebhooks.normalize(body.as_bytes()).unwrap();
        assert_eq!(got.len(), 1, "{body}");
        got.remove(0)
    }

    fn pay() -> Option<PaymentId> {
        PaymentId::parse(&format!("pay_{ULID}")).ok()
    }

    #[test]
    fn every_payment_intent_event_is_a_status() {
        let obj = format!(
            r#"{{"id":"pi_1","object":"payment_intent","status":"x","metadata":{{"payment_id":"pay_{ULID}"}}}}"#
        );
        for (kind, to) in PAYMENT_INTENT_EVENTS {
            assert_eq!(
                one(&ev(kind, &obj)),
                GatewayEvent {
                    dedupe_id: "evt_1".into(),
                    gateway_payment_id: "pi_1".into(),
                    payment_id: pay(),
                    kind: GatewayEventKind::Status(*to),
                },
                "{kind}"
            );
        }
    }

    #[test]
    fn a_failed_attempt_is_final_only_for_a_canceled_intent() {
        for (intent_status, to) in [
            (
                Some("requires_payment_method"),
                PaymentStatus::RequiresAction,
            ),
            (Some("requires_action"), PaymentStatus::RequiresAction),
            (Some("requires_confirmation"), PaymentStatus::RequiresAction),
            (None, PaymentStatus::RequiresAction),
            (Some("canceled"), PaymentStatus::Canceled),
        ] {
            let status = intent_status.map_or(String::new(), |s| format!(r#""status":"{s}","#));
            let obj = format!(
                r#"{{"id":"pi_1","object":"payment_intent",{status}"last_payment_error":{{"code":"card_declined"}},"metadata":{{"payment_id":"pay_{ULID}"}}}}"#
            );
            let got = one(&ev("payment_intent.payment_failed", &obj));
            assert_eq!(got.kind, GatewayEventKind::Status(to), "{intent_status:?}");
            assert!(!to.is_final() || to == PaymentStatus::Canceled);
        }
    }

    #[test]
    fn payment_id_from_metadata_valid_absent_or_malformed() {
        let cases: &[(String, Option<PaymentId>)] = &[
            (format!(r#"{{"payment_id":"pay_{ULID}"}}"#), pay()),
            (r#"{}"#.into(), None),
            (r#"{"order_id":"42"}"#.into(), None),
            (r#"{"payment_id":"order-42"}"#.into(), None),
            (r#"{"payment_id":"pay_123"}"#.into(), None),
            (r#"{"payment_id":42}"#.into(), None),
            ("null".into(), None),
            (r#""text""#.into(), None),
        ];
        for (metadata, want) in cases {
            let body = ev(
                "payment_intent.succeeded",
                &format!(r#"{{"id":"pi_1","metadata":{metadata}}}"#),
            );
            assert_eq!(&one(&body).payment_id, want, "{metadata}");
        }
        // No metadata at all.
        assert_eq!(
            one(&ev("payment_intent.succeeded", r#"{"id":"pi_1"}"#)).payment_id,
            None
        );
    }

    #[test]
    fn refund_events_report_one_refund_each() {
        let statuses = [
            ("pending", RefundStatus::Pending),
            ("requires_action", RefundStatus::Pending),
            ("succeeded", RefundStatus::Succeeded),
            ("failed", RefundStatus::Failed),
            ("canceled", RefundStatus::Failed),
            ("a_future_status", RefundStatus::Pending),
        ];
        for kind in REFUND_EVENTS {
            for (status, want) in statuses {
                let obj = format!(
                    r#"{{"id":"re_1","object":"refund","amount":500,"charge":"ch_1","payment_intent":"pi_1","status":"{status}","metadata":{{"refund_id":"ref_{ULID}","payment_id":"pay_{ULID}"}}}}"#
                );
                assert_eq!(
                    one(&ev(kind, &obj)),
                    GatewayEvent {
                        dedupe_id: "evt_1".into(),
                        gateway_payment_id: "pi_1".into(),
                        payment_id: pay(),
                        kind: GatewayEventKind::Refund(RefundReport {
                            gateway_refund_id: "re_1".into(),
                            refund_id: Some(format!("ref_{ULID}")),
                            amount: 500,
                            status: want,
                        }),
                    },
                    "{kind} {status}"
                );
            }
        }
    }

    #[test]
    fn refund_metadata_refund_id_valid_legacy_absent_or_malformed() {
        let want = Some(format!("ref_{ULID}"));
        let cases: &[(String, Option<String>)] = &[
            (format!(r#"{{"refund_id":"ref_{ULID}"}}"#), want.clone()),
            // Refunds made before the client sent `ref_…` carry the refund key itself.
            (format!(r#"{{"refund_id":"REF{ULID}"}}"#), want),
            ("{}".into(), None),
            (r#"{"refund_id":"ref_123"}"#.into(), None),
            (r#"{"refund_id":"REF1"}"#.into(), None),
            (r#"{"refund_id":7}"#.into(), None),
            ("null".into(), None),
        ];
        for (metadata, want) in cases {
            let obj = format!(
                r#"{{"id":"re_1","amount":500,"payment_intent":"pi_1","status":"succeeded","metadata":{metadata}}}"#
            );
            let got = one(&ev("refund.updated", &obj));
            assert_eq!(got.payment_id, None);
            let GatewayEventKind::Refund(r) = got.kind else {
                panic!("not a refund: {metadata}");
            };
            assert_eq!(&r.refund_id, want, "{metadata}");
        }
    }

    #[test]
    fn an_expanded_intent_is_read_and_a_refund_without_one_is_not_ours() {
        let expanded = r#"{"id":"re_1","amount":5,"status":"succeeded","payment_intent":{"id":"pi_9","object":"payment_intent"}}"#;
        assert_eq!(
            one(&ev("refund.created", expanded)).gateway_payment_id,
            "pi_9"
        );
        for obj in [
            r#"{"id":"re_1","amount":5,"status":"succeeded","charge":"ch_1","payment_intent":null}"#,
            r#"{"id":"re_1","amount":5,"status":"succeeded","charge":"ch_1"}"#,
        ] {
            assert!(StripeWebhooks
                .normalize(ev("refund.created", obj).as_bytes())
                .unwrap()
                .is_empty());
        }
    }

    #[test]
    fn charge_refunded_lists_each_refund_or_nothing() {
        let charge = format!(
            r#"{{"id":"ch_1","object":"charge","amount_refunded":700,"refunded":false,"payment_intent":"pi_1","metadata":{{"payment_id":"pay_{ULID}"}},
              "refunds":{{"object":"list","data":[
                {{"id":"re_1","amount":500,"status":"succeeded","payment_intent":"pi_1","metadata":{{"refund_id":"ref_{ULID}"}}}},
                {{"id":"re_2","amount":200,"status":"pending","metadata":{{}}}}]}}}}"#
        );
        let got = StripeWebhooks
            .normalize(ev("charge.refunded", &charge).as_bytes())
            .unwrap();
        let report = |id: &str, refund_id: Option<String>, amount, status| GatewayEvent {
            dedupe_id: format!("evt_1#{id}"),
            gateway_payment_id: "pi_1".into(),
            payment_id: pay(),
            kind: GatewayEventKind::Refund(RefundReport {
                gateway_refund_id: id.into(),
                refund_id,
                amount,
                status,
            }),
        };
        assert_eq!(
            got,
            vec![
                report(
                    "re_1",
                    Some(format!("ref_{ULID}")),
                    500,
                    RefundStatus::Succeeded
                ),
                report("re_2", None, 200, RefundStatus::Pending),
            ]
        );
        // Current API versions list no refunds on the Charge: the refund.* events carry them.
        for obj in [
            r#"{"id":"ch_1","object":"charge","amount_refunded":700,"payment_intent":"pi_1"}"#,
            r#"{"id":"ch_1","object":"charge","payment_intent":"pi_1","refunds":{"object":"list","data":[]}}"#,
            r#"{"id":"ch_1","object":"charge","refunds":{"data":[{"id":"re_1","amount":5,"status":"succeeded"}]}}"#,
        ] {
            assert!(StripeWebhooks
                .normalize(ev("charge.refunded", obj).as_bytes())
                .unwrap()
                .is_empty());
        }
    }

    #[test]
    fn other_event_types_yield_nothing() {
        for kind in [
            "customer.created",
            "charge.succeeded",
            "payment_intent.created",
        ] {
            assert!(StripeWebhooks
                .normalize(ev(kind, r#"{"id":"x"}"#).as_bytes())
                .unwrap()
                .is_empty());
        }
    }

    #[test]
    fn malformed_bodies_are_errors() {
        let bodies = [
            "".to_string(),
            "[]".into(),
            "not json".into(),
            r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#.into(),
            r#"{"type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}}"#.into(),
            ev("payment_intent.succeeded", r#"{"object":"payment_intent"}"#),
            ev("payment_intent.succeeded", r#"{"id":7}"#),
            ev("payment_intent.succeeded", "[]"),
            ev(
                "refund.updated",
                r#"{"id":"re_1","status":"succeeded","payment_intent":"pi_1"}"#,
            ),
            ev(
                "refund.updated",
                r#"{"id":"re_1","amount":"5","status":"succeeded","payment_intent":"pi_1"}"#,
            ),
            ev(
                "refund.updated",
                r#"{"id":"re_1","amount":-5,"status":"succeeded","payment_intent":"pi_1"}"#,
            ),
            ev(
                "refund.updated",
                r#"{"id":"re_1","amount":5,"payment_intent":"pi_1"}"#,
            ),
            ev(
                "charge.refunded",
                r#"{"id":"ch_1","payment_intent":"pi_1","refunds":{"data":[{"id":"re_1"}]}}"#,
            ),
            ev("charge.refunded", r#"{"id":"ch_1","refunds":"no"}"#),
        ];
        for b in bodies {
            assert!(
                matches!(
                    StripeWebhooks.normalize(b.as_bytes()),
                    Err(WebhookError::Malformed {
                        gateway: "stripe",
                        ..
                    })
                ),
                "{b}"
            );
        }
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
            client_cert_verified: false,
            live: false,
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
