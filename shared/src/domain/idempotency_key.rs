//! The merchant's `Idempotency-Key` header value.

use std::fmt;

/// Longest key accepted, as Stripe does.
pub const MAX_KEY_LEN: usize = 255;

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyKeyError {
    #[error("Idempotency-Key must not be empty")]
    Empty,
    #[error("Idempotency-Key must be at most {MAX_KEY_LEN} characters")]
    TooLong,
    #[error("Idempotency-Key must contain printable ASCII characters only")]
    NotPrintable,
}

/// 1–255 printable ASCII characters. Printable-only keeps the key safe to embed in a store key
/// (`tenant#key`) and in logs without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks length and character set.
    pub fn parse(raw: &str) -> Result<Self, IdempotencyKeyError> {
        if raw.is_empty() {
            return Err(IdempotencyKeyError::Empty);
        }
        if raw.len() > MAX_KEY_LEN {
            return Err(IdempotencyKeyError::TooLong);
        }
        if !raw.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(IdempotencyKeyError::NotPrintable);
        }
        Ok(Self(raw.to_string()))
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_printable_up_to_255() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse("order-42 retry #1").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
    }

    #[test]
    fn rejects_empty_long_and_control_chars() {
        assert_eq!(IdempotencyKey::parse(""), Err(IdempotencyKeyError::Empty));
        assert_eq!(
            IdempotencyKey::parse(&"k".repeat(256)),
            Err(IdempotencyKeyError::TooLong)
        );
        assert_eq!(
            IdempotencyKey::parse("a\nb"),
            Err(IdempotencyKeyError::NotPrintable)
        );
        assert_eq!(
            IdempotencyKey::parse("chave-é"),
            Err(IdempotencyKeyError::NotPrintable)
        );
    }
}
