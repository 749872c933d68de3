//! Signatures: outbound callbacks (Standard Webhooks) and inbound gateway webhooks (Stripe).

pub mod standard_webhooks;
pub mod stripe;

/// Constant-time equality for secrets and signatures (length is not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
