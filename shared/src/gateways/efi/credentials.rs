//! `PUT /v1/gateways/efi/credentials`: `{"client_id", "client_secret", "certificate_p12"
//! (the .p12 EFI issues, base64), "certificate_password"?, "pix_key", "webhook_hmac"?,
//! "base_url"?, "ca_pem"?}`. `webhook_hmac` is the `hmac` query secret of the tenant's EFI
//! webhook URL (`…/webhooks/efi/<tenant>?hmac=<secret>&ignorar=`), set on the tenant like the
//! other gateways' webhook secrets.

use super::EfiConfig;
use crate::domain::{SecretJson, SecretString};
use crate::gateways::credential_form::{
    check_base_url, check_secret, check_webhook_secret, parse_body, CredentialForm, FormError,
    FormPolicy, MaskedView, MIN_WEBHOOK_SECRET_CHARS,
};
use zeroize::Zeroizing;

/// EFI Pix production and sandbox ("homologação") hosts.
pub const KNOWN_BASE_URLS: &[&str] = &[
    "https://pix.api.efipay.com.br",
    "https://pix-h.api.efipay.com.br",
];

const FIELDS: &[&str] = &[
    "client_id",
    "client_secret",
    "certificate_p12",
    "certificate_password",
    "pix_key",
    "webhook_hmac",
    "base_url",
    "ca_pem",
];

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    client_id: SecretString,
    client_secret: SecretString,
    certificate_p12: SecretString,
    certificate_password: Option<SecretString>,
    pix_key: SecretString,
    webhook_hmac: Option<SecretString>,
    base_url: Option<String>,
    ca_pem: Option<String>,
}

/// Checks a body (the certificate is opened here, so a wrong password or file is a 400) and
/// makes the client's credential document from it.
pub fn form(body: &[u8], policy: FormPolicy) -> Result<CredentialForm, FormError> {
    use base64::Engine;
    let b: Body = parse_body(body, FIELDS)?;
    check_secret("client_id", &b.client_id, 512)?;
    check_secret("client_secret", &b.client_secret, 512)?;
    check_secret("pix_key", &b.pix_key, 77)?;
    if let Some(h) = &b.webhook_hmac {
        check_webhook_secret("webhook_hmac", h, MIN_WEBHOOK_SECRET_CHARS, 255)?;
        // It rides in the webhook URL's query: characters that need no escaping only, so the
        // URL registered at EFI carries exactly this value.
        if !h
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        {
            return Err(FormError::new(
                "webhook_hmac",
                "`webhook_hmac` may hold only letters, digits, `-`, `_`, `.` and `~`",
            ));
        }
    }
    let p12: Zeroizing<String> = Zeroizing::new(
        b.certificate_p12
            .expose()
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    if p12.is_empty() {
        return Err(FormError::new(
            "certificate_p12",
            "`certificate_p12` is empty",
        ));
    }
    let der = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(p12.as_bytes())
            .map_err(|_| {
                FormError::new(
                    "certificate_p12",
                    "`certificate_p12` must be the .p12 file in standard base64",
                )
            })?,
    );
    let password = b
        .certificate_password
        .as_ref()
        .map(SecretString::expose)
        .unwrap_or("");
    EfiConfig::identity_from_pkcs12_with_password(&der, password)
        .map(Zeroizing::new)
        .map_err(|_| {
            FormError::new(
                "certificate_p12",
                "`certificate_p12` could not be opened (a wrong `certificate_password`, or no key and certificate in it)",
            )
        })?;
    let base_url = b
        .base_url
        .as_deref()
        .map(|u| check_base_url(u, KNOWN_BASE_URLS, policy))
        .transpose()?;
    if b.ca_pem.is_some() && !policy.allow_custom_endpoints {
        return Err(FormError::new(
            "ca_pem",
            "`ca_pem` (an extra trusted CA) is accepted only where custom endpoints are",
        ));
    }
    let mut doc = serde_json::json!({
        "client_id": b.client_id.expose(),
        "client_secret": b.client_secret.expose(),
        "pix_key": b.pix_key.expose(),
        "certificate_p12_base64": p12.as_str(),
    });
    if let Some(pw) = &b.certificate_password {
        doc["certificate_p12_password"] = pw.expose().into();
    }
    if let Some(u) = &base_url {
        doc["base_url"] = u.clone().into();
    }
    if let Some(ca) = &b.ca_pem {
        doc["ca_pem"] = ca.clone().into();
    }
    Ok(CredentialForm {
        masked: MaskedView::default()
            .secret("client_id", Some(&b.client_id))
            .secret("client_secret", Some(&b.client_secret))
            .secret("certificate_p12", Some(&b.certificate_p12))
            .secret("certificate_password", b.certificate_password.as_ref())
            .secret("pix_key", Some(&b.pix_key))
            .secret("webhook_hmac", b.webhook_hmac.as_ref())
            .plain("base_url", base_url.as_deref())
            .plain("ca_pem", b.ca_pem.as_ref().map(|_| "(provided)"))
            .done(),
        document: SecretJson::new(doc),
        webhook_secret: b.webhook_hmac,
        previous_secret_for: None,
    })
}
