//! Asaas webhooks: static `asaas-access-token` header (constant-time) and event normalization.

use super::transformers::{entry_id, keyed_refund_id, read_decimal, refund_status};
use crate::domain::{PaymentStatus, RefundStatus};
use crate::gateways::keys::{payment_id_from_echo, refund_id_from_key};
use crate::gateways::webhooks::{
    header, malformed, GatewayEvent, GatewayEventKind, GatewayWebhooks, InboundWebhook,
    RefundReport, WebhookError,
};
use crate::ports::{is_blank_secret, WebhookSecrets};
use crate::signing::constant_time_eq;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Asaas's webhook module.
pub struct AsaasWebhooks;

#[derive(Deserialize)]
struct Event {
    id: String,
    event: String,
    #[serde(default)]
    payment: Option<Payment>,
}

/// The payment (cobrança) fields the events need.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payment {
    id: String,
    /// Our payment id, set by the client on create. Read leniently: a charge made elsewhere
    /// may carry anything here, and that only means "not ours by reference".
    #[serde(default)]
    external_reference: serde_json::Value,
    #[serde(default)]
    refunds: Option<Vec<Refund>>,
}

/// One entry of the payment's `refunds`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Refund {
    /// Undocumented: used when present (see `transformers::entry_id`).
    #[serde(default)]
    id: serde_json::Value,
    status: String,
    value: Box<RawValue>,
    /// Our refund key `REF<ulid>` for refunds the client made; free text otherwise.
    #[serde(default)]
    description: serde_json::Value,
    /// `YYYY-MM-DD HH:mm:ss`: part of the synthesized id of a refund without one.
    #[serde(default)]
    date_created: serde_json::Value,
}

/// What an event means for the charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// The charge reached this status.
    Status(PaymentStatus),
    /// Past due but still payable: a later `PAYMENT_RECEIVED` must still settle it.
    Overdue,
    /// Report the payment's refunds. `full`: without a refund list, the whole value was
    /// refunded. `denied`: a refund still pending was refused.
    Refunds { full: bool, denied: bool },
}

/// Event → action. Events not listed (created, updated, viewed, …) change nothing. Refunds
/// are never a status: each refund is reported on its own.
const EVENTS: &[(&str, Action)] = &[
    (
        "PAYMENT_CONFIRMED",
        Action::Status(PaymentStatus::Succeeded),
    ),
    ("PAYMENT_RECEIVED", Action::Status(PaymentStatus::Succeeded)),
    ("PAYMENT_OVERDUE", Action::Overdue),
    ("PAYMENT_DELETED", Action::Status(PaymentStatus::Canceled)),
    (
        "PAYMENT_CREDIT_CARD_CAPTURE_REFUSED",
        Action::Status(PaymentStatus::Failed),
    ),
    (
        "PAYMENT_REPROVED_BY_RISK_ANALYSIS",
        Action::Status(PaymentStatus::Failed),
    ),
    (
        "PAYMENT_REFUNDED",
        Action::Refunds {
            full: true,
            denied: false,
        },
    ),
    (
        "PAYMENT_PARTIALLY_REFUNDED",
        Action::Refunds {
            full: false,
            denied: false,
        },
    ),
    (
        "PAYMENT_REFUND_IN_PROGRESS",
        Action::Refunds {
            full: false,
            denied: false,
        },
    ),
    (
        "PAYMENT_REFUND_DENIED",
        Action::Refunds {
            full: false,
            denied: true,
        },
    ),
];

/// Text of a lenient field: a non-blank string; anything else is none.
fn text(v: &serde_json::Value) -> Option<&str> {
    v.as_str().filter(|s| !s.trim().is_empty())
}

