//! Secret values (gateway credentials): wrappers whose `Debug` and `Display` never show the
//! value, and which overwrite their memory when dropped; plus the masked form the API shows.

use zeroize::Zeroize;

/// A secret string. `Debug`/`Display` print `[redacted]`; the bytes are zeroed on drop.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that needs it (a request header, the encryption).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl std::fmt::Display for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> serde::Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

/// A decrypted credential document (the JSON a gateway client is built from). `Debug` and
/// `Display` print only its field names; every string in it is zeroed on drop.
#[derive(Clone, PartialEq)]
pub struct SecretJson(serde_json::Value);

impl SecretJson {
    /// Wraps a document.
    pub fn new(value: serde_json::Value) -> Self {
        Self(value)
    }

    /// The document, for building a client from it.
    pub fn expose(&self) -> &serde_json::Value {
        &self.0
    }
}

fn wipe(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(a) => a.iter_mut().for_each(wipe),
        serde_json::Value::Object(o) => o.values_mut().for_each(wipe),
        _ => {}
    }
}

impl Drop for SecretJson {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

impl std::fmt::Debug for SecretJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&str> = self
            .0
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        f.debug_struct("SecretJson")
            .field("fields", &fields)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for SecretJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted credentials]")
    }
}

/// Secrets of at most this many characters are masked entirely.
pub const FULLY_MASKED_UP_TO: usize = 8;

/// The form of a secret the API may show: nothing of a value of up to 8 characters, else at
/// most the first and last 2 characters (1 below 20 characters) around `****`. The length is
/// never shown.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let n = chars.len();
    let keep = match n {
        0..=FULLY_MASKED_UP_TO => return "********".into(),
        9..=19 => 1,
        _ => 2,
    };
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[n - keep..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_show_at_most_two_characters_at_each_end() {
        assert_eq!(mask(""), "********");
        assert_eq!(mask("12345678"), "********");
        assert_eq!(mask("123456789"), "1****9");
        assert_eq!(mask("sk_test_0123456789abcdef"), "sk****ef");
        assert_eq!(
            mask("çãõ€😀çãõ€😀çãõ€😀çãõ€😀"),
            "çã****€😀",
            "characters, not bytes"
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = SecretString::new("sk_live_abcdef");
        assert!(!format!("{s:?} {s}").contains("abcdef"));
        let j = SecretJson::new(serde_json::json!({"secret_key": "sk_live_abcdef"}));
        let shown = format!("{j:?} {j}");
        assert!(
            !shown.contains("abcdef") && shown.contains("secret_key"),
            "{shown}"
        );
        assert_eq!(j.expose()["secret_key"], "sk_live_abcdef");
    }
}
