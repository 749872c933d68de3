//! Tenants on DynamoDB: `pk = tenant#<id>` holds the tenant as JSON, and one
//! `pk = apikey#<sha256>` item per key points at its tenant.

use super::item::{get_s, is_conditional, s, unavailable};
use crate::domain::TenantId;
use crate::ports::{StoreError, Tenant, TenantStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

/// The DynamoDB tenant store.
#[derive(Debug, Clone)]
pub struct DynamoTenantStore {
    client: Client,
    table: String,
}

impl DynamoTenantStore {
    /// Uses an existing client (built once per Lambda instance).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get_pk(&self, pk: String) -> Result<Option<super::item::Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }
}

#[async_trait]
impl TenantStore for DynamoTenantStore {
    async fn by_api_key_hash(&self, hash: &str) -> Result<Option<Tenant>, StoreError> {
        let Some(item) = self.get_pk(format!("apikey#{hash}")).await? else {
            return Ok(None);
        };
        let id = TenantId::parse(get_s(&item, "tenant_id")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // The key must still be listed on the tenant: a rotated-out key is refused even if its
        // index item was not cleaned up.
        Ok(self
            .get(&id)
            .await?
            .filter(|t| t.api_key_sha256.iter().any(|h| h == hash)))
    }

    async fn list(&self) -> Result<Vec<Tenant>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(pk, :p)")
                .expression_attribute_values(":p", s("tenant#"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                let t: Tenant = serde_json::from_str(get_s(item, "doc")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                out.push(t);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn touch_key(&self, hash: &str, day: chrono::NaiveDate) -> Result<(), StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("apikey#{hash}")))
            .update_expression("SET last_used = :d")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(last_used) OR last_used < :d)",
            )
            .expression_attribute_values(":d", s(day.to_string()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn key_last_used(&self, hash: &str) -> Result<Option<chrono::NaiveDate>, StoreError> {
        Ok(self
            .get_pk(format!("apikey#{hash}"))
            .await?
            .and_then(|i| match i.get("last_used") {
                Some(aws_sdk_dynamodb::types::AttributeValue::S(d)) => {
                    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()
                }
                _ => None,
            }))
    }

    async fn get(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let twin = id.is_test();
        match self
            .get_pk(format!("tenant#{}", id.live_id().as_str()))
            .await?
        {
            Some(item) => serde_json::from_str::<Tenant>(get_s(&item, "doc")?)
                .map(|t| {
                    Some(if twin {
                        t.in_mode(crate::domain::AccountMode::Test)
                    } else {
                        t
                    })
                })
                .map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(None),
        }
    }

    async fn put(&self, tenant: &Tenant) -> Result<(), StoreError> {
        crate::ports::refuse_twin(tenant)?;
        let old = self.get(&tenant.id).await?;
        self.write(tenant, old.as_ref(), Write::Any).await
    }

    async fn create(&self, tenant: &Tenant) -> Result<bool, StoreError> {
        crate::ports::refuse_twin(tenant)?;
        match self.write(tenant, None, Write::New).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn replace(&self, tenant: &Tenant) -> Result<(), StoreError> {
        crate::ports::refuse_twin(tenant)?;
        let old = self.get(&tenant.id).await?;
        let mut next = tenant.clone();
        next.version = tenant.version + 1;
        self.write(&next, old.as_ref(), Write::Version(tenant.version))
            .await
    }

    /// One `PutItem` conditional on the version: no read, no key index item (see the port).
    async fn replace_keeping_keys(&self, tenant: &Tenant) -> Result<(), StoreError> {
        crate::ports::refuse_twin(tenant)?;
        let mut next = tenant.clone();
        next.version = tenant.version + 1;
        self.put_doc(&next, Write::Version(tenant.version)).await
    }
}

/// The condition on the tenant item's write.
#[derive(Clone, Copy)]
enum Write {
    /// None: seeding.
    Any,
    /// No tenant with this id yet (`attribute_not_exists(pk)`).
    New,
    /// The stored one is still at this version.
    Version(u64),
}

impl DynamoTenantStore {
    /// Writes the tenant item under `condition` (`Conflict` if it fails: nothing written), then
    /// its key index: an item per listed key, and none for a key no longer listed.
    async fn write(
        &self,
        tenant: &Tenant,
        old: Option<&Tenant>,
        condition: Write,
    ) -> Result<(), StoreError> {
        self.put_doc(tenant, condition).await?;
        self.write_key_index(tenant, old).await
    }

    /// The tenant item alone, under `condition` (`Conflict` if it fails: nothing written).
    async fn put_doc(&self, tenant: &Tenant, condition: Write) -> Result<(), StoreError> {
        let doc = serde_json::to_string(tenant).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("tenant#{}", tenant.id.as_str())))
            .item("doc", s(doc))
            .item(
                "version",
                aws_sdk_dynamodb::types::AttributeValue::N(tenant.version.to_string()),
            );
        if let Write::New = condition {
            req = req.condition_expression("attribute_not_exists(pk)");
        }
        if let Write::Version(v) = condition {
            // Items written before versions existed have none: the first versioned write wins.
            req = req
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(#v) OR #v = :prev)",
                )
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(
                    ":prev",
                    aws_sdk_dynamodb::types::AttributeValue::N(v.to_string()),
                );
        }
        match req.send().await {
            Ok(_) => {}
            Err(e) if is_conditional(&e) => {
                return Err(StoreError::Conflict(match condition {
                    Write::New => format!("tenant {} exists", tenant.id),
                    _ => format!("tenant {} changed concurrently", tenant.id),
                }))
            }
            Err(e) => return Err(unavailable(e)),
        }
        Ok(())
    }

    /// The key index: an item per listed key, and none for a key `old` listed and `tenant`
    /// does not.
    async fn write_key_index(
        &self,
        tenant: &Tenant,
        old: Option<&Tenant>,
    ) -> Result<(), StoreError> {
        for h in &tenant.api_key_sha256 {
            // An update, not a put: the index item also keeps the key's last-used day.
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(format!("apikey#{h}")))
                .update_expression("SET tenant_id = :t")
                .expression_attribute_values(":t", s(tenant.id.as_str()))
                .send()
                .await
                .map_err(unavailable)?;
        }
        for stale in old
            .into_iter()
            .flat_map(|o| o.api_key_sha256.iter())
            .filter(|h| !tenant.api_key_sha256.contains(h))
        {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(format!("apikey#{stale}")))
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}
