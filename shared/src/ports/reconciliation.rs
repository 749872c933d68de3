//! Reconciliation runs: what a comparison of a gateway's listing with our payments found and
//! repaired, kept for the operator and the merchant (`GET /v1/reconciliation/runs`).

use crate::domain::TenantId;
use crate::ports::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most findings one stored run keeps (the counts stay exact beyond it).
pub const MAX_RUN_FINDINGS: usize = 500;
/// The most runs a listing keeps per tenant (newest first).
pub const MAX_LISTED_RUNS: usize = 100;

/// What a run found about one charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The gateway's status differed (a missed webhook); applied with its event.
    StatusRepaired,
    /// Money the gateway confirmed after the payment's final failure; recorded as a late payment.
    LatePayment,
    /// A charge carrying our payment id, with no payment, whose claim (this tenant's, still
    /// unsettled) was settled on it: now a payment, made of the claim's request, with its event.
    OrphanAdopted,
    /// The same, too young: its claim's holder, a retry or the sweeper names it.
    OrphanInFlight,
    /// A charge holding money with our payment id and no payment, old, and no claim of this
    /// tenant was settled on it: another account's charge (a gateway account shared between
    /// tenants or deployments), a claim released before the charge appeared, or a claim the
    /// sweeper keeps leaving. Flagged for the operator; nothing written.
    OrphanUnnamed,
    /// A charge carrying our payment id, with no payment, that holds no money (a Pix or boleto
    /// nobody was shown, or one already expired, canceled or failed): not adopted — the sweeper
    /// cancels a pending one and frees its key; a later run adopts it if it is ever paid.
    OrphanUnpaid,
    /// The charge's amount or currency is not the payment's: flagged, nothing written.
    AmountMismatch,
    /// A second charge for a payment that names another one (a leftover of a failover or a
    /// gateway-side duplicate): flagged for the operator, nothing written.
    OtherCharge,
    /// The payment was made with other credentials than the ones listed: compared by them.
    OtherAccount,
    /// Fee and net read from the listing and stored on the payment.
    FeesRecorded,
}

impl FindingKind {
    /// Whether the finding is an anomaly worth an operator's look (the alarm metric counts
    /// these): not the fees read, nor a charge whose request is still settling.
    pub fn needs_attention(self) -> bool {
        !matches!(
            self,
            Self::FeesRecorded | Self::OrphanInFlight | Self::OrphanUnpaid
        )
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub payment_id: Option<String>,
    pub gateway_payment_id: String,
    /// What differed, in words (never a secret or customer data).
    pub detail: String,
    /// Whether this run wrote the repair (a concurrent run or webhook may have done it first).
    pub repaired: bool,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The whole window was listed and compared.
    Completed,
    /// The listing was cut at its limit: a narrower window is needed for the rest.
    Partial,
    /// The gateway could not be listed (see `error`); nothing was compared.
    Failed,
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    Api,
    Schedule,
}

/// One run over one gateway and window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationRun {
    pub id: String,
    pub gateway: String,
    #[serde(with = "crate::time_format")]
    pub from: DateTime<Utc>,
    #[serde(with = "crate::time_format")]
    pub to: DateTime<Utc>,
    pub trigger: RunTrigger,
    #[serde(with = "crate::time_format")]
    pub started_at: DateTime<Utc>,
    #[serde(with = "crate::time_format")]
    pub finished_at: DateTime<Utc>,
    pub status: RunStatus,
    pub error: Option<String>,
    /// Charges the gateway listed in the window.
    pub listed: u32,
    /// Charges without our payment id (made elsewhere), left alone.
    pub foreign: u32,
    /// Findings by kind (exact, even when `findings` was cut).
    pub counts: BTreeMap<FindingKind, u32>,
    pub findings: Vec<Finding>,
    pub findings_truncated: bool,
}

impl ReconciliationRun {
    /// The run without its findings (what a listing shows).
    pub fn summary(&self) -> Self {
        Self {
            findings: vec![],
            ..self.clone()
        }
    }
}

/// Where runs are kept, per tenant.
#[async_trait]
pub trait ReconciliationStore: Send + Sync {
    /// Stores a finished run (findings at most [`MAX_RUN_FINDINGS`]).
    async fn save(&self, tenant: &TenantId, run: &ReconciliationRun) -> Result<(), StoreError>;
    /// One run with its findings.
    async fn get(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<ReconciliationRun>, StoreError>;
    /// The newest runs first, without their findings, at most `limit`.
    async fn list(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<Vec<ReconciliationRun>, StoreError>;
}
