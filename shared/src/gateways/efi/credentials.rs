//! `PUT /v1/gateways/efi/credentials`: `{"client_id", "client_secret", "certificate_p12"
//! (the .p12 EFI issues, base64), "certificate_password"?, "pix_key", "webhook_hmac"?,
//! "webhook_allowed_ips"?, "base_url"?, "ca_pem"?}`. `webhook_hmac` is the `hmac` query secret
//! of the tenant's EFI webhook URL (`…/webhooks/efi/<tenant>?hmac=<secret>&ignorar=`), set on
//! the tenant like the other gateways' webhook secrets; `webhook_allowed_ips` the source IPs
//! EFI sends from (EFI's docs name `34.193.116.226`), set on the tenant as
//! `webhook_secrets.efi_allowed_ips`. Credentials are live: the receiver refuses a live
//! tenant's EFI webhook from an unlisted IP unless it came over mutual TLS with EFI's
//! certificate, so a `webhook_hmac` without allowed IPs is refused where the deployment has
//! no mutual TLS for EFI ([`FormPolicy::efi_mtls`]).

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
    "webhook_allowed_ips",
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
    webhook_allowed_ips: Option<Vec<String>>,
    base_url: Option<String>,
    ca_pem: Option<String>,
}

/// The most source IPs an EFI webhook allowlist may hold.
pub const MAX_WEBHOOK_ALLOWED_IPS: usize = 32;

/// Reads `webhook_allowed_ips`: each an IPv4 or IPv6 address (no ranges), at most
/// [`MAX_WEBHOOK_ALLOWED_IPS`]; the error names the entry.
fn allowed_ips(list: &[String]) -> Result<Vec<std::net::IpAddr>, FormError> {
    if list.len() > MAX_WEBHOOK_ALLOWED_IPS {
        return Err(FormError::new(
            "webhook_allowed_ips",
            format!("`webhook_allowed_ips` may list at most {MAX_WEBHOOK_ALLOWED_IPS} addresses"),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, ip) in list.iter().enumerate() {
        let ip = ip.trim().parse().map_err(|_| {
            FormError::new(
                format!("webhook_allowed_ips[{i}]"),
                format!(
                    "`webhook_allowed_ips[{i}]` is not an IP address (IPv4 or IPv6, no ranges)"
                ),
            )
        })?;
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
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
    let ips = b
        .webhook_allowed_ips
        .as_deref()
        .map(allowed_ips)
        .transpose()?;
    // A live tenant's EFI webhooks need a listed source IP or EFI's certificate over mutual
    // TLS: without either, the `hmac` would authenticate nothing the receiver accepts.
    if (b.webhook_hmac.is_some() || ips.is_some())
        && ips.as_ref().is_none_or(Vec::is_empty)
        && !policy.efi_mtls
    {
        return Err(FormError::new(
            "webhook_allowed_ips",
            "`webhook_allowed_ips` must list at least one source IP with `webhook_hmac`: this deployment does not verify EFI's client certificate (mutual TLS), so a live tenant's EFI webhooks are accepted only from listed IPs (EFI names 34.193.116.226)",
        ));
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
    let ips_view = ips.as_ref().map(|l| {
        l.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    });
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
            .plain("webhook_allowed_ips", ips_view.as_deref())
            .plain("base_url", base_url.as_deref())
            .plain("ca_pem", b.ca_pem.as_ref().map(|_| "(provided)"))
            .done(),
        document: SecretJson::new(doc),
        webhook_secret: b.webhook_hmac,
        previous_secret_for: None,
        webhook_allowed_ips: ips,
    })
}
