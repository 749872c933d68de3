//! What `PUT /v1/gateways/{gateway}/credentials` accepts, gateway by gateway (each gateway
//! module's `credentials.rs` holds its body type): parsing that names the failing field and
//! never quotes a value, the checks every secret gets, and the allow-list of gateway hosts.

use crate::domain::{mask, SecretJson, SecretString};
use std::collections::BTreeMap;

/// A body refused: the field (`body` for the whole) and why, without any value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    /// The API error code: `invalid_credentials` for a value refused by the gateway's rules,
    /// the generic shape codes (`parameter_missing`, `body_not_json`, …) for the rest.
    pub code: &'static str,
    pub param: String,
    pub message: String,
}

impl FormError {
    /// A refusal of `param`'s value (`invalid_credentials`).
    pub fn new(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::coded("invalid_credentials", param, message)
    }

    /// A refusal with its own code.
    pub fn coded(code: &'static str, param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            param: param.into(),
            message: message.into(),
        }
    }
}

/// What the deployment allows in a credential body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FormPolicy {
    /// Accept any `http(s)` `base_url` (and an extra CA for EFI): the dev server and tests,
    /// whose gateways are local fakes. Deployed, only the gateways' own hosts are accepted, so
    /// a tenant cannot point the orchestrator's requests (and its keys) at an address of its
    /// choosing.
    pub allow_custom_endpoints: bool,
    /// The webhook domain verifies EFI's client certificate (mutual TLS, `EFI_MTLS_ISSUER_DN`):
    /// an EFI `webhook_hmac` may then come without `webhook_allowed_ips`.
    pub efi_mtls: bool,
}

/// An accepted body.
pub struct CredentialForm {
    /// The document the gateway's client is built from (`from_credentials`), stored encrypted.
    pub document: SecretJson,
    /// Field → masked value (plain for `base_url`), what GET shows.
    pub masked: BTreeMap<String, String>,
    /// A webhook verification secret to set on the tenant (Stripe `webhook_secret`, Asaas
    /// `webhook_token`, EFI `webhook_hmac`), if given.
    pub webhook_secret: Option<SecretString>,
    /// How long the previous webhook secret stays accepted after this one replaces it, in
    /// seconds (`None`: the default, [`DEFAULT_PREVIOUS_SECRET_SECONDS`]; 0: dropped now).
    pub previous_secret_for: Option<i64>,
    /// Source IPs the gateway's webhooks may come from, to set on the tenant (EFI
    /// `webhook_allowed_ips`), if given.
    pub webhook_allowed_ips: Option<Vec<std::net::IpAddr>>,
}

/// How long a replaced webhook secret stays accepted by default (Stripe's own roll offers up
/// to 24 h): events signed just before the switch still verify, and a leak is bounded.
pub const DEFAULT_PREVIOUS_SECRET_SECONDS: i64 = 86_400;
/// The longest a replaced secret may stay accepted.
pub const MAX_PREVIOUS_SECRET_SECONDS: i64 = 7 * 86_400;

impl std::fmt::Debug for CredentialForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialForm")
            .field("masked", &self.masked)
            .finish_non_exhaustive()
    }
}

/// Reads a body into `T`. Messages name fields, never values: serde's own messages may quote
/// what they saw ("invalid type: string \"sk_live_…\""), so only their kind is kept.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    allowed: &[&str],
) -> Result<T, FormError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(de);
    let e = match parsed {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let inner = e.inner();
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        return Err(FormError::coded(
            "body_not_json",
            "body",
            "the body is not valid JSON; send a JSON object",
        ));
    }
    let text = inner.to_string();
    let path = e.path().to_string();
    if let Some(rest) = text.strip_prefix("missing field `") {
        // The name is one of our own fields.
        let field = rest.split('`').next().unwrap_or("body");
        return Err(FormError::coded(
            "parameter_missing",
            field,
            format!("`{field}` is required"),
        ));
    }
    if let Some(rest) = text.strip_prefix("duplicate field `") {
        let field = rest.split('`').next().unwrap_or("body");
        return Err(FormError::coded(
            "parameter_duplicate",
            field,
            format!("`{field}` is given twice"),
        ));
    }
    if text.starts_with("unknown field") {
        // The unknown name is the client's text, and a pasted secret may sit there: it is
        // never repeated, not even as `param`.
        return Err(FormError::coded(
            "unknown_parameter",
            "body",
            format!("unknown field; the fields are {}", allowed.join(", ")),
        ));
    }
    if path == "." {
        return Err(FormError::coded(
            "body_not_object",
            "body",
            "the body must be a JSON object",
        ));
    }
    Err(FormError::coded(
        "parameter_invalid_type",
        path.clone(),
        format!("`{path}` must be a string"),
    ))
}

/// Refuses an unusable secret: blank, over `max` characters, or holding whitespace or control
/// characters (no gateway issues such keys; they come from a bad copy and paste).
pub fn check_secret(field: &str, value: &SecretString, max: usize) -> Result<(), FormError> {
    let v = value.expose();
    if v.trim().is_empty() {
        return Err(FormError::new(field, format!("`{field}` is empty")));
    }
    if v.chars().count() > max {
        return Err(FormError::new(
            field,
            format!("`{field}` is longer than {max} characters"),
        ));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FormError::new(
            field,
            format!("`{field}` contains spaces or control characters"),
        ));
    }
    Ok(())
}

