//! EFI Pix webhooks: the `hmac` query secret (constant-time) plus an optional source-IP
//! allowlist, and the `{"pix": [...]}` arrays (several items, refunds under `devolucoes`).

use crate::domain::PaymentStatus;
use crate::gateways::webhooks::{
    malformed, GatewayEvent, GatewayEventKind, GatewayWebhooks, InboundWebhook, WebhookError,
};
use crate::ports::{is_blank_secret, WebhookSecrets};
use crate::signing::constant_time_eq;
use serde::Deserialize;

/// EFI's webhook module.
pub struct EfiWebhooks;

#[derive(Deserialize)]
struct Notification {
    pix: Vec<Pix>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pix {
    end_to_end_id: String,
    txid: Option<String>,
    #[serde(default)]
    devolucoes: Vec<Devolucao>,
}

#[derive(Deserialize)]
struct Devolucao {
    id: String,
    valor: String,
    status: String,
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
        if !secrets.efi_allowed_ips.is_empty()
            && !req
                .source_ip
                .is_some_and(|ip| secrets.efi_allowed_ips.contains(&ip))
        {
            return Err(WebhookError::Unauthorized(
                "source IP not in the EFI allowlist",
            ));
        }
        Ok(())
    }

    fn normalize(&self, body: &[u8]) -> Result<Vec<GatewayEvent>, WebhookError> {
        let n: Notification = serde_json::from_slice(body).map_err(|e| malformed("efi", e))?;
        let mut out = Vec::new();
        // Items without a txid are outgoing or static-QR Pix: not ours to settle.
        for p in n.pix.into_iter().filter(|p| p.txid.is_some()) {
            let txid = p.txid.unwrap_or_default();
            out.push(GatewayEvent {
                dedupe_id: p.end_to_end_id.clone(),
                gateway_payment_id: txid,
                payment_id: None,
                kind: GatewayEventKind::Status(PaymentStatus::Succeeded),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_items_refunds_and_foreign_pix() {
        let body = br#"{"pix":[
          {"endToEndId":"E1","txid":"TX1","valor":"10.00","horario":"2026-11-21T13:40:34.000Z"},
          {"endToEndId":"E2","txid":"TX2","valor":"30.00","horario":"2026-11-21T13:40:34.000Z",
           "devolucoes":[{"id":"D1","rtrId":"R1","valor":"7.89","status":"DEVOLVIDO"},{"id":"D2","rtrId":"R2","valor":"1.11","status":"DEVOLVIDO"},{"id":"D3","rtrId":"R3","valor":"5.00","status":"EM_PROCESSAMENTO"}]},
          {"endToEndId":"E3","chave":"k","valor":"1.00","tipo":"SOLICITACAO","status":"REALIZADO"}]}"#;
        let evs = EfiWebhooks.normalize(body).unwrap();
        assert_eq!(evs.len(), 2);
        assert_eq!(
            (
                evs[0].dedupe_id.as_str(),
                evs[0].gateway_payment_id.as_str(),
                evs[0].to
            ),
            ("E1", "TX1", PaymentStatus::Succeeded)
        );
        assert_eq!(evs[1].dedupe_id, "E2#D1+D2");
        assert_eq!(
            (evs[1].to, evs[1].refunded_amount),
            (PaymentStatus::PartiallyRefunded, Some(900))
        );
        assert!(EfiWebhooks.normalize(b"{\"pix\":\"x\"}").is_err());
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
}
