//! Gateway credentials in AWS Secrets Manager, one secret per (tenant, gateway) named
//! `<prefix>/<tenant>/<gateway>` holding a JSON object; cached per Lambda instance.

use crate::domain::{SecretJson, TenantId};
use crate::ports::{CredentialStore, StoreError};
use async_trait::async_trait;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use aws_sdk_secretsmanager::Client;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an instance trusts a fetched secret (rotation takes effect within this).
pub const SECRET_CACHE_TTL: Duration = Duration::from_secs(300);

/// The Secrets Manager credential store.
pub struct SecretsManagerCredentials {
    client: Client,
    prefix: String,
    cache: Mutex<HashMap<String, (Option<SecretJson>, Instant)>>,
}

impl SecretsManagerCredentials {
    /// Secrets are named `<prefix>/<tenant>/<gateway>`.
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The secret name for a tenant and gateway.
    pub fn secret_id(&self, tenant: &TenantId, gateway: &str) -> String {
        format!("{}/{}/{}", self.prefix, tenant, gateway)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Option<SecretJson>, Instant)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl CredentialStore for SecretsManagerCredentials {
    async fn get(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<SecretJson>, StoreError> {
        let id = self.secret_id(tenant, gateway);
        if let Some((v, at)) = self.lock().get(&id) {
            if at.elapsed() < SECRET_CACHE_TTL {
                return Ok(v.clone());
            }
        }
        let value = match self.client.get_secret_value().secret_id(&id).send().await {
            Ok(out) => {
                let text = out.secret_string().ok_or_else(|| {
                    StoreError::Corrupt(format!("secret {id} has no string value"))
                })?;
                // serde's message may quote part of the value: only its position is kept.
                Some(SecretJson::new(serde_json::from_str(text).map_err(
                    |e| {
                        StoreError::Corrupt(format!(
                            "secret {id} is not JSON (line {}, column {})",
                            e.line(),
                            e.column()
                        ))
                    },
                )?))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                None
            }
            Err(e) => return Err(StoreError::Unavailable(DisplayErrorContext(e).to_string())),
        };
        self.lock().insert(id, (value.clone(), Instant::now()));
        Ok(value)
    }
}
