//! The webhooks the simulators send when the dev server's controls play the payer, the 3DS
//! step or the bank: each in its gateway's own shape and authentication (Stripe
//! `Stripe-Signature` over the body, the Asaas `asaas-access-token` header, the EFI `hmac`
//! query secret), so they go through the same receiver, queue and worker as a real gateway's.
//!
//! Event ids are derived from the charge (or refund) and what is reported, so sending the same
//! report twice is the same gateway event twice, which the worker applies once.

use super::{SimCharge, SimRefund};
use crate::domain::{PaymentMethod, TenantId};
use crate::ports::WebhookSecrets;
use crate::signing::stripe::compute;
use serde_json::json;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// What the webhook reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report<'a> {
    /// The payer paid the Pix or the boleto, or the card's 3DS step succeeded.
    Paid,
    /// The card's 3DS step failed.
    AuthenticationFailed,
    /// The Pix or boleto reached its expiry unpaid: Stripe cancels the PaymentIntent, Asaas
    /// marks the charge overdue (still payable), EFI sends nothing (its cobrança just reads
    /// as expired).
    Expired,
    /// A pending refund settled; its status says how.
    Refund(&'a SimRefund),
}

/// One webhook request, ready for the receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedWebhook {
    /// `/webhooks/{gateway}/{tenant}`.
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// The tenant has no secret for this gateway's webhooks, so no request could authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSecret(pub &'static str);

/// Builds `report` about `charge` as `gateway` would send it to `tenant` at `now` (Unix s);
/// `None` when the gateway sends nothing for it (an EFI Pix expiring).
pub fn build(
    gateway: &str,
    tenant: &TenantId,
    secrets: &WebhookSecrets,
    charge: &SimCharge,
    method: PaymentMethod,
    report: Report<'_>,
    now: i64,
) -> Result<Option<SignedWebhook>, NoSecret> {
    let path = format!("/webhooks/{gateway}/{}", tenant.as_str());
    if gateway == "efi" && report == Report::Expired {
        return Ok(None);
    }
    match gateway {
        "stripe" => {
            let secret = secrets
                .stripe_at(now)
                .first()
                .filter(|s| !crate::ports::is_blank_secret(s))
                .ok_or(NoSecret("webhook_secrets.stripe"))?;
            let body = stripe_body(charge, report, now);
            let sig = format!("t={now},v1={}", compute(secret, now, body.as_bytes()));
            Ok(Some(SignedWebhook {
                path,
                query: None,
                headers: vec![("stripe-signature", sig)],
                body,
            }))
        }
        "asaas" => {
            let token = secrets
                .asaas_token
                .clone()
                .filter(|s| !crate::ports::is_blank_secret(s))
                .ok_or(NoSecret("webhook_secrets.asaas_token"))?;
            Ok(Some(SignedWebhook {
                path,
                query: None,
                headers: vec![("asaas-access-token", token)],
                body: asaas_body(charge, method, report, now),
            }))
        }
        _ => {
            let hmac = secrets
                .efi_hmac
                .clone()
                .filter(|s| !crate::ports::is_blank_secret(s))
                .ok_or(NoSecret("webhook_secrets.efi_hmac"))?;
            // As EFI calls the registered URL: `/pix` appended, landing in `ignorar`.
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("hmac", &hmac)
                .append_pair("ignorar", "/pix")
                .finish();
            Ok(Some(SignedWebhook {
                path,
                query: Some(query),
                headers: Vec::new(),
                body: efi_body(charge, report, now),
            }))
        }
    }
}

/// A stable id for what is reported about what.
fn digest(parts: &[&str]) -> String {
    hex::encode(Sha256::digest(parts.join("|").as_bytes()))
}

/// Minor units as a decimal of two places (`1990` → `19.90`); Asaas and EFI take reais only.
fn reais(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

/// The same decimal as a JSON number (Asaas sends `value` as a number), exact: never through a
/// float. `reais` always writes a valid number, so `None` does not happen.
fn reais_number(minor: i64) -> Option<Box<RawValue>> {
    RawValue::from_string(reais(minor)).ok()
}

fn stripe_body(charge: &SimCharge, report: Report<'_>, now: i64) -> String {
    let pid = charge.payment_id.as_str();
    let (kind, object) = match report {
        Report::Paid => (
            "payment_intent.succeeded",
            json!({"id": charge.gateway_payment_id, "object": "payment_intent",
                   "amount": charge.amount, "amount_received": charge.amount,
                   "status": "succeeded", "metadata": {"payment_id": pid}}),
        ),
        Report::AuthenticationFailed => (
            "payment_intent.payment_failed",
            json!({"id": charge.gateway_payment_id, "object": "payment_intent",
                   "amount": charge.amount, "status": "requires_payment_method",
                   "last_payment_error": {"code": "payment_intent_authentication_failure",
                       "message": "The provided PaymentMethod has failed authentication."},
                   "metadata": {"payment_id": pid}}),
        ),
        Report::Expired => (
            "payment_intent.canceled",
            json!({"id": charge.gateway_payment_id, "object": "payment_intent",
                   "amount": charge.amount, "status": "canceled",
                   "cancellation_reason": "automatic", "metadata": {"payment_id": pid}}),
        ),
        Report::Refund(r) => (
            "refund.updated",
            json!({"id": r.gateway_refund_id, "object": "refund", "amount": r.amount,
                   "status": stripe_refund_status(r), "payment_intent": charge.gateway_payment_id,
                   "metadata": {"payment_id": pid, "refund_id": refund_id(&r.refund_key)}}),
        ),
    };
    let what = match report {
        Report::Refund(r) => format!("{kind}:{}:{:?}", r.refund_key, r.status),
        _ => kind.to_string(),
    };
    let id = format!(
        "evt_sim_{}",
        &digest(&[&charge.gateway_payment_id, &what])[..24]
    );
    json!({"id": id, "object": "event", "type": kind, "created": now, "livemode": false,
           "api_version": "2024-06-20", "data": {"object": object}})
    .to_string()
}

fn stripe_refund_status(r: &SimRefund) -> &'static str {
    match r.status {
        crate::domain::RefundStatus::Succeeded => "succeeded",
        crate::domain::RefundStatus::Failed => "failed",
        crate::domain::RefundStatus::Pending => "pending",
    }
}

