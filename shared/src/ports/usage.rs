//! Reading a tenant's usage counters. They are *written* only inside the atomic writes that
//! change what they count (payments, deliveries, unmatched webhooks), never through this port.

use super::StoreError;
use crate::domain::{Counters, TenantId};
use async_trait::async_trait;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// The counters of a tenant, by UTC day.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Every day in `from..=to` that has counters, with its shards summed.
    async fn days(
        &self,
        tenant_id: &TenantId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, Counters>, StoreError>;
}
