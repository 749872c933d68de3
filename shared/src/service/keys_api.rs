//! A tenant's own credentials toward us: API keys (`/v1/api_keys`), callback signing secrets
//! (`/v1/webhook_secrets`), and the audit log of configuration changes (`/v1/audit`).

use super::admin_api::{key_info, masked_key, new_api_key, new_callback_secret};
use super::queries::parse_limit;
use super::{Orchestrator, Principal};
use crate::domain::AccountMode;
use crate::error::ApiError;
use crate::ports::{secret_fingerprint, Tenant};
use chrono::Duration;
use serde::Deserialize;
use serde_json::{json, Value};

/// Most active keys a tenant may hold.
pub const MAX_KEYS: usize = 20;
/// Most callback secrets signing at once (the current one and those in their grace).
pub const MAX_SECRETS: usize = 3;
/// Longest key lifetime a request may ask for.
pub const MAX_KEY_DAYS: i64 = 3650;
/// Default and longest grace of a rotated-out callback secret.
pub const DEFAULT_GRACE_HOURS: i64 = 24;
const MAX_GRACE_HOURS: i64 = 24 * 7;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewKey {
    /// The key stops working after this many days (rotation overlap).
    #[serde(default, deserialize_with = "super::json_body::int::opt_i64")]
    expires_in_days: Option<i64>,
    /// `test` or `live`; by default the mode of the key making the request.
    #[serde(default)]
    mode: Option<AccountMode>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rotate {
    #[serde(default, deserialize_with = "super::json_body::int::opt_i64")]
    grace_hours: Option<i64>,
}

/// A test key may not act on live-mode credentials (make or revoke a live key, rotate the
/// callback secret that signs live callbacks): test keys are handed out more freely, and must
/// never lead to live access.
fn live_key_required(who: &Principal, what: &str) -> Result<(), ApiError> {
    if who.tenant.id.is_test() {
        return Err(ApiError::invalid(
            "livemode_required",
            "Authorization",
            format!("{what} needs a live key (sk_live_…)"),
        ));
    }
    Ok(())
}

/// These bodies are optional: empty means every default.
fn parse_optional<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    super::json_body::parse_or_default(
        body,
        &[
            ("expires_in_days", "an integer number of days"),
            ("grace_hours", "an integer number of hours"),
        ],
    )
}

/// `whsec_ab…yz`
fn masked_secret(s: &str) -> String {
    let body = s.strip_prefix("whsec_").unwrap_or(s);
    let head: String = body.chars().take(2).collect();
    let tail: String = body
        .chars()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("whsec_{head}…{tail}")
}

impl Orchestrator {
    /// The stored tenant (not the cached copy), for read-modify-write.
    async fn fresh_tenant(&self, tenant: &Tenant) -> Result<Tenant, ApiError> {
        self.tenants
            .get(&tenant.id)
            .await?
            .ok_or_else(|| ApiError::Internal("authenticated tenant not found".into()))
    }

    /// `POST /v1/api_keys`: a new key, shown once; with `expires_in_days` it lapses by itself.
    pub async fn create_api_key(&self, who: &Principal, body: &[u8]) -> Result<String, ApiError> {
        let req: NewKey = parse_optional(body)?;
        let now = self.clock.now();
        let expires_at = match req.expires_in_days {
            Some(d) if (1..=MAX_KEY_DAYS).contains(&d) => Some(now + Duration::days(d)),
            Some(_) => {
                return Err(ApiError::invalid(
                    "parameter_out_of_range",
                    "expires_in_days",
                    format!("expires_in_days must be 1 to {MAX_KEY_DAYS}"),
                ))
            }
            None => None,
        };
        let mode = req.mode.unwrap_or(who.tenant.mode());
        if mode == AccountMode::Live {
            live_key_required(who, "a live key")?;
        }
        let key = new_api_key(mode);
        let info = key_info(&key, now, expires_at);
        let (t, ()) = self
            .modify_tenant(&who.tenant.id, |t| {
                if t.api_key_sha256.len() >= MAX_KEYS {
                    return Err(ApiError::InvalidState(format!(
                        "at most {MAX_KEYS} keys at once; revoke one first"
                    )));
                }
                t.api_key_sha256.push(info.sha256.clone());
                t.api_keys.push(info.clone());
                Ok(())
            })
            .await?;
        let view = json!({
            "id": info.id, "object": "api_key", "mode": mode.as_str(),
            "prefix": info.prefix, "last4": info.last4,
            "created_at": crate::time_format::render(&info.created_at),
            "expires_at": info.expires_at.as_ref().map(crate::time_format::render),
        });
        self.audit(
            &t.id,
            &who.key_id,
            "api_key.create",
            Value::Null,
            view.clone(),
        )
        .await;
        let mut out = view;
        out["key"] = json!(key);
        Ok(out.to_string())
    }

