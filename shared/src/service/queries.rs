//! Read side: `GET /v1/payments/{id}` and `GET /v1/payments`.

use super::payment_view::{view, PaymentView};
use super::Orchestrator;
use crate::domain::{PaymentId, PaymentStatus};
use crate::error::ApiError;
use crate::ports::{PaymentFilter, Tenant};
use serde::Serialize;

/// Default and largest page size of a listing.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page size of a listing.
pub const MAX_LIMIT: usize = 100;

#[derive(Serialize)]
struct ListBody<'a> {
    object: &'static str,
    data: Vec<PaymentView<'a>>,
    has_more: bool,
    next_cursor: Option<&'a str>,
}

/// The 404 for a payment id that is unknown, another tenant's, or no payment id at all (the
/// echoed id is cut short: it comes from the URL).
pub(crate) fn payment_not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no payment `{}`",
        id.chars().take(64).collect::<String>()
    ))
}

/// A listing's `limit`: 1 to [`MAX_LIMIT`].
pub(crate) fn parse_limit(v: &str) -> Result<usize, ApiError> {
    let message = format!("limit must be an integer from 1 to {MAX_LIMIT}");
    let n: i128 = v
        .parse()
        .map_err(|_| ApiError::invalid("parameter_invalid_integer", "limit", message.clone()))?;
    usize::try_from(n)
        .ok()
        .filter(|l| (1..=MAX_LIMIT).contains(l))
        .ok_or_else(|| ApiError::invalid("parameter_out_of_range", "limit", message))
}

impl Orchestrator {
    /// The tenant's payment; another tenant's id (or an id that can't exist) is a 404. With
    /// `refresh=true`, a non-final payment is first re-synced from its gateway.
    pub async fn get_payment(
        &self,
        tenant: &Tenant,
        id: &str,
        query: Option<&str>,
        deadline: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<String, ApiError> {
        let mut refresh = false;
        let mut with_customer = false;
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match (k.as_ref(), v.as_ref()) {
                // Personal data only when asked for: the plain read equals the create's answer.
                ("expand", "customer") => with_customer = true,
                ("expand", _) => {
                    return Err(ApiError::invalid(
                        "parameter_invalid_enum",
                        "expand",
                        "expand takes one value: customer",
                    ))
                }
                ("refresh", "true") => refresh = true,
                ("refresh", "false") => refresh = false,
                ("refresh", _) => {
                    return Err(ApiError::invalid(
                        "parameter_invalid_enum",
                        "refresh",
                        "refresh must be true or false",
                    ))
                }
                (other, _) => {
                    return Err(ApiError::invalid(
                        "unknown_parameter",
                        other.to_string(),
                        format!(
                            "unknown query parameter `{}`",
                            other.chars().take(40).collect::<String>()
                        ),
                    ))
                }
            }
        }
        let not_found = || payment_not_found(id);
        let id = PaymentId::parse(id).map_err(|_| not_found())?;
        let mut p = self
            .payments
            .get(&tenant.id, &id)
            .await?
            .ok_or_else(not_found)?;
        if refresh {
            p = self.reconcile(tenant, p, deadline).await?;
        }
        Ok(if with_customer {
            super::payment_view::render_payment_with_customer(&p)
        } else {
            super::payment_view::render_payment(&p)
        })
    }

