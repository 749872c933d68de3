//! `PUT /v1/gateways/stripe/credentials`: `{"secret_key": "sk_…" | "rk_…", "webhook_secret"?:
//! "whsec_…", "previous_webhook_secret_expires_in"?: seconds, "base_url"?}`. A new
//! `webhook_secret` replaces the endpoint secret; the previous one stays accepted for
//! `previous_webhook_secret_expires_in` seconds (default 86,400; at most 7 days; 0 drops it at
//! once — the way to revoke a leaked one).

use crate::domain::SecretJson;
use crate::domain::SecretString;
use crate::gateways::credential_form::{
    check_base_url, check_secret, check_webhook_secret, parse_body, CredentialForm, FormError,
    FormPolicy, MaskedView, MAX_PREVIOUS_SECRET_SECONDS, MIN_WEBHOOK_SECRET_CHARS,
};

/// Stripe's API host (no sandbox host: test mode is a key, `sk_test_…`).
pub const KNOWN_BASE_URLS: &[&str] = &["https://api.stripe.com"];

const FIELDS: &[&str] = &[
    "secret_key",
    "webhook_secret",
    "previous_webhook_secret_expires_in",
    "base_url",
];

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    secret_key: SecretString,
    webhook_secret: Option<SecretString>,
    previous_webhook_secret_expires_in: Option<i64>,
    base_url: Option<String>,
}

/// Checks a body and makes the client's credential document from it.
pub fn form(body: &[u8], policy: FormPolicy) -> Result<CredentialForm, FormError> {
    let b: Body = parse_body(body, FIELDS)?;
    check_secret("secret_key", &b.secret_key, 512)?;
    let key = b.secret_key.expose();
    if !(key.starts_with("sk_") || key.starts_with("rk_")) {
        return Err(FormError::new(
            "secret_key",
            "`secret_key` must be a secret (sk_…) or restricted (rk_…) key, never a publishable one",
        ));
    }
    if let Some(w) = &b.webhook_secret {
        check_webhook_secret("webhook_secret", w, MIN_WEBHOOK_SECRET_CHARS, 512)?;
        if !w.expose().starts_with("whsec_") {
            return Err(FormError::new(
                "webhook_secret",
                "`webhook_secret` must be the endpoint's signing secret (whsec_…)",
            ));
        }
    }
    let previous_secret_for = match b.previous_webhook_secret_expires_in {
        None => None,
        Some(_) if b.webhook_secret.is_none() => {
            return Err(FormError::new(
                "previous_webhook_secret_expires_in",
                "`previous_webhook_secret_expires_in` goes with the `webhook_secret` that replaces it",
            ))
        }
        Some(n) if (0..=MAX_PREVIOUS_SECRET_SECONDS).contains(&n) => Some(n),
        Some(_) => {
            return Err(FormError::new(
                "previous_webhook_secret_expires_in",
                "`previous_webhook_secret_expires_in` must be whole seconds from 0 (drop it now) to 604800 (7 days)",
            ))
        }
    };
    let base_url = b
        .base_url
        .as_deref()
        .map(|u| check_base_url(u, KNOWN_BASE_URLS, policy))
        .transpose()?;
    let mut doc = serde_json::json!({ "secret_key": key });
    if let Some(u) = &base_url {
        doc["base_url"] = u.clone().into();
    }
    Ok(CredentialForm {
        masked: MaskedView::default()
            .secret("secret_key", Some(&b.secret_key))
            .secret("webhook_secret", b.webhook_secret.as_ref())
            .plain("base_url", base_url.as_deref())
            .done(),
        document: SecretJson::new(doc),
        webhook_secret: b.webhook_secret,
        previous_secret_for,
        webhook_allowed_ips: None,
    })
}
