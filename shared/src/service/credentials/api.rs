//! The credential endpoints. Bodies are typed per gateway (`gateways/*/credentials.rs`);
//! answers show masked values, the version, `updated_at` and a fingerprint, never a secret.

use super::CredentialVault;
use crate::error::ApiError;
use crate::gateways::live::{self, LiveGatewayError, LiveGatewaySpec, LiveGateways};
use crate::ports::{SealedCredential, Tenant};
use crate::service::Orchestrator;
use std::time::Duration;

/// How long `verify` waits for the gateway.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(10);

fn view(rec: &SealedCredential, live: bool) -> serde_json::Value {
    serde_json::json!({
        "object": "gateway_credentials",
        "gateway": rec.gateway,
        "version": rec.version,
        "updated_at": crate::time_format::render(&rec.updated_at),
        "fingerprint": rec.fingerprint,
        "credentials": rec.masked,
        "live": live,
    })
}

impl Orchestrator {
    fn credential_parts(
        &self,
        tenant: &Tenant,
        gateway: &str,
    ) -> Result<(&LiveGateways, &CredentialVault, &'static LiveGatewaySpec), ApiError> {
        // Credentials are the live mode's: a test key reaches only the simulators, and must
        // not make the tenant live (nor register anything under its test partition).
        if tenant.id.is_test() {
            return Err(ApiError::invalid(
                "livemode_required",
                "Authorization",
                "gateway credentials are managed with a live key (sk_live_…); test mode uses the built-in simulators",
            ));
        }
        let spec = live::spec(gateway)
            .filter(|_| self.gateways.get(gateway).is_some())
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no such gateway; the gateways are {}",
                    live::names().join(", ")
                ))
            })?;
        let live = self.live.as_deref().ok_or_else(not_configured)?;
        let vault = live.vault().ok_or_else(not_configured)?;
        Ok((live, vault, spec))
    }

    /// Reads the stored tenant, applies `change`, and writes it back if it changed; then this
    /// instance forgets its cached copy.
    async fn update_tenant(
        &self,
        tenant: &Tenant,
        mut change: impl FnMut(&mut Tenant),
    ) -> Result<Tenant, ApiError> {
        let (fresh, ()) = self
            .modify_tenant(&tenant.id, |t| {
                change(t);
                Ok(())
            })
            .await?;
        Ok(fresh)
    }

    /// `PUT /v1/gateways/{gateway}/credentials`: checks the body (and that a client can be
    /// built from it), stores it encrypted as the next version, makes the gateway live for the
    /// tenant, and drops this instance's client so the next payment uses the new credentials.
    pub async fn put_credentials(
        &self,
        tenant: &Tenant,
        gateway: &str,
        body: &[u8],
    ) -> Result<String, ApiError> {
        let (live, vault, spec) = self.credential_parts(tenant, gateway)?;
        let form = (spec.form)(body, vault.policy()).map_err(|e| ApiError::Invalid {
            code: e.code,
            // A refusal of the whole body names no field, as on every other route (an
            // unknown field is not named either: its name may be a pasted secret).
            param: Some(e.param).filter(|p| p != "body"),
            message: e.message,
        })?;
        // A client that cannot be built would only fail later, on a payment.
        (spec.build)(form.document.expose()).map_err(|_| {
            ApiError::invalid(
                "invalid_credentials",
                "body",
                format!("these credentials cannot make a {gateway} client"),
            )
        })?;
        let now = self.clock.now();
        let rec = vault.write(&tenant.id, gateway, &form, now).await?;
        let previous_for = form
            .previous_secret_for
            .unwrap_or(crate::gateways::credential_form::DEFAULT_PREVIOUS_SECRET_SECONDS);
        let updated = self
            .update_tenant(tenant, |t| {
                if !t.live_gateways.iter().any(|g| g == gateway) {
                    t.live_gateways.push(gateway.to_string());
                }
                // The first registered credentials make the tenant live, for good: deleting
                // them later leaves the gateway unconfigured, never a simulator.
                if t.mode.is_none() {
                    t.mode = Some(crate::domain::AccountMode::Live);
                }
                if let Some(secret) = &form.webhook_secret {
                    (spec.set_webhook_secret)(
                        &mut t.webhook_secrets,
                        secret,
                        now.timestamp(),
                        previous_for,
                    );
                }
                if let (Some(ips), Some(set)) =
                    (&form.webhook_allowed_ips, spec.set_webhook_allowed_ips)
                {
                    set(&mut t.webhook_secrets, ips);
                }
            })
            .await?;
        live.invalidate(&tenant.id, gateway);
        tracing::info!(tenant = %tenant.id, gateway, version = rec.version, fingerprint = %rec.fingerprint, "gateway credentials stored");
        let is_live = updated.live_gateways.iter().any(|g| g == gateway);
        Ok(view(&rec, is_live).to_string())
    }

    /// `GET /v1/gateways/{gateway}/credentials`: the masked view (404 if none registered).
    pub async fn get_credentials(
        &self,
        tenant: &Tenant,
        gateway: &str,
    ) -> Result<String, ApiError> {
        let (_, vault, _) = self.credential_parts(tenant, gateway)?;
        let rec = vault
            .record(&tenant.id, gateway)
            .await?
            .ok_or_else(none_registered)?;
        let is_live = tenant.live_gateways.iter().any(|g| g == gateway);
        Ok(view(&rec, is_live).to_string())
    }

    /// `DELETE /v1/gateways/{gateway}/credentials`: removes them and takes the gateway out of
    /// the tenant's `live_gateways`: a live tenant has no such gateway any more (422
    /// `gateway_not_configured`), a test tenant gets its simulator back; payments made with the
    /// deleted credentials answer 409 `gateway_credentials_changed`. The tenant's webhook secret
    /// stays: charges already made at the gateway still send their webhooks.
    pub async fn delete_credentials(
        &self,
        tenant: &Tenant,
        gateway: &str,
    ) -> Result<String, ApiError> {
        let (live, vault, _) = self.credential_parts(tenant, gateway)?;
        let rec = vault
            .delete(&tenant.id, gateway, self.clock.now())
            .await?
            .ok_or_else(none_registered)?;
        self.update_tenant(tenant, |t| t.live_gateways.retain(|g| g != gateway))
            .await?;
        live.invalidate(&tenant.id, gateway);
        tracing::info!(tenant = %tenant.id, gateway, version = rec.version, "gateway credentials deleted");
        Ok(serde_json::json!({
            "object": "gateway_credentials",
            "gateway": gateway,
            "deleted": true,
            "version": rec.version,
            "updated_at": crate::time_format::render(&rec.updated_at),
        })
        .to_string())
    }

    /// `POST /v1/gateways/{gateway}/credentials/verify`: one harmless authenticated call with
    /// the stored credentials → `{"ok": true}` or `{"ok": false, "error": {class, code,
    /// message}}`. Never counted by the breaker.
    pub async fn verify_credentials(
        &self,
        tenant: &Tenant,
        gateway: &str,
    ) -> Result<String, ApiError> {
        let (live, vault, _) = self.credential_parts(tenant, gateway)?;
        let version = vault.record(&tenant.id, gateway).await?.map(|r| r.version);
        let outcome = match live.verify(&tenant.id, gateway, VERIFY_TIMEOUT).await {
            Ok(o) => o,
            Err(LiveGatewayError::Missing(_) | LiveGatewayError::Changed(_)) => {
                return Err(none_registered())
            }
            Err(LiveGatewayError::Bad(..)) => {
                return Err(ApiError::Internal("stored credentials unusable".into()))
            }
            Err(LiveGatewayError::Store(e)) => return Err(e.into()),
        };
        let body = match &outcome {
            Ok(()) => serde_json::json!({"ok": true, "gateway": gateway, "version": version}),
            Err(e) => serde_json::json!({
                "ok": false,
                "gateway": gateway,
                "version": version,
                "error": {
                    "class": crate::service::create_payment::class_name(e.class),
                    "code": e.code,
                    "message": e.message,
                },
            }),
        };
        tracing::info!(
            tenant = %tenant.id,
            gateway,
            ok = outcome.is_ok(),
            code = outcome.as_ref().err().map(|e| e.code.as_str()).unwrap_or("-"),
            "gateway credentials verified"
        );
        Ok(body.to_string())
    }
}

fn not_configured() -> ApiError {
    ApiError::NotFound("gateway credentials cannot be registered on this deployment".into())
}

fn none_registered() -> ApiError {
    ApiError::NotFound("no credentials are registered for this gateway".into())
}
