//! Gateway credentials from a local JSON file (the dev server): `{"<tenant>": {"<gateway>": {...}}}`.

use crate::domain::TenantId;
use crate::ports::{CredentialStore, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;

/// Credentials held in memory, loaded once.
#[derive(Debug, Default)]
pub struct FileCredentials {
    by_tenant: HashMap<String, HashMap<String, serde_json::Value>>,
}

impl FileCredentials {
    /// Parses the file's contents.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        Ok(Self {
            by_tenant: serde_json::from_str(text)?,
        })
    }
}

#[async_trait]
impl CredentialStore for FileCredentials {
    async fn get(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        Ok(self
            .by_tenant
            .get(tenant.as_str())
            .and_then(|g| g.get(gateway))
            .cloned())
    }
}
