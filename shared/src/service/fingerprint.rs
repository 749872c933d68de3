//! Request fingerprints: what "the same request" means for an idempotency key.

use sha2::{Digest, Sha256};

/// SHA-256 over method, path and the canonical JSON body (keys sorted, whitespace dropped), so
/// that a client re-serializing the same object differently still matches.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned());
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b"\n");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a = fingerprint("POST", "/v1/payments", br#"{"amount":1,"currency":"BRL"}"#);
        let b = fingerprint(
            "POST",
            "/v1/payments",
            b"{ \"currency\": \"BRL\",\n \"amount\": 1 }",
        );
        assert_eq!(a, b);
    }

    #[test]
    fn values_path_and_method_do() {
        let a = fingerprint("POST", "/v1/payments", br#"{"amount":1}"#);
        assert_ne!(a, fingerprint("POST", "/v1/payments", br#"{"amount":2}"#));
        assert_ne!(a, fingerprint("POST", "/v1/other", br#"{"amount":1}"#));
        assert_ne!(a, fingerprint("PUT", "/v1/payments", br#"{"amount":1}"#));
    }
}
