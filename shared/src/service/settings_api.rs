//! The tenant's own settings: `GET /v1/settings` and `PATCH /v1/settings` (the callback URL).
//!
//! The callback URL is the tenant's default destination for every merchant event that has no
//! URL of its own (a payment created with `callback_url`). It is read at each delivery attempt,
//! not fixed on the payment, so a change reaches the events still waiting (retries, events held
//! for a failing endpoint) and those of payments made before it — see "Changing the callback
//! URL" in docs/ARCHITECTURE.md. The change is the tenant record's one conditional write
//! (`modify_tenant`), audited as `settings.callback_url`.

use super::{Orchestrator, Principal};
use crate::domain::{CallbackUrl, TenantId};
use crate::error::ApiError;
use crate::ports::Tenant;
use serde_json::{json, Map, Value};

/// The settings object: what the tenant configured, in the mode of the key that asks.
/// `livemode` is the asking key's (a tenant as stored is its live record whatever the key).
pub(crate) fn settings_view(t: &Tenant, livemode: bool) -> Value {
    json!({
        "object": "settings",
        "tenant_id": t.id.live_id().as_str(),
        "name": Some(t.name.as_str()).filter(|n| !n.is_empty()),
        "livemode": livemode,
        "callback_url": t.callback_url.as_ref().map(CallbackUrl::as_str),
    })
}

/// A request body that must be a JSON object (an empty body reads as `{}` when `empty_ok`).
pub(crate) fn body_object(body: &[u8], empty_ok: bool) -> Result<Map<String, Value>, ApiError> {
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::Invalid {
            code: "body_not_object",
            message: "the body must be a JSON object".into(),
            param: None,
        }),
        // serde's own text (line, column, Rust types) never reaches the merchant.
        Err(_) => Err(ApiError::Invalid {
            code: "body_not_json",
            message:
                "the body is not JSON: send a JSON object such as {\"callback_url\": \"https://…\"}"
                    .into(),
            param: None,
        }),
    }
}

/// The first field of `body` not in `known`, as the 400 naming it.
pub(crate) fn refuse_unknown(body: &Map<String, Value>, known: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => {
            let name: String = k.chars().take(40).collect();
            Err(ApiError::invalid(
                "unknown_parameter",
                name.clone(),
                format!("unknown parameter `{name}`; accepted: {}", known.join(", ")),
            ))
        }
        None => Ok(()),
    }
}

/// `callback_url` as a body gives it: a URL, or `null` to remove it. Parsed with the same rules
/// as everywhere (`CallbackUrl::parse`: https, or loopback http where the deployment allows it).
pub(crate) fn parse_callback_url(
    raw: &Value,
    allow_loopback_http: bool,
) -> Result<Option<CallbackUrl>, ApiError> {
    match raw {
        Value::Null => Ok(None),
        Value::String(s) => CallbackUrl::parse(s, allow_loopback_http)
            .map(Some)
            .map_err(|e| ApiError::invalid("invalid_callback_url", "callback_url", e.to_string())),
        _ => Err(ApiError::invalid(
            "parameter_invalid_type",
            "callback_url",
            "callback_url must be a URL (a string) or null",
        )),
    }
}

impl Orchestrator {
    /// `GET /v1/settings`.
    pub async fn get_settings(&self, who: &Principal) -> Result<String, ApiError> {
        Ok(settings_view(&who.tenant, who.tenant.livemode()).to_string())
    }

    /// `PATCH /v1/settings` `{"callback_url": "https://…" | null}`. A test key may not move the
    /// URL (it receives live events too): 400 `livemode_required`, as for the callback secret.
    pub async fn update_settings(&self, who: &Principal, body: &[u8]) -> Result<String, ApiError> {
        let fields = body_object(body, false)?;
        refuse_unknown(&fields, &["callback_url"])?;
        let Some(raw) = fields.get("callback_url") else {
            // Nothing asked: the settings as they are.
            return self.get_settings(who).await;
        };
        let url = parse_callback_url(raw, self.config.allow_loopback_callbacks)?;
        if who.tenant.id.is_test() {
            return Err(ApiError::invalid(
                "livemode_required",
                "Authorization",
                "changing the callback URL needs a live key (sk_live_…): live events go there too",
            ));
        }
        let (stored, _) = self
            .set_callback_url(&who.tenant.id, &who.key_id, url)
            .await?;
        Ok(settings_view(&stored, who.tenant.livemode()).to_string())
    }

    /// Stores `url` as the tenant's callback URL (one conditional write, re-read and redone on a
    /// concurrent change) and audits it as `settings.callback_url` by `actor`, in the mode of
    /// `id`. Returns the tenant as stored and the URL it had.
    pub(crate) async fn set_callback_url(
        &self,
        id: &TenantId,
        actor: &str,
        url: Option<CallbackUrl>,
    ) -> Result<(Tenant, Option<CallbackUrl>), ApiError> {
        let (stored, before) = self
            .modify_tenant(id, |t| {
                let before = t.callback_url.clone();
                t.callback_url = url.clone();
                Ok(before)
            })
            .await?;
        if before != stored.callback_url {
            let show = |u: &Option<CallbackUrl>| json!({"callback_url": u.as_ref().map(CallbackUrl::as_str)});
            self.audit(
                &stored.id,
                actor,
                "settings.callback_url",
                show(&before),
                show(&stored.callback_url),
            )
            .await;
            tracing::info!(tenant = %stored.id, "callback URL changed");
        }
        Ok((stored, before))
    }
}
