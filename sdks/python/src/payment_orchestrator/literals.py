"""The closed sets of values the API uses, as ``Literal`` types.

They exist so that a typo (``status == "suceeded"``, ``method="piks"``) fails ``mypy --strict``
instead of silently never matching. Response fields are typed with them; at run time a value
the server adds later still arrives as its plain string (nothing is rejected), so code that
must tolerate new values can compare against ``str``.

``tests/test_error_enums.py`` and ``tests/test_parity.py`` compare these sets with the enums of
``docs/openapi.yaml`` so the SDK and the spec cannot drift apart.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "PaymentMethod",
    "PaymentStatus",
    "Currency",
    "GatewayName",
    "EventType",
    "BreakerState",
    "DeliveryState",
    "RefundStatus",
    "AttemptOutcome",
    "Mode",
    "EndpointState",
    "ErrorType",
    "ErrorCode",
    "ReconciliationStatus",
    "ReconciliationTrigger",
    "FindingKind",
    "LatePaymentSource",
    "VerificationErrorClass",
    "UsagePeriodStatus",
]

PaymentMethod = Literal["pix", "card", "boleto"]

PaymentStatus = Literal[
    "pending",
    "requires_action",
    "processing",
    "succeeded",
    "failed",
    "canceled",
    "expired",
    "refunded",
    "partially_refunded",
]

Currency = Literal["BRL", "USD", "EUR", "GBP", "ARS", "CLP", "COP", "MXN", "PEN", "UYU", "JPY"]
"""ISO 4217 codes a payment may be created in (EFI and Asaas take BRL only)."""

GatewayName = Literal["efi", "stripe", "asaas"]

EventType = Literal[
    "payment.pending",
    "payment.requires_action",
    "payment.processing",
    "payment.succeeded",
    "payment.failed",
    "payment.canceled",
    "payment.expired",
    "payment.partially_refunded",
    "payment.refunded",
    "payment.overdue",
    "payment.late_payment_received",
    "refund.succeeded",
    "refund.failed",
    "webhook.test",
]
"""Every merchant event type; ``webhook.test`` is only ever sent by
``webhook_endpoint.test()`` (it is never stored or listed)."""

BreakerState = Literal["closed", "open", "half_open"]

DeliveryState = Literal["pending", "delivered", "failed", "no_endpoint"]

RefundStatus = Literal["pending", "succeeded", "failed"]

AttemptOutcome = Literal["succeeded", "declined", "invalid", "unavailable", "ambiguous", "misconfigured"]

Mode = Literal["test", "live"]

EndpointState = Literal["healthy", "failing", "disabled"]

ReconciliationStatus = Literal["completed", "partial", "failed"]

ReconciliationTrigger = Literal["api", "schedule"]

FindingKind = Literal[
    "status_repaired",
    "late_payment",
    "orphan_adopted",
    "orphan_in_flight",
    "orphan_unpaid",
    "orphan_unnamed",
    "amount_mismatch",
    "other_charge",
    "other_account",
    "fees_recorded",
]

LatePaymentSource = Literal["webhook", "refresh"]

VerificationErrorClass = Literal["declined", "invalid", "unavailable", "ambiguous", "misconfigured"]

UsagePeriodStatus = Literal["open", "closed"]

ErrorType = Literal[
    "invalid_request",
    "authentication",
    "idempotency",
    "not_found",
    "gateway",
    "internal",
    "rate_limited",
]
"""``error.type`` of an error answer (``components.schemas.Error`` in the spec)."""

ErrorCode = Literal[
    # 400 invalid_request: the body or a parameter
    "invalid_json",
    "invalid_body",
    "invalid_request",
    "invalid_parameter",
    "unknown_parameter",
    "parameter_missing",
    "parameter_invalid_integer",
    "parameter_invalid_type",
    "invalid_amount",
    "amount_too_large",
    "amount_exceeds_refundable",
    "invalid_currency",
    "currency_not_supported",
    "invalid_method",
    "invalid_document",
    "invalid_email",
    "invalid_metadata",
    "invalid_callback_url",
    "invalid_url",
    "invalid_cursor",
    "invalid_routing",
    "invalid_card_token",
    "card_token_required",
    "missing_card_token",
    "card_not_allowed",
    "customer_document_required",
    "unknown_gateway",
    "no_gateway_for_method",
    "gateway_does_not_support_method",
    "method_not_supported",
    "invalid_credentials",
    "invalid_webhook",
    "livemode_required",
    "body_too_large",
    "method_not_allowed",
    "resource_exists",
    "invalid_state",
    "gateway_not_configured",
    "no_callback_url",
    # authentication / not found / idempotency / rate limit
    "unauthenticated",
    "resource_missing",
    "idempotency_key_invalid",
    "idempotency_key_in_use",
    "idempotency_key_reused",
    "rate_limited",
    # gateway (502, and 409 gateway_credentials_changed)
    "gateway_credentials_changed",
    "gateway_credentials_invalid",
    "all_gateways_failed",
    "gateway_declined",
    "gateway_invalid",
    "gateway_unavailable",
    "gateway_ambiguous",
    "gateway_misconfigured",
    "gateway_breaker_open",
    "refund_breaker_open",
    "cancel_breaker_open",
    # internal
    "dependency_unavailable",
    "internal_error",
]
"""``error.code`` values the server sends. A gateway may add its own refund/cancel codes
(``refund_<gateway code>``); those arrive as plain strings."""
