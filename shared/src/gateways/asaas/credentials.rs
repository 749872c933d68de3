//! `PUT /v1/gateways/asaas/credentials`: `{"api_key": "$aact_…", "webhook_token"?,
//! "base_url"?}` (the sandbox is `https://api-sandbox.asaas.com/v3`).

use crate::domain::{SecretJson, SecretString};
use crate::gateways::credential_form::{
    check_base_url, check_secret, check_webhook_secret, parse_body, CredentialForm, FormError,
    FormPolicy, MaskedView, MIN_WEBHOOK_SECRET_CHARS,
};

/// Asaas production and sandbox hosts (current and older sandbox address).
pub const KNOWN_BASE_URLS: &[&str] = &[
    "https://api.asaas.com/v3",
    "https://api-sandbox.asaas.com/v3",
    "https://sandbox.asaas.com/api/v3",
];

const FIELDS: &[&str] = &["api_key", "webhook_token", "base_url"];

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    api_key: SecretString,
    webhook_token: Option<SecretString>,
    base_url: Option<String>,
}

/// Checks a body and makes the client's credential document from it.
pub fn form(body: &[u8], policy: FormPolicy) -> Result<CredentialForm, FormError> {
    let b: Body = parse_body(body, FIELDS)?;
    check_secret("api_key", &b.api_key, 512)?;
    if let Some(t) = &b.webhook_token {
        // Asaas's own rule for `authToken` is 32-255 characters without spaces: a shorter
        // token is not one Asaas would send, and would be easier to guess.
        check_webhook_secret("webhook_token", t, MIN_WEBHOOK_SECRET_CHARS, 255)?;
    }
    let base_url = b
        .base_url
        .as_deref()
        .map(|u| check_base_url(u, KNOWN_BASE_URLS, policy))
        .transpose()?;
    let mut doc = serde_json::json!({ "access_token": b.api_key.expose() });
    if let Some(u) = &base_url {
        doc["base_url"] = u.clone().into();
    }
    Ok(CredentialForm {
        masked: MaskedView::default()
            .secret("api_key", Some(&b.api_key))
            .secret("webhook_token", b.webhook_token.as_ref())
            .plain("base_url", base_url.as_deref())
            .done(),
        document: SecretJson::new(doc),
        webhook_secret: b.webhook_token,
        previous_secret_for: None,
        webhook_allowed_ips: None,
    })
}
