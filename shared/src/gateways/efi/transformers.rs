//! EFI Pix wire types and mappings: cob requests and responses (lenient about numbers sent as
//! strings), the QR code, both error shapes (`{nome, mensagem}` and the BCB problem JSON), and
//! the error classification table.

use crate::domain::{parse_decimal, ChargeAmountError, Currency, Money, PaymentStatus, PixDetails};
use crate::ports::{ChargeRequest, ErrorClass, GatewayCharge, GatewayError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

/// Seconds a Pix charge stays payable when the request names no `expires_in`.
pub const EXPIRATION_SECS: i64 = 3600;

/// A number that some EFI responses send as a string (`"3600"`).
pub fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| serde::de::Error::custom("not an integer")),
        Value::String(s) => s.trim().parse().map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom(
            "expected a number or a numeric string",
        )),
    }
}

/// `POST /oauth/token` answer.
#[derive(Debug, Deserialize)]
pub struct Token {
    pub access_token: String,
    #[serde(deserialize_with = "lenient_i64")]
    pub expires_in: i64,
}

/// `PUT /v2/cob/{txid}` body. `calendario.expiracao` is the request's `expires_in` (seconds,
/// as EFI counts them from `calendario.criacao`), else [`EXPIRATION_SECS`].
pub fn cob_body(req: &ChargeRequest, pix_key: &str) -> Value {
    let expiracao = req.expires_in.map_or(EXPIRATION_SECS, i64::from);
    let mut body = json!({
        "calendario": {"expiracao": expiracao},
        "valor": {"original": req.amount.to_decimal_string()},
        "chave": pix_key,
    });
    if let Some(d) = &req.description {
        body["solicitacaoPagador"] = d.chars().take(140).collect::<String>().into();
    }
    if let Some(c) = &req.customer {
        if let Some(doc) = &c.document {
            let field = if doc.is_cpf() { "cpf" } else { "cnpj" };
            body["devedor"] = json!({ field: doc.as_str(), "nome": c.name });
        }
    }
    body
}

/// A cob as EFI returns it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cob {
    pub txid: String,
    pub status: String,
    pub calendario: Calendario,
    pub loc: Option<Loc>,
    pub valor: Valor,
    pub pix_copia_e_cola: Option<String>,
    #[serde(default)]
    pub pix: Vec<ReceivedPix>,
}

/// Creation time and lifetime. Both are read leniently: a cob EFI answered for is a charge that
/// exists, so a missing, unparseable or out-of-range date makes its expiry unknown (`None`)
/// instead of turning the whole answer into an error.
#[derive(Debug, Clone, Deserialize)]
pub struct Calendario {
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub criacao: Option<DateTime<Utc>>,
    /// Lifetime in seconds, as EFI sent it (a number or a numeric string). Only a positive
    /// value is a usable lifetime; see [`expires_at`].
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub expiracao: Option<i64>,
}

/// Like [`lenient_i64`], but anything unusable (a fraction, text, a number beyond i64, null)
/// is `None` rather than a decoding error.
pub fn lenient_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// An RFC 3339 time, or `None` when it is absent or cannot be read.
pub fn lenient_datetime<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s.parse::<DateTime<Utc>>().ok(),
        _ => None,
    })
}

/// When the cob stops being payable: `criacao + expiracao`. `None` (unknown) when either is
/// missing, when `expiracao` is not positive, or when the sum is beyond what a date can hold.
///
/// A non-positive `expiracao` is treated as unknown rather than refused: EFI only accepts a
/// positive lifetime on create, so such a value is a bad answer about a cob that nonetheless
/// exists, and refusing it would report an existing charge as an error. Unknown never makes a
/// cob expired: its status is then what EFI says (`ATIVA` stays pending).
pub fn expires_at(cal: &Calendario) -> Option<DateTime<Utc>> {
    let created = cal.criacao?;
    let secs = cal.expiracao.filter(|s| *s > 0)?;
    created.checked_add_signed(chrono::TimeDelta::try_seconds(secs)?)
}

/// The payload location (its id fetches the QR code).
#[derive(Debug, Clone, Deserialize)]
pub struct Loc {
    #[serde(deserialize_with = "lenient_i64")]
    pub id: i64,
}

/// Amount as a decimal string.
#[derive(Debug, Clone, Deserialize)]
pub struct Valor {
    pub original: String,
}

