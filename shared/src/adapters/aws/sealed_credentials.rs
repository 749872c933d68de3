//! Encrypted gateway credentials on the tenants table: one item per (tenant, gateway) with
//! `pk = cred#<tenant>#<gateway>` holding the envelope (`key_id`, `edk` = the encrypted data
//! key, `ct` = nonce ‖ ciphertext ‖ tag, both binary), `version`, `updated_at`, the masked view
//! and the fingerprint. A deleted credential keeps its item without the envelope, so versions
//! never repeat. Writes are conditional on the previous version.

use super::item::{get_i64, get_s, is_conditional, n, s, unavailable, Item};
use crate::domain::TenantId;
use crate::ports::{Envelope, SealedCredential, SealedCredentialStore, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

/// The key prefix of credential items on the tenants table.
pub const CREDENTIAL_PK_PREFIX: &str = "cred#";

/// The DynamoDB store of encrypted credentials.
#[derive(Debug, Clone)]
pub struct DynamoSealedCredentials {
    client: Client,
    table: String,
}

impl DynamoSealedCredentials {
    /// Items go to `table` (the tenants table).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The item key of a (tenant, gateway) credential.
    pub fn pk(tenant: &TenantId, gateway: &str) -> String {
        format!("{CREDENTIAL_PK_PREFIX}{}#{gateway}", tenant.as_str())
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("credential item: {what}"))
}

fn get_b<'a>(item: &'a Item, name: &str) -> Result<&'a [u8], StoreError> {
    match item.get(name) {
        Some(AttributeValue::B(b)) => Ok(b.as_ref()),
        _ => Err(corrupt(&format!("`{name}` missing or not binary"))),
    }
}

fn from_item(item: &Item) -> Result<SealedCredential, StoreError> {
    let tenant_id = TenantId::parse(get_s(item, "tenant_id")?).map_err(|_| corrupt("tenant id"))?;
    let version = u64::try_from(get_i64(item, "version")?).map_err(|_| corrupt("version"))?;
    let updated_at = chrono::DateTime::parse_from_rfc3339(get_s(item, "updated_at")?)
        .map_err(|_| corrupt("updated_at"))?
        .with_timezone(&chrono::Utc);
    let envelope = if item.contains_key("ct") {
        Some(Envelope {
            key_id: get_s(item, "key_id")?.to_string(),
            encrypted_data_key: get_b(item, "edk")?.to_vec(),
            ciphertext: get_b(item, "ct")?.to_vec(),
        })
    } else {
        None
    };
    Ok(SealedCredential {
        tenant_id,
        gateway: get_s(item, "gateway")?.to_string(),
        version,
        updated_at,
        envelope,
        masked: serde_json::from_str(get_s(item, "masked")?).map_err(|_| corrupt("masked"))?,
        fingerprint: get_s(item, "fingerprint")?.to_string(),
    })
}

#[async_trait]
impl SealedCredentialStore for DynamoSealedCredentials {
    async fn get(
        &self,
        tenant: &TenantId,
        gateway: &str,
    ) -> Result<Option<SealedCredential>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(Self::pk(tenant, gateway)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.as_ref().map(from_item).transpose()
    }

    async fn put(&self, cred: &SealedCredential) -> Result<(), StoreError> {
        let masked =
            serde_json::to_string(&cred.masked).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(Self::pk(&cred.tenant_id, &cred.gateway)))
            .item("tenant_id", s(cred.tenant_id.as_str()))
            .item("gateway", s(&cred.gateway))
            .item("version", n(cred.version))
            .item(
                "updated_at",
                s(crate::time_format::render(&cred.updated_at)),
            )
            .item("masked", s(masked))
            .item("fingerprint", s(&cred.fingerprint));
        if let Some(env) = &cred.envelope {
            req = req
                .item("alg", s("AES-256-GCM"))
                .item("key_id", s(&env.key_id))
                .item(
                    "edk",
                    AttributeValue::B(Blob::new(env.encrypted_data_key.clone())),
                )
                .item("ct", AttributeValue::B(Blob::new(env.ciphertext.clone())));
        }
        req = if cred.version <= 1 {
            req.condition_expression("attribute_not_exists(pk)")
        } else {
            req.condition_expression("version = :prev")
                .expression_attribute_values(":prev", n(cred.version - 1))
        };
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Err(StoreError::Conflict(format!(
                "credential {} of {} changed meanwhile",
                cred.gateway, cred.tenant_id
            ))),
            Err(e) => Err(unavailable(e)),
        }
    }
}
