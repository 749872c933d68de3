//! Our ids as gateways echo them back. A gateway sees a payment as `PAY<ulid>` (EFI txid) or
//! `pay_<ulid>` (Stripe metadata, Asaas `externalReference`), and a refund as `REF<ulid>` (EFI
//! devolução id, Asaas description) or `ref_<ulid>` (Stripe metadata). Webhooks carry these
//! back; reading them lets an event find its payment or refund even when the gateway's own id
//! was never stored (a create whose answer was lost). Every reader is total: a value that does
//! not have the exact shape is `None`, never an error, because a foreign or hand-made charge at
//! the gateway must not make the whole event fail.

use crate::domain::PaymentId;

/// The prefix of the gateway-side payment key (`gateway_key` in `service::create_payment`).
const PAYMENT_KEY_PREFIX: &str = "PAY";
/// The prefix of the gateway-side refund key (`refund_key` in `service::refunds`).
const REFUND_KEY_PREFIX: &str = "REF";
/// The prefix of our refund ids.
const REFUND_ID_PREFIX: &str = "ref_";

/// Our payment id from a `pay_<ulid>` a gateway echoes (Stripe `metadata.payment_id`, Asaas
/// `externalReference`). Absent or malformed → `None`.
pub fn payment_id_from_echo(s: Option<&str>) -> Option<PaymentId> {
    s.and_then(|s| PaymentId::parse(s.trim()).ok())
}

/// Our payment id from the gateway key `PAY<ulid>` (the EFI txid). Any other txid → `None`.
pub fn payment_id_from_key(key: &str) -> Option<PaymentId> {
    let ulid = key.strip_prefix(PAYMENT_KEY_PREFIX)?;
    PaymentId::parse(&format!("pay_{ulid}")).ok()
}

/// Our refund id `ref_<ULID>` (ULID uppercase) from the refund key `REF<ulid>` (EFI devolução
/// id, Asaas refund description). Any other value → `None`.
pub fn refund_id_from_key(key: &str) -> Option<String> {
    canonical_refund_id(key.trim().strip_prefix(REFUND_KEY_PREFIX)?)
}

/// Our refund id `ref_<ULID>`, canonicalized, from a `ref_<ulid>` a gateway echoes (Stripe
/// `metadata.refund_id`). Any other value → `None`.
pub fn refund_id_from_echo(s: &str) -> Option<String> {
    canonical_refund_id(s.trim().strip_prefix(REFUND_ID_PREFIX)?)
}

/// `ref_` + the ULID in its canonical (uppercase) form, as `service::refunds` writes it.
fn canonical_refund_id(ulid: &str) -> Option<String> {
    let u = ulid::Ulid::from_string(ulid).ok()?;
    Some(format!("{REFUND_ID_PREFIX}{u}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ULID: &str = "01J9ZQ4M3K8D2B6X7Y5W0V1T2S";

    #[test]
    fn payment_ids() {
        let want = PaymentId::parse(&format!("pay_{ULID}")).ok();
        assert!(want.is_some());
        assert_eq!(payment_id_from_key(&format!("PAY{ULID}")), want);
        assert_eq!(
            payment_id_from_key(&format!("PAY{}", ULID.to_lowercase())),
            want
        );
        assert_eq!(payment_id_from_echo(Some(&format!("pay_{ULID}"))), want);
        for bad in [
            "",
            "PAY",
            "7978c0c97ea847e78e8849634473c1f1",
            &format!("pay_{ULID}"),
            &format!("PAY{ULID}X"),
            &format!("PAY{}", &ULID[1..]),
            &format!("REF{ULID}"),
        ] {
            assert_eq!(payment_id_from_key(bad), None, "{bad}");
        }
        for bad in [
            None,
            Some(""),
            Some("order-42"),
            Some("pay_123"),
            Some(ULID),
        ] {
            assert_eq!(payment_id_from_echo(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn refund_ids() {
        let want = Some(format!("ref_{ULID}"));
        assert_eq!(refund_id_from_key(&format!("REF{ULID}")), want);
        assert_eq!(
            refund_id_from_key(&format!("REF{}", ULID.to_lowercase())),
            want
        );
        assert_eq!(refund_id_from_echo(&format!("ref_{ULID}")), want);
        assert_eq!(
            refund_id_from_echo(&format!("ref_{}", ULID.to_lowercase())),
            want
        );
        for bad in ["", "REF", "REF1", "Partial refund", &format!("ref_{ULID}")] {
            assert_eq!(refund_id_from_key(bad), None, "{bad}");
        }
        for bad in ["", "ref_", "ref_1", &format!("REF{ULID}"), "re_123"] {
            assert_eq!(refund_id_from_echo(bad), None, "{bad}");
        }
    }
}
