//! The operator API (`/v1/admin/tenants`): onboarding a merchant without editing files. Only
//! an operator key (the deployment's configuration: `ServiceConfig::operator_key_hashes`)
//! reaches it; a tenant key gets 401.

use super::Orchestrator;
use crate::domain::{AccountMode, CallbackUrl, PaymentMethod, TenantId};
use crate::error::ApiError;
use crate::ports::{hash_api_key, ApiKeyInfo, AuditEntry, Tenant};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A new API key of `mode`: 128 random bits, hex, after the mode's prefix (`sk_test_`,
/// `sk_live_`), which decides the mode of every request it makes.
pub(crate) fn new_api_key(mode: AccountMode) -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    format!("{}{}", mode.key_prefix(), hex::encode(b))
}

/// A new callback signing secret (`whsec_` + 32 random bytes, base64).
pub(crate) fn new_callback_secret() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(b)
    )
}

/// The listing record of a freshly made key.
pub(crate) fn key_info(
    key: &str,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> ApiKeyInfo {
    ApiKeyInfo {
        id: format!("key_{}", ulid::Ulid::new()),
        sha256: hash_api_key(key),
        prefix: key.chars().take(8).collect(),
        last4: key
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
        created_at: now,
        expires_at,
    }
}

/// `sk_live_…abcd`: what a listing shows of a key.
pub(crate) fn masked_key(k: &ApiKeyInfo) -> String {
    format!("{}…{}", k.prefix, k.last4)
}

/// The operator's view of a tenant: configuration, never a secret or a key hash.
pub(crate) fn tenant_view(t: &Tenant) -> Value {
    json!({
        "id": t.id.as_str(),
        "object": "tenant",
        "name": t.name,
        "disabled": t.disabled,
        "routing": t.routing,
        "callback_url": t.callback_url.as_ref().map(|u| u.as_str()),
        "live_gateways": t.live_gateways,
        "mode": t.mode().as_str(),
        "rate_limit_per_minute": t.rate_limit_per_minute,
        "api_keys": t.api_key_sha256.len(),
    })
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    super::json_body::parse(
        body,
        &[(
            "rate_limit_per_minute",
            "an integer number of requests per minute",
        )],
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    name: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    routing: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    callback_url: Option<String>,
    #[serde(default, deserialize_with = "super::json_body::int::opt_u32")]
    rate_limit_per_minute: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantPatch {
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "super::json_body::int::opt_u32")]
    rate_limit_per_minute: Option<u32>,
    /// Absent: unchanged; `null`: removed; a URL: set (the rules of `PATCH /v1/settings`).
    #[serde(default, deserialize_with = "present")]
    callback_url: Option<Value>,
}

/// Keeps a field that is present, even as `null` (`Some(Value::Null)`), apart from an absent
/// one (`None`, through `#[serde(default)]`): `null` means "remove".
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Most requests per minute an operator may grant one tenant.
pub const MAX_RATE_LIMIT: u32 = 100_000;

impl Orchestrator {
    fn operator(&self, authorization: Option<&str>) -> Result<(), ApiError> {
        if self.is_operator(authorization) {
            Ok(())
        } else {
            Err(ApiError::Unauthenticated("an operator key is required"))
        }
    }

    /// Checks routing against the registered gateways (the same rules as `PUT /v1/routing`).
    fn checked_routing(
        &self,
        raw: BTreeMap<String, Vec<String>>,
    ) -> Result<BTreeMap<PaymentMethod, Vec<String>>, ApiError> {
        let mut out = BTreeMap::new();
        for (m, list) in raw {
            let param = format!("routing.{}", m.chars().take(40).collect::<String>());
            let method: PaymentMethod = m.parse().map_err(|_| {
                ApiError::invalid(
                    "unknown_parameter",
                    param.clone(),
                    format!(
                        "unknown parameter {param}; routing takes the methods pix, card, boleto"
                    ),
                )
            })?;
            let mut seen: Vec<&String> = Vec::new();
            for g in &list {
                let ok = self.gateways.get(g).is_some_and(|gw| gw.supports(method));
                if !ok || seen.contains(&g) {
                    return Err(ApiError::invalid(
                        "invalid_routing",
                        param.clone(),
                        format!(
                            "`{}` is not a gateway for {method}, or is listed twice",
                            g.chars().take(40).collect::<String>()
                        ),
                    ));
                }
                seen.push(g);
            }
            if list.is_empty() {
                return Err(ApiError::invalid(
                    "invalid_routing",
                    param.clone(),
                    "a method needs at least one gateway",
                ));
            }
            out.insert(method, list);
        }
        Ok(out)
    }

    /// `POST /v1/admin/tenants`: creates a tenant and returns its first API key and callback
    /// secret — shown this once, stored only as a hash (the key) or on the tenant (the secret).
    pub async fn admin_create_tenant(
        &self,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<String, ApiError> {
        self.operator(authorization)?;
        let req: NewTenant = parse_body(body)?;
        // Counted in characters before trimming, as the contract's maxLength counts them.
        let name = req.name.trim();
        if name.is_empty() || req.name.chars().count() > 200 {
            return Err(ApiError::invalid(
                "parameter_invalid_string",
                "name",
                "name must be 1-200 characters",
            ));
        }
        let id = match req.id {
            Some(id) => TenantId::parse_new(&id)
                .map_err(|e| ApiError::invalid("parameter_invalid_format", "id", e.to_string()))?,
            None => TenantId::parse(&format!(
                "ten_{}",
                ulid::Ulid::new().to_string().to_lowercase()
            ))
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        };
        let callback_url = req
            .callback_url
            .map(|u| {
                CallbackUrl::parse(&u, self.config.allow_loopback_callbacks).map_err(|e| {
                    ApiError::invalid("invalid_callback_url", "callback_url", e.to_string())
                })
            })
            .transpose()?;
        if req
            .rate_limit_per_minute
            .is_some_and(|l| l > MAX_RATE_LIMIT)
        {
            return Err(ApiError::invalid(
                "parameter_out_of_range",
                "rate_limit_per_minute",
                format!("rate_limit_per_minute must be at most {MAX_RATE_LIMIT}"),
            ));
        }
        let routing = if req.routing.is_empty() {
            default_routing()
        } else {
            self.checked_routing(req.routing)?
        };
        let now = self.clock.now();
        let key = new_api_key(AccountMode::Live);
        let test_key = new_api_key(AccountMode::Test);
        let secret = new_callback_secret();
        let info = key_info(&key, now, None);
        let test_info = key_info(&test_key, now, None);
        let tenant = Tenant {
            id: id.clone(),
            name: name.to_string(),
            api_key_sha256: vec![info.sha256.clone(), test_info.sha256.clone()],
            routing,
            callback_url,
            callback_secrets: vec![secret.clone()],
            live_gateways: vec![],
            webhook_secrets: Default::default(),
            api_keys: vec![info.clone(), test_info.clone()],
            disabled: false,
            rate_limit_per_minute: req.rate_limit_per_minute,
            callback_secret_expiry: BTreeMap::new(),
            mode: None,
            version: 0,
        };
        // Conditional: of two creations of one id (one after the other, or at once on two
        // instances) exactly one is stored; the other changes nothing and answers 409.
        if !self.tenants.create(&tenant).await? {
            return Err(ApiError::AlreadyExists(format!("tenant {id} exists")));
        }
        self.audit(
            &id,
            "operator",
            "tenant.create",
            Value::Null,
            tenant_view(&tenant),
        )
        .await;
        tracing::info!(tenant = %id, "tenant created");
        let mut view = tenant_view(&tenant);
        view["api_key"] = json!({"id": info.id, "key": key, "mode": "live",
                                 "prefix": info.prefix, "last4": info.last4});
        view["test_api_key"] = json!({"id": test_info.id, "key": test_key, "mode": "test",
                                      "prefix": test_info.prefix, "last4": test_info.last4});
        view["callback_secret"] = json!(secret);
        Ok(view.to_string())
    }

    /// `GET /v1/admin/tenants`.
    pub async fn admin_list_tenants(
        &self,
        authorization: Option<&str>,
    ) -> Result<String, ApiError> {
        self.operator(authorization)?;
        let all = self.tenants.list().await?;
        Ok(json!({
            "object": "list",
            "data": all.iter().map(tenant_view).collect::<Vec<_>>(),
            "has_more": false,
        })
        .to_string())
    }

    /// `PATCH /v1/admin/tenants/{id}`: disable/enable, rename, set the rate limit or the
    /// callback URL (`null` removes it; audited as `settings.callback_url` too). Takes effect
    /// at once on this instance and within the tenant cache period elsewhere.
    pub async fn admin_patch_tenant(
        &self,
        authorization: Option<&str>,
        id: &str,
        body: &[u8],
    ) -> Result<String, ApiError> {
        self.operator(authorization)?;
        let not_found = || ApiError::NotFound("no such tenant".into());
        let tid = TenantId::parse_new(id).map_err(|_| not_found())?;
        let patch: TenantPatch = parse_body(body)?;
        if patch.name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            return Err(ApiError::invalid(
                "parameter_invalid_string",
                "name",
                "name must be 1-200 characters",
            ));
        }
        let name = patch.name.map(|n| n.trim().to_string());
        if name.as_ref().is_some_and(String::is_empty) {
            return Err(ApiError::invalid(
                "parameter_invalid_string",
                "name",
                "name must be 1-200 characters",
            ));
        }
        if patch
            .rate_limit_per_minute
            .is_some_and(|l| l > MAX_RATE_LIMIT)
        {
            return Err(ApiError::invalid(
                "parameter_out_of_range",
                "rate_limit_per_minute",
                format!("rate_limit_per_minute must be at most {MAX_RATE_LIMIT}"),
            ));
        }
        let callback_url = patch
            .callback_url
            .as_ref()
            .map(|raw| {
                super::settings_api::parse_callback_url(raw, self.config.allow_loopback_callbacks)
            })
            .transpose()?;
        let (t, (before, url_before)) = self
            .modify_tenant(&tid, |t| {
                let before = (tenant_view(t), t.callback_url.clone());
                if let Some(u) = &callback_url {
                    t.callback_url = u.clone();
                }
                if let Some(d) = patch.disabled {
                    t.disabled = d;
                }
                if let Some(n) = &name {
                    t.name = n.clone();
                }
                if let Some(l) = patch.rate_limit_per_minute {
                    t.rate_limit_per_minute = Some(l);
                }
                Ok(before)
            })
            .await?;
        let after = tenant_view(&t);
        self.audit(&t.id, "operator", "tenant.update", before, after.clone())
            .await;
        if url_before != t.callback_url {
            // The tenant's own audit shows who moved its callbacks, whichever route did it.
            let show = |u: &Option<CallbackUrl>| json!({"callback_url": u.as_ref().map(CallbackUrl::as_str)});
            self.audit(
                &t.id,
                "operator",
                "settings.callback_url",
                show(&url_before),
                show(&t.callback_url),
            )
            .await;
        }
        Ok(after.to_string())
    }

    /// Audits a change made through a tenant key, from the JSON views (masked) before and after.
    pub async fn audit_change(
        &self,
        who: &super::Principal,
        action: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) {
        let parse = |v: Option<&str>| {
            v.and_then(|s| serde_json::from_str::<Value>(s).ok())
                .unwrap_or(Value::Null)
        };
        self.audit(
            &who.tenant.id,
            &who.key_id,
            action,
            parse(before),
            parse(after),
        )
        .await;
    }

    /// Appends an audit entry. The change itself is already stored; an entry that cannot be
    /// written is logged (with the change) rather than undoing it.
    pub(crate) async fn audit(
        &self,
        tenant: &TenantId,
        actor: &str,
        action: &str,
        before: Value,
        after: Value,
    ) {
        let Some(store) = &self.audit else { return };
        let entry = AuditEntry {
            id: format!("aud_{}", ulid::Ulid::new()),
            at: self.clock.now(),
            actor: actor.to_string(),
            action: action.to_string(),
            before,
            after,
        };
        if let Err(e) = store.record(tenant, &entry).await {
            tracing::error!(tenant = %tenant, action, error = %e, "audit entry not stored");
        }
    }
}

/// The routing a new tenant starts with when none is given: every method on the simulators'
/// usual order.
fn default_routing() -> BTreeMap<PaymentMethod, Vec<String>> {
    BTreeMap::from([
        (
            PaymentMethod::Pix,
            vec!["efi".to_string(), "asaas".to_string()],
        ),
        (
            PaymentMethod::Card,
            vec!["stripe".to_string(), "asaas".to_string()],
        ),
        (PaymentMethod::Boleto, vec!["asaas".to_string()]),
    ])
}