/// One report per refund entry of `p`, or, for a full refund reported without a list, one
/// succeeded report of the whole value. Ids, in order of preference: the entry's own `id`;
/// `<payment id>:<refund key>` for a refund we made (what the client stored); otherwise
/// `<payment id>:<dateCreated>:<centavos>`, with `:<n>` for the n-th (n ≥ 2) identical entry.
/// No list index goes in, so the id does not move if Asaas lists refunds in another order.
fn refund_reports(
    p: &Payment,
    full: bool,
    denied: bool,
) -> Result<Vec<RefundReport>, WebhookError> {
    let entries = p.refunds.as_deref().unwrap_or_default();
    if entries.is_empty() {
        // A full refund without a list is `GatewayEventKind::RefundedInFull` (see `normalize`).
        let _ = full;
        return Ok(vec![]);
    }
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for r in entries {
        let amount = read_decimal(&r.value).ok_or_else(|| {
            malformed(
                "asaas",
                format!("refund value {} is not reais", r.value.get()),
            )
        })?;
        let key = text(&r.description).map(str::trim);
        let refund_id = key.and_then(refund_id_from_key);
        let gateway_refund_id = match (entry_id(&r.id), key, &refund_id) {
            (Some(id), _, _) => id,
            (None, Some(key), Some(_)) => keyed_refund_id(&p.id, key),
            _ => {
                let base = format!("{}:{}:{amount}", p.id, text(&r.date_created).unwrap_or(""));
                let n = seen.entry(base.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    base
                } else {
                    format!("{base}:{n}")
                }
            }
        };
        let status = match refund_status(&r.status) {
            RefundStatus::Pending if denied => RefundStatus::Failed,
            s => s,
        };
        out.push(RefundReport {
            gateway_refund_id,
            refund_id,
            amount,
            status,
        });
    }
    Ok(out)
}

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

    /// Status events → one status (deduped on the event id); `PAYMENT_OVERDUE` → overdue;
    /// refund events → one report per refund, deduped on `<event id>#<gateway refund id>`
    /// since one event lists several. Our payment id comes from `externalReference`.
    fn normalize(&self, body: &[u8]) -> Result<Vec<GatewayEvent>, WebhookError> {
        let ev: Event = serde_json::from_slice(body).map_err(|e| malformed("asaas", e))?;
        let Some((_, action)) = EVENTS.iter().find(|(name, _)| *name == ev.event) else {
            return Ok(vec![]);
        };
        let payment = ev
            .payment
            .ok_or_else(|| malformed("asaas", "payment event without payment"))?;
        let payment_id = payment_id_from_echo(text(&payment.external_reference));
        let single = |kind| {
            vec![GatewayEvent {
                dedupe_id: ev.id.clone(),
                gateway_payment_id: payment.id.clone(),
                payment_id: payment_id.clone(),
                kind,
            }]
        };
        match *action {
            Action::Status(to) => Ok(single(GatewayEventKind::Status(to))),
            Action::Overdue => Ok(single(GatewayEventKind::Overdue)),
            // Refunded in full without naming the refunds: what is left is refunded (the worker
            // settles pending refunds and records the remainder), never the whole value again.
            Action::Refunds { full: true, .. }
                if payment.refunds.as_deref().unwrap_or_default().is_empty() =>
            {
                Ok(single(GatewayEventKind::RefundedInFull))
            }
            Action::Refunds { full, denied } => Ok(refund_reports(&payment, full, denied)?
                .into_iter()
                .map(|r| GatewayEvent {
                    dedupe_id: format!("{}#{}", ev.id, r.gateway_refund_id),
                    gateway_payment_id: payment.id.clone(),
                    payment_id: payment_id.clone(),
                    kind: GatewayEventKind::Refund(r),
                })
                .collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::PaymentId;

    const ULID: &str = "01J9ZQ4M3K8D2B6X7Y5W0V1T2S";
    const REF_ULID: &str = "01J9ZQ5A0B1C2D3E4F5G6H7J8K";

    fn pay() -> Option<PaymentId> {
        PaymentId::parse(&format!("pay_{ULID}")).ok()
    }

    /// An event whose payment carries `extra` fields after `id`.
    fn ev(e: &str, extra: &str) -> String {
        format!(
            r#"{{"id":"evt_a&1","event":"{e}","dateCreated":"2026-07-01 16:45:03","payment":{{"object":"payment","id":"pay_080225913252","value":100.90,"externalReference":"pay_{ULID}"{extra}}}}}"#
        )
    }

    fn refund_event(dedupe: &str, r: RefundReport) -> GatewayEvent {
        GatewayEvent {
            dedupe_id: dedupe.into(),
            gateway_payment_id: "pay_080225913252".into(),
            payment_id: pay(),
            kind: GatewayEventKind::Refund(r),
        }
    }

    #[test]
    fn status_and_overdue_events() {
        let want = [
            (
                "PAYMENT_CONFIRMED",
                GatewayEventKind::Status(PaymentStatus::Succeeded),
            ),
            (
                "PAYMENT_RECEIVED",
                GatewayEventKind::Status(PaymentStatus::Succeeded),
            ),
            ("PAYMENT_OVERDUE", GatewayEventKind::Overdue),
            (
                "PAYMENT_DELETED",
                GatewayEventKind::Status(PaymentStatus::Canceled),
            ),
            (
                "PAYMENT_CREDIT_CARD_CAPTURE_REFUSED",
                GatewayEventKind::Status(PaymentStatus::Failed),
            ),
            (
                "PAYMENT_REPROVED_BY_RISK_ANALYSIS",
                GatewayEventKind::Status(PaymentStatus::Failed),
            ),
        ];
        for (name, kind) in want.iter().cloned() {
            assert_eq!(
                AsaasWebhooks.normalize(ev(name, "").as_bytes()).unwrap(),
                vec![GatewayEvent {
                    dedupe_id: "evt_a&1".into(),
                    gateway_payment_id: "pay_080225913252".into(),
                    payment_id: pay(),
                    kind,
                }],
                "{name}"
            );
        }
        // Every table entry that is not a refund event is covered above.
        let refunds = EVENTS
            .iter()
            .filter(|(_, a)| matches!(a, Action::Refunds { .. }))
            .count();
        assert_eq!(want.len() + refunds, EVENTS.len());
        for name in [
            "PAYMENT_CREATED",
            "PAYMENT_UPDATED",
            "PAYMENT_BANK_SLIP_VIEWED",
            "PAYMENT_RESTORED",
            "SOMETHING_NEW",
        ] {
            assert!(AsaasWebhooks
                .normalize(ev(name, "").as_bytes())
                .unwrap()
                .is_empty());
        }
        // Not every delivery is about a payment: unknown events need none.
        assert!(AsaasWebhooks
            .normalize(br#"{"id":"evt_2","event":"TRANSFER_DONE","transfer":{"id":"t1"}}"#)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn payment_id_from_external_reference_valid_absent_or_malformed() {
        let cases: &[(&str, Option<PaymentId>)] = &[
            ("", None),
            (r#","externalReference":null"#, None),
            (r#","externalReference":"order-42""#, None),
            (r#","externalReference":"pay_123""#, None),
            (r#","externalReference":42"#, None),
            (r#","externalReference":{"a":1}"#, None),
        ];
        for (field, want) in cases {
            let body = format!(
                r#"{{"id":"evt_1","event":"PAYMENT_RECEIVED","payment":{{"id":"pay_9"{field}}}}}"#
            );
            let got = AsaasWebhooks.normalize(body.as_bytes()).unwrap();
            assert_eq!(&got[0].payment_id, want, "{field}");
            assert_eq!(got[0].gateway_payment_id, "pay_9");
        }
        let got = AsaasWebhooks
            .normalize(ev("PAYMENT_RECEIVED", "").as_bytes())
            .unwrap();
        assert_eq!(got[0].payment_id, pay());
    }

    #[test]
    fn refund_entries_map_per_event() {
        use RefundStatus::*;
        // (event, entry status, reported status)
        let table = [
            ("PAYMENT_REFUNDED", "DONE", Succeeded),
            ("PAYMENT_REFUNDED", "PENDING", Pending),
            ("PAYMENT_REFUNDED", "CANCELLED", Failed),
            ("PAYMENT_PARTIALLY_REFUNDED", "DONE", Succeeded),
            ("PAYMENT_PARTIALLY_REFUNDED", "PENDING", Pending),
            ("PAYMENT_PARTIALLY_REFUNDED", "CANCELLED", Failed),
            ("PAYMENT_REFUND_IN_PROGRESS", "PENDING", Pending),
            ("PAYMENT_REFUND_IN_PROGRESS", "DONE", Succeeded),
            ("PAYMENT_REFUND_IN_PROGRESS", "SOMETHING_NEW", Pending),
            ("PAYMENT_REFUND_DENIED", "PENDING", Failed),
            ("PAYMENT_REFUND_DENIED", "SOMETHING_NEW", Failed),
            ("PAYMENT_REFUND_DENIED", "CANCELLED", Failed),
            ("PAYMENT_REFUND_DENIED", "DONE", Succeeded),
        ];
        for (event, entry, want) in table {
            let refunds = format!(
                r#","refunds":[{{"dateCreated":"2026-07-02 10:28:40","status":"{entry}","value":20.00,"description":"REF{REF_ULID}","transactionReceiptUrl":null}}]"#
            );
            let gid = format!("pay_080225913252:REF{REF_ULID}");
            assert_eq!(
                AsaasWebhooks
                    .normalize(ev(event, &refunds).as_bytes())
                    .unwrap(),
                vec![refund_event(
                    &format!("evt_a&1#{gid}"),
                    RefundReport {
                        gateway_refund_id: gid.clone(),
                        refund_id: Some(format!("ref_{REF_ULID}")),
                        amount: 2000,
                        status: want,
                    }
                )],
                "{event} {entry}"
            );
        }
    }

    #[test]
    fn refund_ids_own_id_our_key_or_synthesized() {
        let refunds = format!(
            r#","refunds":[
            {{"id":"rf_1","dateCreated":"2026-07-02 10:00:00","status":"DONE","value":1,"description":"REF{REF_ULID}"}},
            {{"id":777,"dateCreated":"2026-07-02 10:00:00","status":"DONE","value":"2.50","description":null}},
            {{"dateCreated":"2026-07-02 11:00:00","status":"DONE","value":3.1,"description":"Estorno pedido 42"}},
            {{"dateCreated":"2026-07-02 11:00:00","status":"PENDING","value":3.10}},
            {{"dateCreated":"2026-07-02 12:00:00","status":"DONE","value":4,"description":"REF1"}},
            {{"id":"","status":"DONE","value":5}},
            {{"id":null,"status":"DONE","value":0.05,"description":" REF{REF_ULID} "}}]"#
        );
        let got = AsaasWebhooks
            .normalize(ev("PAYMENT_PARTIALLY_REFUNDED", &refunds).as_bytes())
            .unwrap();
        let ours = Some(format!("ref_{REF_ULID}"));
        let report = |gid: &str, refund_id: Option<String>, amount, status| {
            refund_event(
                &format!("evt_a&1#{gid}"),
                RefundReport {
                    gateway_refund_id: gid.into(),
                    refund_id,
                    amount,
                    status,
                },
            )
        };
        assert_eq!(
            got,
            vec![
                report("rf_1", ours.clone(), 100, RefundStatus::Succeeded),
                report("777", None, 250, RefundStatus::Succeeded),
                report(
                    "pay_080225913252:2026-07-02 11:00:00:310",
                    None,
                    310,
                    RefundStatus::Succeeded
                ),
                report(
                    "pay_080225913252:2026-07-02 11:00:00:310:2",
                    None,
                    310,
                    RefundStatus::Pending
                ),
                report(
                    "pay_080225913252:2026-07-02 12:00:00:400",
                    None,
                    400,
                    RefundStatus::Succeeded
                ),
                report("pay_080225913252::500", None, 500, RefundStatus::Succeeded),
                report(
                    &format!("pay_080225913252:REF{REF_ULID}"),
                    ours,
                    5,
                    RefundStatus::Succeeded
                ),
            ]
        );
        let mut dedupe: Vec<_> = got.iter().map(|e| e.dedupe_id.clone()).collect();
        dedupe.sort();
        dedupe.dedup();
        assert_eq!(dedupe.len(), got.len(), "one dedupe id per refund");
    }

    #[test]
    fn a_full_refund_without_a_list() {
        for list in ["", r#","refunds":null"#, r#","refunds":[]"#] {
            assert_eq!(
                AsaasWebhooks
                    .normalize(ev("PAYMENT_REFUNDED", list).as_bytes())
                    .unwrap(),
                vec![GatewayEvent {
                    dedupe_id: "evt_a&1".into(),
                    gateway_payment_id: "pay_080225913252".into(),
                    payment_id: PaymentId::parse(&format!("pay_{ULID}")).ok(),
                    kind: GatewayEventKind::RefundedInFull,
                }],
                "{list}"
            );
            // The other refund events say nothing without a list.
            for e in [
                "PAYMENT_PARTIALLY_REFUNDED",
                "PAYMENT_REFUND_IN_PROGRESS",
                "PAYMENT_REFUND_DENIED",
            ] {
                assert!(AsaasWebhooks
                    .normalize(ev(e, list).as_bytes())
                    .unwrap()
                    .is_empty());
            }
        }
    }

    #[test]
    fn malformed_bodies_are_errors() {
        let bodies = [
            "".to_string(),
            "[]".into(),
            "{}".into(),
            r#"{"id":"evt_1"}"#.into(),
            r#"{"event":"PAYMENT_RECEIVED","payment":{"id":"pay_1"}}"#.into(),
            r#"{"id":"evt_1","event":"PAYMENT_RECEIVED"}"#.into(),
            r#"{"id":"evt_1","event":"PAYMENT_RECEIVED","payment":null}"#.into(),
            r#"{"id":"evt_1","event":"PAYMENT_RECEIVED","payment":{"value":1}}"#.into(),
            r#"{"id":"evt_1","event":"PAYMENT_RECEIVED","payment":"pay_1"}"#.into(),
            // Refund entries without a readable value or status.
            ev("PAYMENT_REFUNDED", r#","refunds":"x""#),
            ev("PAYMENT_REFUNDED", r#","refunds":[{"status":"DONE"}]"#),
            ev(
                "PAYMENT_REFUNDED",
                r#","refunds":[{"status":"DONE","value":null}]"#,
            ),
            ev(
                "PAYMENT_REFUNDED",
                r#","refunds":[{"status":"DONE","value":"abc"}]"#,
            ),
            ev(
                "PAYMENT_REFUNDED",
                r#","refunds":[{"status":"DONE","value":1e2}]"#,
            ),
            ev("PAYMENT_REFUNDED", r#","refunds":[{"value":1}]"#),
        ];
        for b in bodies {
            assert!(
                matches!(
                    AsaasWebhooks.normalize(b.as_bytes()),
                    Err(WebhookError::Malformed {
                        gateway: "asaas",
                        ..
                    })
                ),
                "{b}"
            );
        }
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
                client_cert_verified: false,
                live: false,
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
            client_cert_verified: false,
            live: false,
            now: 0,
        };
        let secrets = WebhookSecrets {
            asaas_token: Some("tok".into()),
            ..WebhookSecrets::default()
        };
        assert_eq!(AsaasWebhooks.verify(&secrets, &req), Ok(()));
    }
}
