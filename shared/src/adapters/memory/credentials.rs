//! Gateway credentials from a local JSON file (the dev server): `{"<tenant>": {"<gateway>": {...}}}`.

use crate::domain::{SecretJson, TenantId};
use crate::ports::{CredentialStore, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;

/// Credentials held in memory, loaded once.
#[derive(Default)]
pub struct FileCredentials {
    by_tenant: HashMap<String, HashMap<String, SecretJson>>,
}

impl std::fmt::Debug for FileCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCredentials")
            .field("tenants", &self.by_tenant.len())
            .finish()
    }
}

impl FileCredentials {
    /// Parses the file's contents.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let raw: HashMap<String, HashMap<String, serde_json::Value>> = serde_json::from_str(text)?;
        Ok(Self {
            by_tenant: raw
                .into_iter()
                .map(|(t, g)| {
                    (
                        t,
                        g.into_iter()
                            .map(|(k, v)| (k, SecretJson::new(v)))
                            .collect(),
                    )
                })
                .collect(),
        })
    }
}

#[async_trait]
impl CredentialStore for FileCredentials {
    async fn get(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<SecretJson>, StoreError> {
        Ok(self
            .by_tenant
            .get(tenant.as_str())
            .and_then(|g| g.get(gateway))
            .cloned())
    }
}