/// A Pix received for the cob (present once paid).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedPix {
    pub end_to_end_id: String,
    /// Its devoluções as EFI lists them on the cob, read leniently — anything but a list is
    /// none, never a failed read (only the amount of the returned ones is used:
    /// [`refunded_minor`]).
    #[serde(default)]
    pub devolucoes: Value,
}

/// What the cob's Pix show returned (`DEVOLVIDO` devoluções, centavos); `None` when one of
/// those has an amount that cannot be read (then the read says nothing of refunds).
pub fn refunded_minor(cob: &Cob) -> Option<i64> {
    let mut total: i64 = 0;
    for d in cob
        .pix
        .iter()
        .filter_map(|p| p.devolucoes.as_array())
        .flatten()
    {
        if d.get("status").and_then(Value::as_str) != Some("DEVOLVIDO") {
            continue;
        }
        let v = d
            .get("valor")
            .and_then(Value::as_str)
            .and_then(|v| parse_decimal(v, 2))?;
        total = total.checked_add(v)?;
    }
    Some(total)
}

/// A devolução (refund) as EFI returns it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Devolucao {
    pub id: String,
    pub rtr_id: Option<String>,
    pub status: String,
}

/// Devolução status → refund status.
pub fn to_refund(d: Devolucao) -> crate::ports::GatewayRefund {
    use crate::domain::RefundStatus;
    crate::ports::GatewayRefund {
        gateway_refund_id: d.rtr_id.unwrap_or(d.id),
        status: match d.status.as_str() {
            "DEVOLVIDO" => RefundStatus::Succeeded,
            "NAO_REALIZADO" => RefundStatus::Failed,
            _ => RefundStatus::Pending,
        },
    }
}

/// `GET /v2/loc/{id}/qrcode`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QrCode {
    pub qrcode: String,
    pub imagem_qrcode: Option<String>,
}

/// Both error shapes in one: EFI's own and the BCB problem JSON.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ErrorBody {
    pub nome: Option<String>,
    pub mensagem: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
}

impl ErrorBody {
    /// A short code: `nome`, or the last segment of the problem `type`.
    pub fn code(&self) -> Option<String> {
        self.nome.clone().or_else(|| {
            self.kind
                .as_deref()
                .and_then(|t| t.rsplit('/').next())
                .map(str::to_string)
        })
    }
}

/// cob status → payment status; an `ATIVA` cob past its lifetime has expired (EFI has no
/// expired status of its own).
pub fn status_of(cob: &Cob, now: DateTime<Utc>) -> PaymentStatus {
    match cob.status.as_str() {
        "CONCLUIDA" => PaymentStatus::Succeeded,
        "REMOVIDA_PELO_USUARIO_RECEBEDOR" | "REMOVIDA_PELO_PSP" => PaymentStatus::Canceled,
        "ATIVA" => match expires_at(&cob.calendario) {
            Some(end) if end < now => PaymentStatus::Expired,
            _ => PaymentStatus::Pending,
        },
        _ => PaymentStatus::Processing,
    }
}

/// The normalized charge. The cob's amount must be the one asked for, exactly, and in reais
/// (Pix is BRL only, so an expectation in another currency never matches).
pub fn to_charge(
    cob: Cob,
    qr: Option<QrCode>,
    expected: Option<Money>,
    now: DateTime<Utc>,
) -> Result<GatewayCharge, GatewayError> {
    if let Some(m) = expected {
        if m.currency() != Currency::BRL || parse_decimal(&cob.valor.original, 2) != Some(m.minor())
        {
            return Err(GatewayError {
                class: ErrorClass::Ambiguous,
                code: ChargeAmountError::CODE.into(),
                message: format!(
                    "EFI cob {} is for {} BRL instead of {} {}",
                    cob.txid,
                    cob.valor.original,
                    m.to_decimal_string(),
                    m.currency().code()
                ),
            });
        }
    }
    let status = status_of(&cob, now);
    let expires_at = expires_at(&cob.calendario);
    let refunded = refunded_minor(&cob);
    let copy_paste = qr
        .as_ref()
        .map(|q| q.qrcode.clone())
        .or(cob.pix_copia_e_cola.clone());
    let png = qr.and_then(|q| q.imagem_qrcode).map(|i| {
        i.strip_prefix("data:image/png;base64,")
            .map(str::to_string)
            .unwrap_or(i)
    });
    Ok(GatewayCharge {
        gateway_payment_id: cob.txid,
        status,
        pix: copy_paste.map(|c| PixDetails {
            copy_paste: c,
            qr_code_png_base64: png,
            expires_at,
        }),
        boleto: None,
        next_action: None,
        refunded_minor: refunded,
    })
}

