//! The audit log of configuration changes (routing, API keys, callback secrets, gateway
//! credentials, tenant status): who changed what, when, from what to what.

use super::StoreError;
use crate::domain::TenantId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many entries a tenant's log keeps (the newest).
pub const MAX_AUDIT_ENTRIES: usize = 100;

/// One change. `before`/`after` never hold a secret (keys and secrets appear masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// `aud_<ULID>`
    pub id: String,
    #[serde(with = "crate::time_format")]
    pub at: DateTime<Utc>,
    /// The key that made the change (`key_…`), or `operator`.
    pub actor: String,
    /// e.g. `routing.update`, `api_key.create`, `api_key.revoke`, `webhook_secret.rotate`.
    pub action: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// Appends and lists audit entries per tenant.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one entry (keeping the newest [`MAX_AUDIT_ENTRIES`]).
    async fn record(&self, tenant: &TenantId, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The newest `limit` entries, newest first.
    async fn list(&self, tenant: &TenantId, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}