    /// Lists the tenant's payments newest first. Query: `reference`, `status`, `late_payment`
    /// (`true`: those holding money confirmed after a final failure), `gateway_payment_id`
    /// (the payments some gateway knows by that id: `payment_search.rs`; one page, no cursor),
    /// `customer_document` (a CPF/CNPJ, among the newest 1,000 payments; one page, no cursor,
    /// `has_more` when the search stopped before the oldest payment),
    /// `limit` (1–100, default 20), `starting_after` (the previous page's `next_cursor`).
    pub async fn list_payments(
        &self,
        tenant: &Tenant,
        query: Option<&str>,
    ) -> Result<String, ApiError> {
        let mut filter = PaymentFilter::default();
        let mut limit = DEFAULT_LIMIT;
        let mut cursor = None;
        let mut gateway_id = None;
        let mut document = None;
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "gateway_payment_id" => {
                    let n = v.chars().count();
                    if n == 0 || n > super::payment_search::MAX_GATEWAY_ID_CHARS {
                        return Err(ApiError::invalid(
                            "parameter_invalid_string",
                            "gateway_payment_id",
                            "gateway_payment_id must be 1-128 characters",
                        ));
                    }
                    gateway_id = Some(v.into_owned());
                }
                "customer_document" => {
                    document = Some(crate::domain::Document::parse(&v).map_err(|e| {
                        ApiError::invalid(
                            "invalid_document",
                            "customer_document",
                            format!("customer_document must be a valid CPF or CNPJ: {e}"),
                        )
                    })?);
                }
                "reference" => {
                    if v.is_empty() || v.chars().count() > 128 {
                        return Err(ApiError::invalid(
                            "parameter_invalid_string",
                            "reference",
                            "reference must be 1-128 characters",
                        ));
                    }
                    filter.reference = Some(v.into_owned());
                }
                "status" => {
                    filter.status = Some(v.parse::<PaymentStatus>().map_err(|_| {
                        ApiError::invalid(
                            "parameter_invalid_enum",
                            "status",
                            "status must be one of pending, requires_action, processing, succeeded, failed, canceled, expired, refunded, partially_refunded",
                        )
                    })?)
                }
                "late_payment" => {
                    filter.late_payment = Some(match v.as_ref() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(ApiError::invalid(
                                "parameter_invalid_enum",
                                "late_payment",
                                "late_payment must be true or false",
                            ))
                        }
                    })
                }
                "limit" => limit = parse_limit(&v)?,
                "starting_after" => {
                    cursor = Some(PaymentId::parse(&v).map_err(|_| {
                        ApiError::invalid(
                            "parameter_invalid_format",
                            "starting_after",
                            "starting_after must be a payment id",
                        )
                    })?)
                }
                other => {
                    return Err(ApiError::invalid(
                        "unknown_parameter",
                        other.to_string(),
                        format!(
                            "unknown query parameter `{}`",
                            other.chars().take(40).collect::<String>()
                        ),
                    ))
                }
            }
        }
        if let Some(doc) = document {
            if cursor.is_some() || gateway_id.is_some() {
                return Err(ApiError::invalid(
                    "parameter_conflict",
                    if cursor.is_some() { "starting_after" } else { "gateway_payment_id" },
                    "customer_document answers one page and goes alone: neither starting_after nor gateway_payment_id applies",
                ));
            }
            let found = self
                .payments_by_customer_document(tenant, &doc, &filter, limit)
                .await?;
            let body = ListBody {
                object: "list",
                data: found.items.iter().map(view).collect(),
                has_more: found.truncated,
                next_cursor: None,
            };
            return serde_json::to_string(&body).map_err(|e| ApiError::Internal(e.to_string()));
        }
        if let Some(gid) = gateway_id {
            if cursor.is_some() {
                return Err(ApiError::invalid(
                    "parameter_conflict",
                    "starting_after",
                    "gateway_payment_id answers one page: starting_after does not apply",
                ));
            }
            let mut items = self.payments_by_gateway_id(tenant, &gid, &filter).await?;
            items.truncate(limit);
            let body = ListBody {
                object: "list",
                data: items.iter().map(view).collect(),
                has_more: false,
                next_cursor: None,
            };
            return serde_json::to_string(&body).map_err(|e| ApiError::Internal(e.to_string()));
        }
        let page = self
            .payments
            .list(&tenant.id, &filter, limit, cursor.as_ref())
            .await?;
        let body = ListBody {
            object: "list",
            data: page.items.iter().map(view).collect(),
            has_more: page.next_cursor.is_some(),
            next_cursor: page.next_cursor.as_ref().map(|c| c.as_str()),
        };
        serde_json::to_string(&body).map_err(|e| ApiError::Internal(e.to_string()))
    }
}
