//! The simulator controls' HTTP pieces: error answers in the API's shape with the controls'
//! own codes, strict JSON bodies (every unknown field a 400 naming it), and the small JSON and
//! HTML answers. What the controls do is in `controls.rs`.

use super::{three_ds_page, SimulatorGateway};
use crate::api::{error_response, ApiResponse};
use crate::domain::{Payment, PaymentStatus, RefundStatus};
use crate::error::ApiError;
use serde_json::{json, Map, Value};

pub(super) type Answer = Result<ApiResponse, ApiResponse>;

/// An error answer in the API's shape, with the controls' own codes.
pub(super) fn fail(
    status: u16,
    code: &str,
    message: impl Into<String>,
    param: Option<&str>,
) -> ApiResponse {
    let kind = match status {
        401 => "authentication",
        404 => "not_found",
        502 => "gateway",
        _ => "invalid_request",
    };
    let mut err = json!({"type": kind, "code": code, "message": message.into()});
    if let Some(p) = param {
        err["param"] = Value::String(p.to_string());
    }
    ApiResponse::json(status, json!({ "error": err }).to_string())
}

pub(super) fn api(e: ApiError) -> ApiResponse {
    error_response(&e)
}

/// The JSON body as an object whose keys are all in `allowed` (an empty body is `{}`).
pub(super) fn body_object(
    body: &[u8],
    allowed: &[&str],
) -> Result<Map<String, Value>, ApiResponse> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        fail(
            400,
            "invalid_json",
            format!("the body is not JSON: {e}"),
            None,
        )
    })?;
    let Value::Object(map) = v else {
        return Err(fail(
            400,
            "invalid_json",
            "the body must be a JSON object",
            None,
        ));
    };
    if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        let shown: String = k.chars().take(40).collect();
        return Err(fail(
            400,
            "unknown_parameter",
            format!("unknown parameter `{shown}`"),
            Some(&shown),
        ));
    }
    Ok(map)
}

/// A required string field, one of `choices`.
pub(super) fn choice<'a>(
    map: &Map<String, Value>,
    field: &str,
    choices: &[&'a str],
) -> Result<&'a str, ApiResponse> {
    let listed = choices.join(", ");
    match map.get(field) {
        None => Err(fail(
            400,
            "parameter_missing",
            format!("`{field}` is required: one of {listed}"),
            Some(field),
        )),
        Some(v) => v
            .as_str()
            .and_then(|s| choices.iter().find(|c| **c == s).copied())
            .ok_or_else(|| {
                fail(
                    400,
                    "parameter_invalid",
                    format!("`{field}` must be one of {listed}"),
                    Some(field),
                )
            }),
    }
}

pub(super) fn payment_json(p: &Payment, status: u16) -> ApiResponse {
    ApiResponse::json(status, crate::service::render_payment(p))
}
pub(super) fn mode_json(sim: &SimulatorGateway) -> Value {
    json!({
        "object": "simulator_gateway",
        "gateway": crate::ports::Gateway::name(sim),
        "mode": if sim.is_unavailable() { "unavailable" } else { "normal" },
    })
}

/// Why the simulator refused to move a charge: what the real gateway would answer.
pub(super) fn refusal(p: &Payment, now: Option<PaymentStatus>) -> ApiResponse {
    let (code, what) = match now {
        Some(PaymentStatus::Succeeded) => ("already_paid", "is paid already"),
        Some(PaymentStatus::Canceled) => ("charge_canceled", "was canceled"),
        Some(PaymentStatus::Expired) => ("charge_expired", "has expired"),
        Some(PaymentStatus::Failed) => ("charge_failed", "has failed"),
        Some(PaymentStatus::Pending) => ("not_awaiting_authentication", "awaits no authentication"),
        _ => ("charge_not_payable", "cannot take this action now"),
    };
    fail(
        409,
        code,
        format!(
            "the gateway's charge for payment {} {what} (the payment is {})",
            p.id.as_str(),
            p.status
        ),
        None,
    )
}

pub(super) fn refund_status_name(s: RefundStatus) -> &'static str {
    match s {
        RefundStatus::Pending => "pending",
        RefundStatus::Succeeded => "succeeded",
        RefundStatus::Failed => "failed",
    }
}

pub(super) fn html(status: u16, body: String) -> ApiResponse {
    ApiResponse {
        status,
        headers: vec![
            ("content-type", "text/html; charset=utf-8".into()),
            ("content-security-policy", three_ds_page::CSP.into()),
            ("x-content-type-options", "nosniff".into()),
            ("cache-control", "no-store".into()),
        ],
        body,
    }
}
