//! Standard Webhooks v1 (symmetric): how the orchestrator signs merchant callbacks.
//! Signed content is `msg_id.timestamp.body`; the key is the base64 part of `whsec_<base64>`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a secret or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("callback secret must be `whsec_` followed by base64 of 24-64 bytes")]
    BadSecret,
    #[error("no signature matched")]
    NoMatch,
    #[error("timestamp outside the tolerance")]
    Stale,
}

/// A merchant callback signing secret (`whsec_…`), decoded once.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackSecret(Vec<u8>);

impl std::fmt::Debug for CallbackSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackSecret(..)")
    }
}

impl CallbackSecret {
    /// Parses `whsec_<base64>` (the prefix is optional, as in the reference libraries).
    pub fn parse(s: &str) -> Result<Self, SigningError> {
        let b64 = s.strip_prefix("whsec_").unwrap_or(s);
        let key = STANDARD.decode(b64).map_err(|_| SigningError::BadSecret)?;
        if !(16..=64).contains(&key.len()) {
            return Err(SigningError::BadSecret);
        }
        Ok(Self(key))
    }

    /// `v1,<base64 HMAC-SHA256 of id.timestamp.body>`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header: one `v1,` signature per active secret, space-separated, so a
/// merchant rotating secrets accepts either.
pub fn signature_header(
    secrets: &[CallbackSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Verifies a `webhook-signature` header as a merchant would (±5 min tolerance, any `v1`
/// signature of any of `secrets`, constant-time). Used by tests and documented for merchants.
pub fn verify(
    secrets: &[CallbackSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
    now: i64,
) -> Result<(), SigningError> {
    // `abs_diff`: an extreme timestamp is stale, never an overflow.
    if now.abs_diff(timestamp) > 300 {
        return Err(SigningError::Stale);
    }
    for secret in secrets {
        let expected = secret.sign(msg_id, timestamp, body);
        for candidate in header.split(' ').filter(|c| c.starts_with("v1,")) {
            if super::constant_time_eq(candidate.as_bytes(), expected.as_bytes()) {
                return Ok(());
            }
        }
    }
    Err(SigningError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_vector_a() {
        let s = CallbackSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            s.sign("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn upstream_vector_b() {
        let s = CallbackSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            s.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn rotation_header_verifies_with_either_secret_and_rejects_others() {
        let old = CallbackSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let new = CallbackSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let h = signature_header(&[new.clone(), old.clone()], "msg_1", 1000, b"{}");
        assert_eq!(h.split(' ').count(), 2);
        assert!(verify(std::slice::from_ref(&old), "msg_1", 1000, b"{}", &h, 1010).is_ok());
        assert!(verify(std::slice::from_ref(&new), "msg_1", 1000, b"{}", &h, 1010).is_ok());
        assert_eq!(
            verify(
                std::slice::from_ref(&old),
                "msg_1",
                1000,
                b"{}",
                "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
                1010
            ),
            Err(SigningError::NoMatch)
        );
        assert_eq!(
            verify(std::slice::from_ref(&old), "msg_1", 1000, b"{x}", &h, 1010),
            Err(SigningError::NoMatch)
        );
        assert_eq!(
            verify(&[old], "msg_1", 1000, b"{}", &h, 1400),
            Err(SigningError::Stale)
        );
    }

    #[test]
    fn extreme_timestamps_are_stale_not_a_panic() {
        let s = CallbackSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        for (t, now) in [(i64::MIN, 1_700_000_000), (i64::MAX, -5), (0, i64::MIN)] {
            assert_eq!(
                verify(std::slice::from_ref(&s), "msg_1", t, b"{}", "v1,x", now),
                Err(SigningError::Stale)
            );
        }
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert!(CallbackSecret::parse("whsec_not base64!").is_err());
        assert!(CallbackSecret::parse("whsec_AAAA").is_err());
    }
}