/// The charge when its QR code could not be read: the cob exists, so it is reported (never an
/// error). With the cob's own `pixCopiaECola` it is `pending` with that copy-paste and no PNG;
/// with nothing for the payer it is `processing`, and a later `retrieve` fills the
/// instructions in. The amount is checked as always.
pub fn to_charge_without_qr(
    cob: Cob,
    expected: Option<Money>,
    now: DateTime<Utc>,
) -> Result<GatewayCharge, GatewayError> {
    let mut charge = to_charge(cob, None, expected, now)?;
    if charge.pix.is_none() && charge.status == PaymentStatus::Pending {
        charge.status = PaymentStatus::Processing;
    }
    Ok(charge)
}

/// One page of `GET /v2/cob?inicio&fim`.
#[derive(Debug, Clone, Deserialize)]
pub struct CobList {
    #[serde(default)]
    pub parametros: Option<CobListParams>,
    #[serde(default)]
    pub cobs: Vec<Cob>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CobListParams {
    #[serde(default)]
    pub paginacao: Option<Paginacao>,
}

/// Page numbers start at 0; read leniently (a missing one ends the listing).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paginacao {
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub pagina_atual: Option<i64>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub quantidade_de_paginas: Option<i64>,
}

impl CobList {
    /// Whether a page follows this one.
    pub fn has_next(&self) -> bool {
        let p = self.parametros.as_ref().and_then(|p| p.paginacao.as_ref());
        match p.map(|p| (p.pagina_atual, p.quantidade_de_paginas)) {
            Some((Some(cur), Some(total))) => cur.saturating_add(1) < total,
            _ => false,
        }
    }
}

/// A listed cob, for reconciliation: the txid is our key (`PAY<ulid>`), the amount BRL; EFI's
/// cob carries no fee. No QR code is read for a listing.
pub fn to_listed(cob: Cob, now: DateTime<Utc>) -> crate::ports::ListedCharge {
    let payment_id = crate::gateways::keys::payment_id_from_key(&cob.txid);
    let amount_minor = parse_decimal(&cob.valor.original, 2);
    let created_at = cob.calendario.criacao;
    let status = status_of(&cob, now);
    crate::ports::ListedCharge {
        charge: GatewayCharge {
            gateway_payment_id: cob.txid,
            status,
            pix: None,
            boleto: None,
            next_action: None,
            refunded_minor: None,
        },
        payment_id,
        amount_minor,
        currency: Some(Currency::BRL),
        method: Some(crate::domain::PaymentMethod::Pix),
        created_at,
        fee: None,
        net: None,
    }
}

/// A cob known to exist (EFI answered `txid_duplicado` for our txid) that could not be read
/// back: its id is the txid, and nothing else is known yet.
pub fn unread_cob(txid: &str) -> GatewayCharge {
    GatewayCharge {
        gateway_payment_id: txid.to_string(),
        status: PaymentStatus::Processing,
        pix: None,
        boleto: None,
        next_action: None,
        refunded_minor: None,
    }
}

