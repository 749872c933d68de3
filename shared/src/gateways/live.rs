//! Real gateway clients per (tenant, gateway), built from the tenant's credentials on first use
//! and kept for the life of the instance (one HTTP client and token cache each).

use super::{asaas::AsaasClient, efi::EfiClient, stripe::StripeClient};
use crate::domain::TenantId;
use crate::ports::{CredentialStore, Gateway, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Builds a gateway's client from its credential JSON.
type Factory = fn(&serde_json::Value) -> Result<Arc<dyn Gateway>, String>;

/// How each gateway's client is built from its credential JSON. Adding a gateway = one row.
const FACTORIES: &[(&str, Factory)] = &[
    ("stripe", |v| {
        StripeClient::from_credentials(v).map(|c| Arc::new(c) as Arc<dyn Gateway>)
    }),
    ("asaas", |v| {
        AsaasClient::from_credentials(v).map(|c| Arc::new(c) as Arc<dyn Gateway>)
    }),
    ("efi", |v| {
        EfiClient::from_credentials(v).map(|c| Arc::new(c) as Arc<dyn Gateway>)
    }),
];

/// Decodes a gateway's credential JSON. The error names the offending field but never quotes a
/// value: serde's type errors echo the value they saw, which here may be a secret.
pub fn parse_credentials<T: serde::de::DeserializeOwned>(
    gateway: &str,
    v: &serde_json::Value,
) -> Result<T, String> {
    serde_path_to_error::deserialize(v.clone()).map_err(|e| {
        let inner = e.inner().to_string();
        if inner.starts_with("missing field") || inner.starts_with("unknown field") {
            // These name fields only.
            format!(
                "{gateway} credentials: {}",
                inner.split(" at line").next().unwrap_or(&inner)
            )
        } else {
            format!("{gateway} credentials: `{}` has the wrong type", e.path())
        }
    })
}

/// Why a live client could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LiveGatewayError {
    #[error("no credentials configured for {0}")]
    Missing(String),
    #[error("unusable credentials for {0}: {1}")]
    Bad(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The resolver.
pub struct LiveGateways {
    credentials: Arc<dyn CredentialStore>,
    clients: Mutex<HashMap<(TenantId, String), Arc<dyn Gateway>>>,
}

impl LiveGateways {
    /// Resolves credentials through `credentials`.
    pub fn new(credentials: Arc<dyn CredentialStore>) -> Self {
        Self {
            credentials,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The tenant's client for `gateway`, built once.
    pub async fn get(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Arc<dyn Gateway>, LiveGatewayError> {
        let k = (tenant.clone(), gateway.to_string());
        if let Some(c) = self
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&k)
        {
            return Ok(c.clone());
        }
        let factory = FACTORIES
            .iter()
            .find(|(n, _)| *n == gateway)
            .map(|(_, f)| f)
            .ok_or_else(|| LiveGatewayError::Missing(gateway.to_string()))?;
        let creds = self
            .credentials
            .get(tenant, gateway)
            .await?
            .ok_or_else(|| LiveGatewayError::Missing(gateway.to_string()))?;
        let client = factory(&creds).map_err(|e| LiveGatewayError::Bad(gateway.to_string(), e))?;
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(k, client.clone());
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Creds {
        secret_key: String,
    }

    #[test]
    fn credential_errors_never_quote_values() {
        let e =
            parse_credentials::<Creds>("stripe", &serde_json::json!({"secret_key": 4242424242u64}))
                .unwrap_err();
        assert!(e.contains("secret_key") && !e.contains("4242424242"), "{e}");
        let e = parse_credentials::<Creds>("stripe", &serde_json::json!({})).unwrap_err();
        assert!(e.contains("missing field `secret_key`"), "{e}");
    }
}
