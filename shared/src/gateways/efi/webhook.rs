//! EFI Pix webhooks: the `hmac` query secret (constant-time) plus the source-IP allowlist
//! (optional for test tenants; for a live tenant the source IP must be listed unless the request
//! came over mutual TLS with EFI's certificate), and the `{"pix": [...]}` arrays (several
//! items, refunds under `devolucoes`).

use crate::domain::{parse_decimal, PaymentStatus, RefundStatus};
use crate::gateways::keys::{payment_id_from_key, refund_id_from_key};
use crate::gateways::webhooks::{
    malformed, GatewayEvent, GatewayEventKind, GatewayWebhooks, InboundWebhook, RefundReport,
    WebhookError,
};
use crate::ports::{is_blank_secret, WebhookSecrets};
use crate::signing::constant_time_eq;
use serde::Deserialize;

/// EFI's webhook module.
pub struct EfiWebhooks;

/// `{"pix": [...]}`: one POST may carry several received Pix.
#[derive(Deserialize)]
struct Notification {
    pix: Vec<Pix>,
}

/// A received (or sent) Pix. Only items with a txid are charges of ours.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pix {
    end_to_end_id: String,
    #[serde(default)]
    txid: Option<String>,
    #[serde(default)]
    devolucoes: Vec<Devolucao>,
}

/// A devolução (refund) of the Pix, in its current state.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Devolucao {
    /// The id the refunder chose: ours is the refund key `REF<ulid>`.
    id: String,
    /// Decimal reais, `"7.89"`.
    valor: String,
    status: String,
}

/// Devolução `status` → refund status. A status this table lacks is pending: not known to
/// have moved money or to have failed, and a later notification settles it.
const DEVOLUCAO_STATUSES: &[(&str, RefundStatus)] = &[
    ("EM_PROCESSAMENTO", RefundStatus::Pending),
    ("DEVOLVIDO", RefundStatus::Succeeded),
    ("NAO_REALIZADO", RefundStatus::Failed),
];

fn devolucao_status(status: &str) -> RefundStatus {
    DEVOLUCAO_STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or(RefundStatus::Pending, |(_, to)| *to)
}

