//! `PUT /v1/routing`: the manual switch. Replaces the tenant's ordered gateway list for each
//! method given; methods not mentioned keep their routing.

use super::{Orchestrator, Principal};
use crate::domain::PaymentMethod;
use crate::error::ApiError;

use std::collections::BTreeMap;

impl Orchestrator {
    /// Validates and stores new routing; answers the tenant's whole routing.
    pub async fn put_routing(&self, who: &Principal, body: &[u8]) -> Result<String, ApiError> {
        let tenant = &who.tenant;
        let raw: BTreeMap<String, Vec<String>> = super::json_body::parse(body, &[])?;
        if raw.is_empty() {
            // The whole body is at fault: no field to name.
            return Err(ApiError::Invalid {
                code: "invalid_routing",
                param: None,
                message:
                    "the body must give the routing of at least one method (pix, card, boleto)"
                        .into(),
            });
        }
        let mut parsed = BTreeMap::new();
        for (m, list) in raw {
            let method: PaymentMethod = m.parse().map_err(|_| {
                ApiError::invalid(
                    "unknown_parameter",
                    m.chars().take(40).collect::<String>(),
                    format!(
                        "unknown parameter {}; the parameters here are the methods pix, card, boleto",
                        m.chars().take(40).collect::<String>()
                    ),
                )
            })?;
            if list.is_empty() {
                return Err(ApiError::invalid(
                    "invalid_routing",
                    m.clone(),
                    format!("{m} needs at least one gateway"),
                ));
            }
            let mut seen = Vec::new();
            for g in &list {
                let gw = self.gateways.get(g).ok_or_else(|| {
                    ApiError::invalid(
                        "unknown_gateway",
                        m.clone(),
                        format!(
                            "{m} lists unknown gateway `{}`; known: {}",
                            g.chars().take(40).collect::<String>(),
                            self.gateways.names().join(", ")
                        ),
                    )
                })?;
                if !gw.supports(method) {
                    return Err(ApiError::invalid(
                        "gateway_does_not_support_method",
                        m.clone(),
                        format!("{g} does not take {method}"),
                    ));
                }
                if seen.contains(g) {
                    return Err(ApiError::invalid(
                        "invalid_routing",
                        m.clone(),
                        format!("{m} lists {g} twice"),
                    ));
                }
                seen.push(g.clone());
            }
            parsed.insert(method, list);
        }
        // Read-modify-write on the stored tenant (versioned), not the cached copy.
        let (fresh, before) = self
            .modify_tenant(&tenant.id, |t| {
                let before = serde_json::json!({ "routing": t.routing });
                t.routing.extend(parsed.clone());
                Ok(before)
            })
            .await?;
        let after = serde_json::json!({ "routing": fresh.routing });
        self.audit(&fresh.id, &who.key_id, "routing.update", before, after)
            .await;
        tracing::info!(tenant = %fresh.id, routing = ?fresh.routing, "routing changed");
        Ok(serde_json::json!({ "routing": fresh.routing }).to_string())
    }
}