/// The classification table for an HTTP error answer:
///
/// | status | class |
/// |---|---|
/// | 400, 404, 409 | invalid (`txid_duplicado` is handled before, as "already created") |
/// | 401, 403 | misconfigured |
/// | 429 | unavailable |
/// | 5xx, others | ambiguous |
pub fn classify(status: u16, body: &ErrorBody) -> GatewayError {
    let class = match status {
        400 | 404 | 409 => ErrorClass::Invalid,
        401 | 403 => ErrorClass::Misconfigured,
        429 => ErrorClass::Unavailable,
        _ => ErrorClass::Ambiguous,
    };
    GatewayError {
        class,
        code: body.code().unwrap_or_else(|| format!("http_{status}")),
        message: body
            .mensagem
            .clone()
            .or_else(|| body.detail.clone())
            .or_else(|| body.title.clone())
            .unwrap_or_else(|| format!("EFI answered HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_numbers_and_both_error_shapes() {
        let t: Token = serde_json::from_str(
            r#"{"access_token":"a","token_type":"Bearer","expires_in":"3600"}"#,
        )
        .unwrap();
        assert_eq!(t.expires_in, 3600);
        let t: Token = serde_json::from_str(r#"{"access_token":"a","expires_in":120}"#).unwrap();
        assert_eq!(t.expires_in, 120);
        let cob: Cob = serde_json::from_str(
            r#"{"txid":"T","status":"ATIVA","calendario":{"criacao":"2026-11-21T12:00:00.000Z","expiracao":"3600"},"loc":{"id":7},"valor":{"original":"0.29"}}"#,
        )
        .unwrap();
        assert_eq!(cob.calendario.expiracao, Some(3600));
        let native: ErrorBody = serde_json::from_str(
            r#"{"nome":"chave_invalida","mensagem":"A chave informada nao pertence"}"#,
        )
        .unwrap();
        assert_eq!(classify(400, &native).code, "chave_invalida");
        let problem: ErrorBody = serde_json::from_str(
            r#"{"type":"https://pix.bcb.gov.br/api/v2/error/CobOperacaoInvalida","title":"Cobranca invalida.","status":400,"detail":"valor"}"#,
        )
        .unwrap();
        let e = classify(400, &problem);
        assert_eq!(
            (e.class, e.code.as_str(), e.message.as_str()),
            (ErrorClass::Invalid, "CobOperacaoInvalida", "valor")
        );
        assert_eq!(
            classify(401, &ErrorBody::default()).class,
            ErrorClass::Misconfigured
        );
        assert_eq!(
            classify(429, &ErrorBody::default()).class,
            ErrorClass::Unavailable
        );
        assert_eq!(
            classify(500, &ErrorBody::default()).class,
            ErrorClass::Ambiguous
        );
    }

    #[test]
    fn status_table_with_computed_expiry() {
        let at = |s: &str, minutes_ago: i64| Cob {
            txid: "T".into(),
            status: s.into(),
            calendario: Calendario {
                criacao: Some(Utc::now() - chrono::Duration::minutes(minutes_ago)),
                expiracao: Some(3600),
            },
            loc: None,
            valor: Valor {
                original: "1.00".into(),
            },
            pix_copia_e_cola: None,
            pix: vec![],
        };
        let now = Utc::now();
        assert_eq!(status_of(&at("ATIVA", 10), now), PaymentStatus::Pending);
        assert_eq!(status_of(&at("ATIVA", 61), now), PaymentStatus::Expired);
        assert_eq!(
            status_of(&at("CONCLUIDA", 10), now),
            PaymentStatus::Succeeded
        );
        assert_eq!(
            status_of(&at("REMOVIDA_PELO_USUARIO_RECEBEDOR", 10), now),
            PaymentStatus::Canceled
        );
        assert!(
            to_charge(
                at("ATIVA", 1),
                None,
                Some(Money::new(101, Currency::BRL).unwrap()),
                now
            )
            .is_err(),
            "amount mismatch is never accepted"
        );
        assert!(
            to_charge(
                at("ATIVA", 1),
                None,
                Some(Money::new(100, Currency::JPY).unwrap()),
                now
            )
            .is_err(),
            "the same minor units in another currency are not this cob"
        );
    }

    /// What a cob read shows refunded: its Pix's `DEVOLVIDO` devoluções; none (or no Pix yet)
    /// is 0; an unreadable amount of a returned one makes it unknown.
    #[test]
    fn refunded_minor_sums_returned_devolucoes() {
        let read = |pix: &str| {
            let cob: Cob = serde_json::from_str(&format!(
                r#"{{"txid":"T","status":"CONCLUIDA","calendario":{{}},"valor":{{"original":"25.90"}},"pix":{pix}}}"#
            ))
            .unwrap();
            refunded_minor(&cob)
        };
        assert_eq!(read("[]"), Some(0));
        assert_eq!(read(r#"[{"endToEndId":"E1"}]"#), Some(0));
        assert_eq!(read(r#"[{"endToEndId":"E1","devolucoes":null}]"#), Some(0));
        assert_eq!(read(r#"[{"endToEndId":"E1","devolucoes":{}}]"#), Some(0));
        assert_eq!(
            read(
                r#"[{"endToEndId":"E1","devolucoes":[
                    {"id":"D1","valor":"10.00","status":"DEVOLVIDO"},
                    {"id":"D2","valor":"5.00","status":"EM_PROCESSAMENTO"},
                    {"id":"D3","valor":"1.00","status":"NAO_REALIZADO"},
                    {"id":"D4","valor":"0.50","status":"DEVOLVIDO"}]}]"#
            ),
            Some(1050)
        );
        assert_eq!(
            read(
                r#"[{"endToEndId":"E1","devolucoes":[{"id":"D1","valor":10,"status":"DEVOLVIDO"}]}]"#
            ),
            None
        );
        assert_eq!(
            read(r#"[{"endToEndId":"E1","devolucoes":[{"id":"D1","status":"DEVOLVIDO"}]}]"#),
            None
        );
    }

    fn cob_json(calendario: &str) -> String {
        format!(
            r#"{{"txid":"T","status":"ATIVA","calendario":{calendario},"loc":{{"id":7}},"valor":{{"original":"1.00"}}}}"#
        )
    }

    /// Extreme or unusable `criacao`/`expiracao` from EFI decode, never panic, and leave the
    /// expiry unknown: an `ATIVA` cob is then pending, never expired by overflow.
    #[test]
    fn out_of_range_dates_are_an_unknown_expiry_not_a_panic() {
        let now = Utc::now();
        for cal in [
            r#"{"criacao":"2026-11-21T12:00:00.000Z","expiracao":9223372036854775807}"#,
            r#"{"criacao":"2026-11-21T12:00:00.000Z","expiracao":"9223372036854775807"}"#,
            r#"{"criacao":"2026-11-21T12:00:00.000Z","expiracao":-9223372036854775808}"#,
            r#"{"criacao":"2026-11-21T12:00:00.000Z","expiracao":-3600}"#,
            r#"{"criacao":"2026-11-21T12:00:00.000Z","expiracao":0}"#,
            r#"{"criacao":"2026-11-21T12:00:00.000Z","expiracao":99999999999999999999}"#,
            r#"{"criacao":"2026-11-21T12:00:00.000Z","expiracao":1.5}"#,
            r#"{"criacao":"2026-11-21T12:00:00.000Z","expiracao":"soon"}"#,
            r#"{"criacao":"2026-11-21T12:00:00.000Z","expiracao":null}"#,
            r#"{"criacao":"2026-11-21T12:00:00.000Z"}"#,
            r#"{"criacao":"+262143-12-31T23:59:59Z","expiracao":9223372036}"#,
            r#"{"criacao":"9999-12-31T23:59:59Z","expiracao":9223372036854775}"#,
            r#"{"criacao":"-262143-01-01T00:00:00Z","expiracao":3600}"#,
            r#"{"criacao":"not a date","expiracao":3600}"#,
            r#"{"criacao":null,"expiracao":3600}"#,
        ] {
            let cob: Cob =
                serde_json::from_str(&cob_json(cal)).unwrap_or_else(|e| panic!("{cal}: {e}"));
            let charge = to_charge(
                cob.clone(),
                None,
                Some(Money::new(100, Currency::BRL).unwrap()),
                now,
            )
            .unwrap();
            match expires_at(&cob.calendario) {
                // Only a representable, positive lifetime gives an expiry.
                Some(end) => assert!(end > cob.calendario.criacao.unwrap(), "{cal}"),
                None => {
                    assert_eq!(status_of(&cob, now), PaymentStatus::Pending, "{cal}");
                    assert_eq!(charge.status, PaymentStatus::Pending, "{cal}");
                }
            }
        }
        // The largest lifetime chrono can add to a real date still works; one more overflows
        // into unknown rather than a panic.
        let far: Cob = serde_json::from_str(&cob_json(
            r#"{"criacao":"9999-12-31T23:59:59Z","expiracao":9223372036854775}"#,
        ))
        .unwrap();
        assert_eq!(expires_at(&far.calendario), None);
        let near_max: Cob = serde_json::from_str(&cob_json(
            r#"{"criacao":"+262142-12-31T23:59:59Z","expiracao":9223372036}"#,
        ))
        .unwrap();
        assert!(near_max.calendario.criacao.is_some());
        assert_eq!(
            expires_at(&near_max.calendario),
            None,
            "beyond chrono's last date"
        );
        let beyond: Cob = serde_json::from_str(&cob_json(
            r#"{"criacao":"+262143-12-31T23:59:59Z","expiracao":1}"#,
        ))
        .unwrap();
        assert_eq!(beyond.calendario.criacao, None, "unreadable, not an error");
        let negative: Cob = serde_json::from_str(&cob_json(
            r#"{"criacao":"2026-11-21T12:00:00.000Z","expiracao":-3600}"#,
        ))
        .unwrap();
        assert_eq!(
            (
                expires_at(&negative.calendario),
                status_of(&negative, Utc::now())
            ),
            (None, PaymentStatus::Pending),
            "a negative lifetime is an unknown expiry, never an expired cob"
        );
    }
}