impl GatewayWebhooks for EfiWebhooks {
    fn name(&self) -> &'static str {
        "efi"
    }

    fn verify(
        &self,
        secrets: &WebhookSecrets,
        req: &InboundWebhook<'_>,
    ) -> Result<(), WebhookError> {
        // A blank secret is no secret: it would match `?hmac=`.
        let want = secrets
            .efi_hmac
            .as_deref()
            .filter(|h| !is_blank_secret(h))
            .ok_or(WebhookError::Unauthorized(
                "no EFI webhook secret configured",
            ))?;
        let got = form_urlencoded::parse(req.query.unwrap_or("").as_bytes())
            .find(|(k, _)| k == "hmac")
            .map(|(_, v)| v.into_owned())
            .ok_or(WebhookError::Unauthorized("missing hmac query parameter"))?;
        if !constant_time_eq(got.as_bytes(), want.as_bytes()) {
            return Err(WebhookError::Unauthorized("hmac does not match"));
        }
        let listed = req
            .source_ip
            .is_some_and(|ip| secrets.efi_allowed_ips.contains(&ip));
        if !secrets.efi_allowed_ips.is_empty() && !listed {
            return Err(WebhookError::Unauthorized(
                "source IP not in the EFI allowlist",
            ));
        }
        // The `hmac` is a static value in a URL: for real money, EFI's docs ask for proof of
        // the sender too — its client certificate (mutual TLS) or its source IP.
        if req.live && !listed && !req.client_cert_verified {
            return Err(WebhookError::Unauthorized(
                "a live tenant's EFI webhook must come from an allowlisted source IP (webhook_secrets.efi_allowed_ips) or over mutual TLS with EFI's client certificate",
            ));
        }
        Ok(())
    }

    /// Each item with a txid: the charge succeeded (deduped on `endToEndId`, so the same Pix
    /// re-sent with its refunds is one payment event), plus one refund report per devolução,
    /// deduped on `<endToEndId>#<devolução id>#<status>` since EFI has no event id and a refund
    /// is notified again when its status changes. Items without a txid (outgoing Pix, static
    /// QR codes) are not charges of ours.
    fn normalize(&self, body: &[u8]) -> Result<Vec<GatewayEvent>, WebhookError> {
        let n: Notification = serde_json::from_slice(body).map_err(|e| malformed("efi", e))?;
        let mut out = Vec::new();
        for p in n.pix {
            let Some(txid) = p.txid.filter(|t| !t.is_empty()) else {
                continue;
            };
            // Our txid is `PAY<ulid>`; a charge made elsewhere on the account has another shape.
            let payment_id = payment_id_from_key(&txid);
            out.push(GatewayEvent {
                dedupe_id: p.end_to_end_id.clone(),
                gateway_payment_id: txid.clone(),
                payment_id: payment_id.clone(),
                kind: GatewayEventKind::Status(PaymentStatus::Succeeded),
            });
            for d in p.devolucoes {
                let amount = parse_decimal(&d.valor, 2).ok_or_else(|| {
                    malformed("efi", format!("devolução {} valor {:?}", d.id, d.valor))
                })?;
                out.push(GatewayEvent {
                    dedupe_id: format!("{}#{}#{}", p.end_to_end_id, d.id, d.status),
                    gateway_payment_id: txid.clone(),
                    payment_id: payment_id.clone(),
                    kind: GatewayEventKind::Refund(RefundReport {
                        refund_id: refund_id_from_key(&d.id),
                        amount,
                        status: devolucao_status(&d.status),
                        // The same choice as the client's answer (`efi::transformers::to_refund`).
                        // The devolução id: always present and never changing (`rtrId` may
                        // only appear in a later notification of the same refund).
                        gateway_refund_id: d.id.clone(),
                    }),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::PaymentId;
    use std::net::IpAddr;

    const ULID: &str = "01J9ZQ4M3K8D2B6X7Y5W0V1T2S";
    const REF_ULID: &str = "01J9ZQ5A0B1C2D3E4F5G6H7J8K";

    fn pay() -> Option<PaymentId> {
        PaymentId::parse(&format!("pay_{ULID}")).ok()
    }

    fn refund(
        dedupe: &str,
        txid: &str,
        payment_id: Option<PaymentId>,
        gateway_refund_id: &str,
        refund_id: Option<String>,
        amount: i64,
        status: RefundStatus,
    ) -> GatewayEvent {
        GatewayEvent {
            dedupe_id: dedupe.into(),
            gateway_payment_id: txid.into(),
            payment_id,
            kind: GatewayEventKind::Refund(RefundReport {
                gateway_refund_id: gateway_refund_id.into(),
                refund_id,
                amount,
                status,
            }),
        }
    }

    #[test]
    fn several_items_refunds_and_foreign_pix() {
        let body = format!(
            r#"{{"pix":[
          {{"endToEndId":"E1","txid":"PAY{ULID}","valor":"10.00","horario":"2026-11-21T13:40:34.000Z"}},
          {{"endToEndId":"E2","txid":"TX2","valor":"30.00","horario":"2026-11-21T13:40:34.000Z",
           "devolucoes":[{{"id":"REF{REF_ULID}","rtrId":"R1","valor":"7.89","horario":{{"solicitacao":"2026-11-22T10:00:00.000Z"}},"status":"DEVOLVIDO"}},
                         {{"id":"D2","valor":"1.1","status":"NAO_REALIZADO"}},
                         {{"id":"D3","rtrId":"R3","valor":"5","status":"EM_PROCESSAMENTO"}}]}},
          {{"endToEndId":"E3","chave":"k","valor":"1.00","tipo":"SOLICITACAO","status":"REALIZADO","gnExtras":{{"idEnvio":"x"}}}}]}}"#
        );
        let evs = EfiWebhooks.normalize(body.as_bytes()).unwrap();
        let paid = |e2e: &str, txid: &str, payment_id| GatewayEvent {
            dedupe_id: e2e.into(),
            gateway_payment_id: txid.into(),
            payment_id,
            kind: GatewayEventKind::Status(PaymentStatus::Succeeded),
        };
        assert_eq!(
            evs,
            vec![
                paid("E1", &format!("PAY{ULID}"), pay()),
                paid("E2", "TX2", None),
                refund(
                    &format!("E2#REF{REF_ULID}#DEVOLVIDO"),
                    "TX2",
                    None,
                    &format!("REF{REF_ULID}"),
                    Some(format!("ref_{REF_ULID}")),
                    789,
                    RefundStatus::Succeeded
                ),
                refund(
                    "E2#D2#NAO_REALIZADO",
                    "TX2",
                    None,
                    "D2",
                    None,
                    110,
                    RefundStatus::Failed
                ),
                refund(
                    "E2#D3#EM_PROCESSAMENTO",
                    "TX2",
                    None,
                    "D3",
                    None,
                    500,
                    RefundStatus::Pending
                ),
            ]
        );
    }

    #[test]
    fn devolucao_status_table_and_a_new_status_is_a_new_event() {
        let mut seen = std::collections::BTreeSet::new();
        for (status, want) in DEVOLUCAO_STATUSES
            .iter()
            .copied()
            .chain([("UM_STATUS_NOVO", RefundStatus::Pending)])
        {
            let body = format!(
                r#"{{"pix":[{{"endToEndId":"E1","txid":"PAY{ULID}","valor":"10.00",
                  "devolucoes":[{{"id":"REF{REF_ULID}","rtrId":"R1","valor":"10.00","status":"{status}"}}]}}]}}"#
            );
            let evs = EfiWebhooks.normalize(body.as_bytes()).unwrap();
            assert_eq!(evs.len(), 2);
            assert_eq!(
                evs[1],
                refund(
                    &format!("E1#REF{REF_ULID}#{status}"),
                    &format!("PAY{ULID}"),
                    pay(),
                    &format!("REF{REF_ULID}"),
                    Some(format!("ref_{REF_ULID}")),
                    1000,
                    want
                ),
                "{status}"
            );
            assert!(seen.insert(evs[1].dedupe_id.clone()));
        }
    }

    #[test]
    fn payment_id_from_txid_valid_or_foreign() {
        let cases: &[(String, Option<PaymentId>)] = &[
            (format!("PAY{ULID}"), pay()),
            (format!("PAY{}", ULID.to_lowercase()), pay()),
            ("7978c0c97ea847e78e8849634473c1f1".into(), None),
            (format!("pay{ULID}"), None),
            (format!("PAY{ULID}0"), None),
            (format!("REF{ULID}"), None),
            ("PAY".into(), None),
        ];
        for (txid, want) in cases {
            let body =
                format!(r#"{{"pix":[{{"endToEndId":"E1","txid":"{txid}","valor":"1.00"}}]}}"#);
            let evs = EfiWebhooks.normalize(body.as_bytes()).unwrap();
            assert_eq!(&evs[0].payment_id, want, "{txid}");
            assert_eq!(&evs[0].gateway_payment_id, txid);
        }
    }

    #[test]
    fn items_without_txid_are_ignored() {
        for body in [
            r#"{"pix":[]}"#,
            r#"{"pix":[{"endToEndId":"E1","chave":"k","valor":"1.00"}]}"#,
            r#"{"pix":[{"endToEndId":"E1","txid":"","valor":"1.00"}]}"#,
            r#"{"pix":[{"endToEndId":"E1","txid":null,"valor":"1.00","devolucoes":[{"id":"D1","valor":"1.00","status":"DEVOLVIDO"}]}]}"#,
        ] {
            assert!(
                EfiWebhooks.normalize(body.as_bytes()).unwrap().is_empty(),
                "{body}"
            );
        }
    }

    #[test]
    fn malformed_bodies_are_errors() {
        for body in [
            "",
            "[]",
            "{}",
            r#"{"pix":"x"}"#,
            r#"{"pix":[{"txid":"TX1"}]}"#,
            r#"{"pix":[{"endToEndId":7,"txid":"TX1"}]}"#,
            r#"{"pix":[{"endToEndId":"E1","txid":"TX1","devolucoes":"x"}]}"#,
            r#"{"pix":[{"endToEndId":"E1","txid":"TX1","devolucoes":[{"id":"D1","status":"DEVOLVIDO"}]}]}"#,
            r#"{"pix":[{"endToEndId":"E1","txid":"TX1","devolucoes":[{"id":"D1","valor":"abc","status":"DEVOLVIDO"}]}]}"#,
            r#"{"pix":[{"endToEndId":"E1","txid":"TX1","devolucoes":[{"id":"D1","valor":"-1.00","status":"DEVOLVIDO"}]}]}"#,
            r#"{"pix":[{"endToEndId":"E1","txid":"TX1","devolucoes":[{"id":"D1","valor":"1.001","status":"DEVOLVIDO"}]}]}"#,
            r#"{"pix":[{"endToEndId":"E1","txid":"TX1","devolucoes":[{"id":"D1","valor":1.5,"status":"DEVOLVIDO"}]}]}"#,
            r#"{"pix":[{"endToEndId":"E1","txid":"TX1","devolucoes":[{"valor":"1.00","status":"DEVOLVIDO"}]}]}"#,
        ] {
            assert!(
                matches!(
                    EfiWebhooks.normalize(body.as_bytes()),
                    Err(WebhookError::Malformed { gateway: "efi", .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn a_blank_configured_hmac_authenticates_nothing() {
        let headers = http::HeaderMap::new();
        let body = br#"{"pix":[]}"#;
        let at = |query| InboundWebhook {
            headers: &headers,
            query,
            body,
            source_ip: None,
            client_cert_verified: false,
            live: false,
            now: 0,
        };
        for (configured, query) in [
            ("", Some("hmac=&ignorar=/pix")),
            ("", Some("hmac=")),
            (" ", Some("hmac=%20")),
            ("", None),
        ] {
            let secrets = WebhookSecrets {
                efi_hmac: Some(configured.to_string()),
                ..WebhookSecrets::default()
            };
            assert_eq!(
                EfiWebhooks.verify(&secrets, &at(query)),
                Err(WebhookError::Unauthorized(
                    "no EFI webhook secret configured"
                ))
            );
        }
        let secrets = WebhookSecrets {
            efi_hmac: Some("s3cret".into()),
            ..WebhookSecrets::default()
        };
        assert_eq!(
            EfiWebhooks.verify(&secrets, &at(Some("hmac=s3cret&ignorar=/pix"))),
            Ok(())
        );
    }

    /// A live tenant's EFI webhook needs more than the `hmac`: a source IP on the allowlist,
    /// or EFI's client certificate over mutual TLS. A configured allowlist binds every
    /// tenant; a test tenant without one keeps the `hmac` alone.
    #[test]
    fn a_live_tenant_needs_a_listed_ip_or_mutual_tls() {
        let headers = http::HeaderMap::new();
        let body = br#"{"pix":[]}"#;
        let hmac = "efi-hmac-of-at-least-thirty-two-characters";
        let query = format!("hmac={hmac}&ignorar=/pix");
        let efi_ip: IpAddr = "34.193.116.226".parse().unwrap();
        let other: IpAddr = "203.0.113.9".parse().unwrap();
        let req = |source_ip, client_cert_verified, live| InboundWebhook {
            headers: &headers,
            query: Some(&query),
            body,
            source_ip,
            client_cert_verified,
            live,
            now: 0,
        };
        let listed = WebhookSecrets {
            efi_hmac: Some(hmac.into()),
            efi_allowed_ips: vec![efi_ip],
            ..WebhookSecrets::default()
        };
        let unlisted = WebhookSecrets {
            efi_allowed_ips: vec![],
            ..listed.clone()
        };
        let live_refusal = Err(WebhookError::Unauthorized(
            "a live tenant's EFI webhook must come from an allowlisted source IP (webhook_secrets.efi_allowed_ips) or over mutual TLS with EFI's client certificate",
        ));
        let not_listed = Err(WebhookError::Unauthorized(
            "source IP not in the EFI allowlist",
        ));
        for (secrets, ip, mtls, live, want) in [
            // Live: a listed IP, or mutual TLS where no allowlist is configured.
            (&listed, Some(efi_ip), false, true, Ok(())),
            (&listed, Some(other), false, true, not_listed.clone()),
            (&listed, None, false, true, not_listed.clone()),
            (&listed, Some(other), true, true, not_listed.clone()),
            (&unlisted, Some(efi_ip), false, true, live_refusal.clone()),
            (&unlisted, None, false, true, live_refusal.clone()),
            (&unlisted, None, true, true, Ok(())),
            (&unlisted, Some(other), true, true, Ok(())),
            // Test mode: today's rule.
            (&unlisted, None, false, false, Ok(())),
            (&unlisted, Some(other), false, false, Ok(())),
            (&listed, Some(efi_ip), false, false, Ok(())),
            (&listed, Some(other), false, false, not_listed.clone()),
        ] {
            assert_eq!(
                EfiWebhooks.verify(secrets, &req(ip, mtls, live)),
                want,
                "ip {ip:?}, mtls {mtls}, live {live}, allowlist {:?}",
                secrets.efi_allowed_ips
            );
        }
        // The hmac is checked first, whatever else holds.
        let wrong = InboundWebhook {
            query: Some("hmac=wrong&ignorar=/pix"),
            ..req(Some(efi_ip), true, true)
        };
        assert_eq!(
            EfiWebhooks.verify(&listed, &wrong),
            Err(WebhookError::Unauthorized("hmac does not match"))
        );
    }
}