/// Our refund id back from the refund key the gateway holds (`REF<ulid>` → `ref_<ulid>`).
fn refund_id(refund_key: &str) -> String {
    format!(
        "ref_{}",
        refund_key.strip_prefix("REF").unwrap_or(refund_key)
    )
}

fn asaas_date(now: i64) -> String {
    chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AsaasPayment<'a> {
    object: &'static str,
    id: &'a str,
    value: Option<Box<RawValue>>,
    external_reference: &'a str,
    billing_type: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    refunds: Vec<AsaasRefund<'a>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AsaasRefund<'a> {
    id: &'a str,
    status: &'static str,
    value: Option<Box<RawValue>>,
    description: &'a str,
    date_created: String,
}

fn asaas_body(charge: &SimCharge, method: PaymentMethod, report: Report<'_>, now: i64) -> String {
    let billing_type = match method {
        PaymentMethod::Pix => "PIX",
        PaymentMethod::Boleto => "BOLETO",
        PaymentMethod::Card => "CREDIT_CARD",
    };
    let mut payment = AsaasPayment {
        object: "payment",
        id: &charge.gateway_payment_id,
        value: reais_number(charge.amount),
        external_reference: charge.payment_id.as_str(),
        billing_type,
        status: "RECEIVED",
        refunds: Vec::new(),
    };
    let (event, what) = match report {
        Report::Paid if method == PaymentMethod::Card => {
            payment.status = "CONFIRMED";
            ("PAYMENT_CONFIRMED", String::new())
        }
        Report::Paid => ("PAYMENT_RECEIVED", String::new()),
        Report::AuthenticationFailed => {
            payment.status = "PENDING";
            ("PAYMENT_CREDIT_CARD_CAPTURE_REFUSED", String::new())
        }
        Report::Expired => {
            payment.status = "OVERDUE";
            ("PAYMENT_OVERDUE", String::new())
        }
        Report::Refund(r) => {
            let ok = r.status == crate::domain::RefundStatus::Succeeded;
            payment.refunds.push(AsaasRefund {
                id: &r.gateway_refund_id,
                status: if ok { "DONE" } else { "CANCELLED" },
                value: reais_number(r.amount),
                description: &r.refund_key,
                date_created: asaas_date(now),
            });
            let event = match (ok, r.amount >= charge.amount) {
                (false, _) => "PAYMENT_REFUND_DENIED",
                (true, true) => {
                    payment.status = "REFUNDED";
                    "PAYMENT_REFUNDED"
                }
                (true, false) => "PAYMENT_PARTIALLY_REFUNDED",
            };
            (event, r.refund_key.clone())
        }
    };
    let id = format!(
        "evt_{}&1",
        &digest(&[&charge.gateway_payment_id, event, &what])[..32]
    );
    json!({"id": id, "event": event, "dateCreated": asaas_date(now), "payment": payment})
        .to_string()
}

fn efi_end_to_end_id(charge: &SimCharge, now: i64) -> String {
    let stamp = chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .format("%Y%m%d%H%M")
        .to_string();
    let tail: String = digest(&[&charge.gateway_payment_id, "e2e"])
        .chars()
        .take(11)
        .collect();
    // `E` + the payer's bank ISPB + when + 11 characters: 32 in all, as the Pix rules say.
    format!("E18236120{stamp}{tail}")
}

fn efi_body(charge: &SimCharge, report: Report<'_>, now: i64) -> String {
    let horario = chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string();
    let mut pix = json!({
        "endToEndId": efi_end_to_end_id(charge, now),
        "txid": charge.gateway_payment_id,
        "chave": "pix@efi.sim.local",
        "valor": reais(charge.amount),
        "horario": horario,
    });
    if let Report::Refund(r) = report {
        let ok = r.status == crate::domain::RefundStatus::Succeeded;
        pix["devolucoes"] = json!([{
            "id": r.refund_key,
            "rtrId": format!("D18236120{}", &digest(&[&r.refund_key])[..23]),
            "valor": reais(r.amount),
            "horario": {"solicitacao": horario},
            "status": if ok { "DEVOLVIDO" } else { "NAO_REALIZADO" },
        }]);
    }
    json!({ "pix": [pix] }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PaymentStatus;
    use crate::domain::{PaymentId, RefundStatus};
    use crate::gateways::webhooks::{GatewayEventKind, InboundWebhook, WebhookRegistry};

    fn charge() -> SimCharge {
        SimCharge {
            gateway_payment_id: "sim_x_0123".into(),
            payment_id: PaymentId::parse("pay_01J9ZQ4M3K8D2B6X7Y5W0V1T2S").unwrap(),
            status: PaymentStatus::Pending,
            amount: 1990,
        }
    }

    fn secrets() -> WebhookSecrets {
        WebhookSecrets {
            stripe: vec!["whsec_test".into()],
            asaas_token: Some("tok".into()),
            efi_hmac: Some("h&m=c".into()),
            ..WebhookSecrets::default()
        }
    }

    /// Every built webhook passes its gateway's own verification and normalizes to what it
    /// reports, for our payment, on the simulator's charge.
    #[test]
    fn each_gateway_verifies_and_normalizes_what_is_sent() {
        let reg = WebhookRegistry::standard();
        let tenant = TenantId::parse("ten_a.test").unwrap();
        let now = 1_780_000_000;
        let refund = SimRefund {
            refund_key: "REF01J9ZQ5A0B1C2D3E4F5G6H7J8K".into(),
            gateway_refund_id: "sim_re_REF01J9ZQ5A0B1C2D3E4F5G6H7J8K".into(),
            gateway_payment_id: "sim_x_0123".into(),
            amount: 1058,
            status: RefundStatus::Succeeded,
        };
        for gw in ["stripe", "asaas", "efi"] {
            for report in [Report::Paid, Report::Refund(&refund)] {
                let w = build(
                    gw,
                    &tenant,
                    &secrets(),
                    &charge(),
                    PaymentMethod::Pix,
                    report,
                    now,
                )
                .unwrap()
                .unwrap();
                let mut headers = http::HeaderMap::new();
                for (k, v) in &w.headers {
                    headers.insert(*k, v.parse().unwrap());
                }
                let m = reg.get(gw).unwrap();
                m.verify(
                    &secrets(),
                    &InboundWebhook {
                        headers: &headers,
                        query: w.query.as_deref(),
                        body: w.body.as_bytes(),
                        source_ip: None,
                        client_cert_verified: false,
                        live: false,
                        now,
                    },
                )
                .unwrap_or_else(|e| panic!("{gw}: {e}"));
                let evs = m.normalize(w.body.as_bytes()).unwrap();
                let ev = evs.last().unwrap_or_else(|| panic!("{gw}: no event"));
                assert_eq!(ev.gateway_payment_id, "sim_x_0123", "{gw}");
                match report {
                    Report::Paid => {
                        assert_eq!(ev.kind, GatewayEventKind::Status(PaymentStatus::Succeeded))
                    }
                    _ => match &ev.kind {
                        GatewayEventKind::Refund(r) => {
                            assert_eq!(r.amount, 1058, "{gw}");
                            assert_eq!(r.status, RefundStatus::Succeeded, "{gw}");
                            assert_eq!(
                                r.refund_id.as_deref(),
                                Some("ref_01J9ZQ5A0B1C2D3E4F5G6H7J8K"),
                                "{gw}"
                            );
                        }
                        other => panic!("{gw}: {other:?}"),
                    },
                }
            }
        }
    }

    #[test]
    fn missing_secret_is_named_and_reais_are_exact() {
        let t = TenantId::parse("ten_a.test").unwrap();
        for gw in ["stripe", "asaas", "efi"] {
            assert!(build(
                gw,
                &t,
                &WebhookSecrets::default(),
                &charge(),
                PaymentMethod::Pix,
                Report::Paid,
                0
            )
            .is_err());
        }
        assert_eq!(reais(1990), "19.90");
        assert_eq!(reais(5), "0.05");
        assert_eq!(reais_number(100_001).unwrap().get(), "1000.01");
    }

    #[test]
    fn expiry_is_each_gateways_own() {
        let t = TenantId::parse("ten_a.test").unwrap();
        let reg = WebhookRegistry::standard();
        let kind = |gw: &str| {
            let w = build(
                gw,
                &t,
                &secrets(),
                &charge(),
                PaymentMethod::Boleto,
                Report::Expired,
                0,
            )
            .unwrap();
            w.map(|w| {
                reg.get(gw).unwrap().normalize(w.body.as_bytes()).unwrap()[0]
                    .kind
                    .clone()
            })
        };
        assert_eq!(
            kind("stripe"),
            Some(GatewayEventKind::Status(PaymentStatus::Canceled))
        );
        assert_eq!(kind("asaas"), Some(GatewayEventKind::Overdue));
        assert_eq!(kind("efi"), None);
    }
}
