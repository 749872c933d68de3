//! `GET /v1/gateways`: the operator's view of each gateway for the calling tenant — breaker
//! state read fresh from the store, the window's numbers, and where the gateway sits in routing.

use super::Orchestrator;
use crate::domain::{BreakerState, PaymentMethod, Phase};
use crate::error::ApiError;
use crate::ports::Tenant;
use serde::Serialize;
use std::collections::BTreeMap;

/// One gateway as the operator sees it.
#[derive(Debug, Serialize)]
pub struct GatewayStatus {
    pub gateway: String,
    pub state: BreakerState,
    /// Failures / calls in the sliding window (0 with no recorded calls).
    pub failure_rate: f64,
    /// Calls recorded in the window. In a window without failures, instances keep successes in
    /// memory (a healthy gateway costs no writes), so this counts from the first failure on.
    pub calls: u64,
    pub failures: u64,
    pub window_seconds: u64,
    /// End of the cool-down while open; after it the breaker is half-open.
    pub open_until: Option<String>,
    /// Opens in a row without a successful probe (the cool-down doubles with each).
    pub consecutive_opens: u32,
    /// Methods the gateway takes.
    pub methods: Vec<PaymentMethod>,
    /// 1-based position in this tenant's routing, per method that lists it.
    pub priority: BTreeMap<PaymentMethod, usize>,
    /// Whether this tenant uses the real gateway (else the built-in simulator).
    pub live: bool,
}

impl Orchestrator {
    /// Every registered gateway, in name order.
    pub async fn gateways_view(&self, tenant: &Tenant) -> Result<String, ApiError> {
        let config = self.breakers.config().clone();
        let now = self.breakers.now_ms();
        let mut data = Vec::new();
        for name in self.gateways.names() {
            let Some(g) = self.gateways.get(name) else {
                continue;
            };
            let record = self.breakers.read_fresh(&tenant.id, name).await?;
            let (calls, failures) = record.totals(now, &config);
            let priority = tenant
                .routing
                .iter()
                .filter_map(|(m, list)| list.iter().position(|n| n == name).map(|i| (*m, i + 1)))
                .collect();
            data.push(GatewayStatus {
                gateway: name.to_string(),
                state: record.state_at(now),
                failure_rate: record.failure_rate(now, &config),
                calls,
                failures,
                window_seconds: config.window.as_secs(),
                open_until: (record.phase == Phase::Open)
                    .then(|| chrono::DateTime::from_timestamp_millis(record.open_until_ms))
                    .flatten()
                    .map(|t| crate::time_format::render(&t)),
                consecutive_opens: record.opens,
                methods: PaymentMethod::ALL
                    .into_iter()
                    .filter(|m| g.supports(*m))
                    .collect(),
                priority,
                live: tenant.live_gateways.iter().any(|l| l == name),
            });
        }
        serde_json::to_string(&serde_json::json!({ "data": data }))
            .map_err(|e| ApiError::Internal(e.to_string()))
    }
}