/// The fewest characters a webhook verification secret registered by API may have (Asaas's own
/// rule for a webhook's `authToken` is 32-255 characters).
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 32;

/// [`check_secret`] plus a floor: a shared secret that authenticates inbound webhooks (Asaas's
/// `authToken`, an EFI `hmac`, a Stripe endpoint secret) must be long enough not to be guessed;
/// a short one is refused with its field named.
pub fn check_webhook_secret(
    field: &str,
    value: &SecretString,
    min: usize,
    max: usize,
) -> Result<(), FormError> {
    check_secret(field, value, max)?;
    if value.expose().chars().count() < min {
        return Err(FormError::new(
            field,
            format!("`{field}` must be at least {min} characters"),
        ));
    }
    Ok(())
}

/// Checks a `base_url`: one of `known` (the gateway's production and sandbox hosts), or with
/// `allow_custom_endpoints` any `http(s)` URL. Answers it without a trailing slash.
pub fn check_base_url(
    value: &str,
    known: &[&str],
    policy: FormPolicy,
) -> Result<String, FormError> {
    let trimmed = value.trim().trim_end_matches('/');
    if known.contains(&trimmed) {
        return Ok(trimmed.to_string());
    }
    if !policy.allow_custom_endpoints {
        return Err(FormError::new(
            "base_url",
            format!("`base_url` must be one of {}", known.join(", ")),
        ));
    }
    match url::Url::parse(trimmed) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(trimmed.to_string())
        }
        _ => Err(FormError::new(
            "base_url",
            "`base_url` must be an http(s) URL",
        )),
    }
}

/// Collects the masked view: every secret masked, `base_url` as given.
#[derive(Default)]
pub struct MaskedView(BTreeMap<String, String>);

impl MaskedView {
    /// Adds a secret field.
    pub fn secret(mut self, field: &str, value: Option<&SecretString>) -> Self {
        if let Some(v) = value {
            self.0.insert(field.into(), mask(v.expose()));
        }
        self
    }

    /// Adds a field shown as it is.
    pub fn plain(mut self, field: &str, value: Option<&str>) -> Self {
        if let Some(v) = value {
            self.0.insert(field.into(), v.to_string());
        }
        self
    }

    /// The view.
    pub fn done(self) -> BTreeMap<String, String> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        secret_key: SecretString,
        base_url: Option<String>,
    }

    #[test]
    fn refusals_name_the_field_and_never_the_value() {
        let allowed = ["secret_key", "base_url"];
        for (body, param) in [
            (r#"{"secret_key": 4242424242424242}"#, "secret_key"),
            (r#"{"secret_key": ["sk_live_leak"]}"#, "secret_key"),
            (
                r#"{"secret_key": "x", "base_url": {"sk_live_leak": 1}}"#,
                "base_url",
            ),
            (r#"{"base_url": "sk_live_leak"}"#, "secret_key"),
            (r#"{"secret_key": "a", "sk_live_leak": "b"}"#, "body"),
            (
                r#"{"secret_key": "sk_live_leak", "secret_key": "sk_live_leak"}"#,
                "secret_key",
            ),
            (r#"{"secret_key": "sk_live_leak"#, "body"),
            (r#""sk_live_leak""#, "body"),
            ("[]", "body"),
            ("", "body"),
            ("\u{ff}", "body"),
        ] {
            let e = parse_body::<Body>(body.as_bytes(), &allowed).unwrap_err();
            assert_eq!(e.param, param, "{body}: {e:?}");
            assert!(
                !e.message.contains("leak") && !e.message.contains("4242"),
                "{body}: {e:?}"
            );
        }
    }

    #[test]
    fn secrets_and_urls() {
        let s = |v: &str| SecretString::new(v);
        assert!(check_secret("k", &s("sk_test_123"), 100).is_ok());
        for bad in ["", "   ", "sk test", "sk\u{0}x", &"a".repeat(101)] {
            let e = check_secret("k", &s(bad), 100).unwrap_err();
            assert_eq!(e.param, "k");
        }
        let long = "a".repeat(32);
        assert!(check_webhook_secret("w", &s(&long), 32, 255).is_ok());
        for (bad, why) in [
            ("", "empty"),
            ("   ", "empty"),
            ("x", "at least 32"),
            (&long[1..], "at least 32"),
            (&"a".repeat(256), "longer than 255"),
        ] {
            let e = check_webhook_secret("w", &s(bad), 32, 255).unwrap_err();
            assert_eq!(e.param, "w");
            assert!(e.message.contains(why), "{bad:?}: {e:?}");
        }
        let known = ["https://api.stripe.com"];
        let strict = FormPolicy::default();
        let open = FormPolicy {
            allow_custom_endpoints: true,
            ..FormPolicy::default()
        };
        assert_eq!(
            check_base_url("https://api.stripe.com/", &known, strict).unwrap(),
            "https://api.stripe.com"
        );
        assert!(check_base_url("http://169.254.169.254", &known, strict).is_err());
        assert!(check_base_url("http://127.0.0.1:9", &known, open).is_ok());
        assert!(check_base_url("file:///etc/passwd", &known, open).is_err());
    }
}