    /// `GET /v1/api_keys`: every active key with its prefix, last 4, dates and last use.
    pub async fn list_api_keys(&self, who: &Principal) -> Result<String, ApiError> {
        let t = self.fresh_tenant(&who.tenant).await?;
        let mut data = Vec::new();
        for h in &t.api_key_sha256 {
            let last_used = self.tenants.key_last_used(h).await?;
            let info = t.api_keys.iter().find(|k| &k.sha256 == h);
            data.push(json!({
                "id": t.key_id(h),
                "object": "api_key",
                "mode": info.and_then(|i| AccountMode::of_key(&i.prefix)).map(AccountMode::as_str),
                "prefix": info.map(|i| i.prefix.clone()),
                "last4": info.map(|i| i.last4.clone()),
                "masked": info.map(masked_key),
                "created_at": info.map(|i| crate::time_format::render(&i.created_at)),
                "expires_at": info.and_then(|i| i.expires_at.as_ref().map(crate::time_format::render)),
                "last_used": last_used.map(|d| d.to_string()),
                "current": t.key_id(h) == who.key_id,
            }));
        }
        Ok(json!({"object": "list", "data": data, "has_more": false}).to_string())
    }

    /// `DELETE /v1/api_keys/{id}`: revokes at once on this instance, elsewhere within the
    /// tenant cache period. The last key cannot be revoked (the tenant would be locked out).
    pub async fn revoke_api_key(&self, who: &Principal, id: &str) -> Result<String, ApiError> {
        let now = self.clock.now();
        let (t, ()) = self
            .modify_tenant(&who.tenant.id, |t| {
                let Some(hash) = t.api_key_sha256.iter().find(|h| t.key_id(h) == id).cloned()
                else {
                    return Err(ApiError::NotFound("no such API key".into()));
                };
                // A key's mode: its prefix's; a tenants-file key (no recorded prefix) acts in
                // the tenant's stored mode.
                let key_mode = t
                    .api_keys
                    .iter()
                    .find(|k| k.sha256 == hash)
                    .and_then(|k| AccountMode::of_key(&k.prefix))
                    .unwrap_or(t.mode());
                if key_mode != AccountMode::Test {
                    live_key_required(who, "revoking a key that is not a test key")?;
                }
                // Another key must still work (an expired one does not count).
                let others = t
                    .api_key_sha256
                    .iter()
                    .filter(|h| **h != hash && t.key_is_valid(h, now))
                    .count();
                if others == 0 {
                    return Err(ApiError::InvalidState(
                        "no other key works; create another before revoking this one".into(),
                    ));
                }
                t.api_key_sha256.retain(|h| h != &hash);
                t.api_keys.retain(|k| k.sha256 != hash);
                Ok(())
            })
            .await?;
        self.audit(
            &t.id,
            &who.key_id,
            "api_key.revoke",
            json!({ "id": id }),
            Value::Null,
        )
        .await;
        Ok(json!({"id": id, "object": "api_key", "deleted": true}).to_string())
    }

