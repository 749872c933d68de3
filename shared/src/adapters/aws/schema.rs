//! Table names and definitions. SAM (`template.yaml`) creates the tables in AWS; this creates the
//! same shapes on a local endpoint (moto, DynamoDB Local) for tests and the dev server.

use super::events::UNMATCHED_BY_TENANT;
use super::idempotency::STALE_CLAIMS;
use super::item::unavailable;
use super::outbox::{EVENTS_BY_PAYMENT, EVENTS_BY_TENANT};
use super::payments::{BY_GATEWAY_REF, BY_REFERENCE, BY_TENANT};
use crate::ports::StoreError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

/// The table names, read from the environment the SAM template sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub idempotency: String,
    pub payments: String,
    pub tenants: String,
    pub events: String,
    /// Circuit-breaker records, one per (tenant, gateway).
    pub breakers: String,
    /// Merchant events (the transactional outbox), streamed to the relay.
    pub outbox: String,
    /// Usage counters, one item per (tenant, day, shard).
    pub usage: String,
}

impl TableNames {
    /// `IDEMPOTENCY_TABLE`, `PAYMENTS_TABLE`, `TENANTS_TABLE`, `EVENTS_TABLE`, `BREAKER_TABLE`,
    /// `OUTBOX_TABLE`, `USAGE_TABLE`,
    /// with local defaults.
    pub fn from_env() -> Self {
        let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
        Self {
            idempotency: var("IDEMPOTENCY_TABLE", "orchestrator-idempotency"),
            payments: var("PAYMENTS_TABLE", "orchestrator-payments"),
            tenants: var("TENANTS_TABLE", "orchestrator-tenants"),
            events: var("EVENTS_TABLE", "orchestrator-events"),
            breakers: var("BREAKER_TABLE", "orchestrator-breakers"),
            outbox: var("OUTBOX_TABLE", "orchestrator-outbox"),
            usage: var("USAGE_TABLE", "orchestrator-usage"),
        }
    }

    /// Names with a prefix, so tests sharing one moto server don't see each other's items.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            idempotency: format!("{prefix}-idempotency"),
            payments: format!("{prefix}-payments"),
            tenants: format!("{prefix}-tenants"),
            events: format!("{prefix}-events"),
            breakers: format!("{prefix}-breakers"),
            outbox: format!("{prefix}-outbox"),
            usage: format!("{prefix}-usage"),
        }
    }
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn attr(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn gsi(name: &str, hash: &str, range: &str) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The idempotency table's sparse index of unsettled create claims: keys only (the sweeper
/// reads the few it finds), sorted by the holder's deadline (a number).
fn stale_claims_index() -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(STALE_CLAIMS)
        .key_schema(key("sweep", KeyType::Hash)?)
        .key_schema(key("in_flight_until", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Creates the tables if they don't exist, with TTL on the idempotency and event tables.
pub async fn create_tables(client: &Client, names: &TableNames) -> Result<(), StoreError> {
    let tables = [
        (
            &names.idempotency,
            vec![stale_claims_index()?],
            vec!["sweep", "in_flight_until"],
            false,
        ),
        (
            &names.payments,
            vec![
                gsi(BY_TENANT, "tenant_id", "id")?,
                gsi(BY_REFERENCE, "tenant_ref", "id")?,
                gsi(BY_GATEWAY_REF, "gw_ref", "id")?,
            ],
            vec!["tenant_id", "tenant_ref", "gw_ref"],
            false,
        ),
        (&names.tenants, vec![], vec![], false),
        (
            &names.events,
            vec![gsi(UNMATCHED_BY_TENANT, "tenant_id", "received_at")?],
            vec!["tenant_id", "received_at"],
            false,
        ),
        (&names.breakers, vec![], vec![], false),
        (
            &names.outbox,
            vec![
                gsi(EVENTS_BY_TENANT, "tenant_id", "id")?,
                gsi(EVENTS_BY_PAYMENT, "payment_id", "id")?,
            ],
            vec!["tenant_id", "payment_id"],
            true,
        ),
        (&names.usage, vec![], vec![], false),
    ];
    for (table, indexes, index_attrs, stream) in tables {
        let hash = if table == &names.payments || table == &names.outbox {
            "id"
        } else {
            "pk"
        };
        let mut attrs = vec![attr(hash)?];
        // The usage table alone has a sort key (day and shard under the tenant).
        let range = (table == &names.usage).then_some("sk");
        if let Some(r) = range {
            attrs.push(attr(r)?);
        }
        for a in index_attrs {
            // The one numeric index key: a claim's deadline (epoch ms).
            attrs.push(if a == "in_flight_until" {
                AttributeDefinition::builder()
                    .attribute_name(a)
                    .attribute_type(ScalarAttributeType::N)
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?
            } else {
                attr(a)?
            });
        }
        let ranges_on_id = table == &names.payments || table == &names.outbox;
        if ranges_on_id && !attrs.iter().any(|a| a.attribute_name() == "id") {
            attrs.push(attr("id")?);
        }
        let stream_spec = if stream {
            Some(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            )
        } else {
            None
        };
        let res = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema({
                let mut ks = vec![key(hash, KeyType::Hash)?];
                if let Some(r) = range {
                    ks.push(key(r, KeyType::Range)?);
                }
                Some(ks)
            })
            .set_attribute_definitions(Some(attrs))
            .set_stream_specification(stream_spec)
            .set_global_secondary_indexes(if indexes.is_empty() {
                None
            } else {
                Some(indexes)
            })
            .send()
            .await;
        match res {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                continue
            }
            Err(e) => return Err(unavailable(e)),
        }
    }
    for table in [&names.idempotency, &names.events, &names.outbox] {
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name("ttl")
            .enabled(true)
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}
