//! Gateway credentials per (tenant, gateway): Secrets Manager in AWS, a local file for the dev
//! server. Values are JSON objects whose fields each gateway module documents.

use super::StoreError;
use crate::domain::TenantId;
use async_trait::async_trait;

/// Where gateway credentials come from.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// The credentials of `tenant` for `gateway`, if configured.
    async fn get(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<serde_json::Value>, StoreError>;
}