    /// `POST /v1/webhook_secrets/rotate`: a new callback secret, shown once, becomes current;
    /// the previous ones keep signing for `grace_hours` (default 24), so callbacks carry both
    /// signatures while the merchant switches.
    pub async fn rotate_webhook_secret(
        &self,
        who: &Principal,
        body: &[u8],
    ) -> Result<String, ApiError> {
        live_key_required(
            who,
            "rotating the callback secret (it signs live callbacks too)",
        )?;
        let req: Rotate = parse_optional(body)?;
        let grace = req.grace_hours.unwrap_or(DEFAULT_GRACE_HOURS);
        if !(0..=MAX_GRACE_HOURS).contains(&grace) {
            return Err(ApiError::invalid(
                "parameter_out_of_range",
                "grace_hours",
                format!("grace_hours must be 0 to {MAX_GRACE_HOURS}"),
            ));
        }
        let now = self.clock.now();
        let until = now + Duration::hours(grace);
        let secret = new_callback_secret();
        let (t, before) = self
            .modify_tenant(&who.tenant.id, |t| {
                let before = secrets_view(t, now);
                // Secrets past their grace go; the others end at the latest `until`; at most
                // MAX_SECRETS sign at once (the oldest go first), so the list stays bounded.
                let mut active: Vec<String> = t
                    .active_callback_secrets(now)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                active.truncate(MAX_SECRETS - 1);
                for s in &active {
                    let fp = secret_fingerprint(s);
                    let end = t.callback_secret_expiry.get(&fp).copied().unwrap_or(until);
                    t.callback_secret_expiry.insert(fp, end.min(until));
                }
                t.callback_secrets = std::iter::once(secret.clone()).chain(active).collect();
                let kept: Vec<String> = t
                    .callback_secrets
                    .iter()
                    .map(|s| secret_fingerprint(s))
                    .collect();
                t.callback_secret_expiry.retain(|fp, _| kept.contains(fp));
                Ok(before)
            })
            .await?;
        let after = secrets_view(&t, now);
        self.audit(
            &t.id,
            &who.key_id,
            "webhook_secret.rotate",
            before,
            after.clone(),
        )
        .await;
        let mut out = after;
        out["secret"] = json!(secret);
        Ok(out.to_string())
    }

    /// `GET /v1/webhook_secrets`: masked, current first, with each one's end of grace.
    pub async fn list_webhook_secrets(&self, who: &Principal) -> Result<String, ApiError> {
        let t = self.fresh_tenant(&who.tenant).await?;
        Ok(secrets_view(&t, self.clock.now()).to_string())
    }

    /// `GET /v1/audit?limit=`: the newest configuration changes first.
    pub async fn list_audit(
        &self,
        who: &Principal,
        query: Option<&str>,
    ) -> Result<String, ApiError> {
        let mut limit = super::queries::DEFAULT_LIMIT;
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "limit" => limit = parse_limit(&v)?,
                other => {
                    return Err(ApiError::invalid(
                        "unknown_parameter",
                        other.chars().take(40).collect::<String>(),
                        format!(
                            "unknown query parameter {}; use limit",
                            other.chars().take(40).collect::<String>()
                        ),
                    ))
                }
            }
        }
        let store = self
            .audit
            .as_deref()
            .ok_or_else(|| ApiError::Unavailable("audit is not configured".into()))?;
        let entries = store.list(&who.tenant.id, limit).await?;
        let data: Vec<Value> = entries
            .iter()
            .map(|e| {
                json!({"id": e.id, "object": "audit_entry", "livemode": !who.tenant.id.is_test(),
                       "at": crate::time_format::render(&e.at),
                       "actor": e.actor, "action": e.action, "before": e.before, "after": e.after})
            })
            .collect();
        Ok(json!({"object": "list", "data": data, "has_more": false}).to_string())
    }
}

fn secrets_view(t: &Tenant, now: chrono::DateTime<chrono::Utc>) -> Value {
    let data: Vec<Value> = t
        .active_callback_secrets(now)
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "masked": masked_secret(s),
                "current": i == 0,
                "expires_at": t.callback_secret_expiry.get(&secret_fingerprint(s)).map(crate::time_format::render),
            })
        })
        .collect();
    json!({"object": "webhook_secrets", "data": data})
}
