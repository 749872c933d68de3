//! Verifying `Stripe-Signature` on inbound Stripe webhooks: HMAC-SHA256 (hex) of `t.body` keyed
//! with the endpoint secret as-is, every `v1` entry considered, 300 s tolerance.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Default tolerance of Stripe's libraries.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a Stripe signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeSignatureError {
    #[error("Stripe-Signature header missing or malformed")]
    Malformed,
    #[error("Stripe-Signature timestamp outside the tolerance")]
    Stale,
    #[error("no v1 signature matched")]
    NoMatch,
    /// Every configured secret is empty or blank: an HMAC keyed with an empty secret is one
    /// anybody can compute, so nothing is accepted.
    #[error("no usable Stripe endpoint secret is configured")]
    NoSecret,
}

/// `hex(HMAC_SHA256(secret, "{t}.{body}"))`.
pub fn compute(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a header against the raw body. Any of `secrets` may match (secret rolling); blank
/// secrets are never used, and with none left the header is refused before it is read.
pub fn verify(
    header: &str,
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), StripeSignatureError> {
    let usable: Vec<&String> = secrets.iter().filter(|s| !s.trim().is_empty()).collect();
    if usable.is_empty() {
        return Err(StripeSignatureError::NoSecret);
    }
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(StripeSignatureError::Malformed)?;
    if v1.is_empty() {
        return Err(StripeSignatureError::Malformed);
    }
    // `abs_diff` cannot overflow: `t` is whatever the header says, down to i64::MIN.
    if now.abs_diff(t) > TOLERANCE_SECS.unsigned_abs() {
        return Err(StripeSignatureError::Stale);
    }
    for secret in usable {
        let expected = compute(secret, t, body);
        if v1
            .iter()
            .any(|c| super::constant_time_eq(c.as_bytes(), expected.as_bytes()))
        {
            return Ok(());
        }
    }
    Err(StripeSignatureError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn valid_header_with_extra_schemes_and_rolled_secret() {
        let body = br#"{"id":"evt_1"}"#;
        let good = compute(SECRET, 1_700_000_000, body);
        let h = format!("t=1700000000,v1={},v1={good},v0=deadbeef", "0".repeat(64));
        assert_eq!(
            verify(&h, body, &[SECRET.to_string()], 1_700_000_100),
            Ok(())
        );
    }

    #[test]
    fn refusals() {
        let body = br#"{"id":"evt_1"}"#;
        let good = compute(SECRET, 1_700_000_000, body);
        let h = format!("t=1700000000,v1={good}");
        let s = [SECRET.to_string()];
        assert_eq!(
            verify(&h, body, &s, 1_700_000_301),
            Err(StripeSignatureError::Stale)
        );
        assert_eq!(
            verify(&h, b"{}", &s, 1_700_000_000),
            Err(StripeSignatureError::NoMatch)
        );
        assert_eq!(
            verify(&h, body, &["other".into()], 1_700_000_000),
            Err(StripeSignatureError::NoMatch)
        );
        assert_eq!(
            verify("v1=abc", body, &s, 0),
            Err(StripeSignatureError::Malformed)
        );
        assert_eq!(
            verify("t=1700000000,v0=abc", body, &s, 1_700_000_000),
            Err(StripeSignatureError::Malformed)
        );
    }

    /// A timestamp at either end of i64 must be refused as stale, never overflow `now - t`.
    #[test]
    fn extreme_timestamps_are_stale_not_a_panic() {
        let body = br#"{"id":"evt_1"}"#;
        let s = [SECRET.to_string()];
        for (t, now) in [
            (i64::MIN, 1_700_000_000),
            (i64::MAX, 1_700_000_000),
            (i64::MIN, -1),
            (i64::MAX, i64::MIN),
            (i64::MIN, i64::MAX),
        ] {
            let h = format!("t={t},v1={}", compute(SECRET, t, body));
            assert_eq!(
                verify(&h, body, &s, now),
                Err(StripeSignatureError::Stale),
                "t={t} now={now}"
            );
        }
        let h = "t=-9223372036854775808,v1=00";
        assert_eq!(
            verify(h, body, &s, 1_700_000_000),
            Err(StripeSignatureError::Stale)
        );
    }

    /// An empty endpoint secret must not accept a signature computed with the empty key.
    #[test]
    fn blank_secrets_accept_nothing() {
        let body = br#"{"id":"evt_1"}"#;
        let forged = format!("t=1700000000,v1={}", compute("", 1_700_000_000, body));
        for secrets in [vec![], vec![String::new()], vec![" \t".to_string()]] {
            assert_eq!(
                verify(&forged, body, &secrets, 1_700_000_000),
                Err(StripeSignatureError::NoSecret)
            );
        }
        // A blank entry next to a real one is skipped; the real one still works.
        let good = format!("t=1700000000,v1={}", compute(SECRET, 1_700_000_000, body));
        let mixed = [String::new(), SECRET.to_string()];
        assert_eq!(verify(&good, body, &mixed, 1_700_000_000), Ok(()));
        assert_eq!(
            verify(&forged, body, &mixed, 1_700_000_000),
            Err(StripeSignatureError::NoMatch)
        );
    }
}
