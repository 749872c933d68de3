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
    # 400 invalid_request: the shape of the input, then the API's rules about a value
    "body_not_json",
    "body_not_object",
    "parameter_missing",
    "parameter_invalid_integer",
    "parameter_invalid_type",
    "parameter_invalid_enum",
    "parameter_invalid_string",
    "parameter_invalid_format",
    "parameter_out_of_range",
    "parameter_conflict",
    "parameter_duplicate",
    "unknown_parameter",
    "invalid_amount",
    "amount_exceeds_refundable",
    "invalid_currency",
    "currency_not_supported",
    "invalid_document",
    "customer_document_required",
    "invalid_email",
    "invalid_metadata",
    "card_token_required",
    "card_not_allowed",
    "invalid_card_token",
    "unknown_gateway",
    "no_gateway_for_method",
    "gateway_does_not_support_method",
    "invalid_routing",
    "invalid_callback_url",
    "invalid_credentials",
    "livemode_required",
    "invalid_webhook",
    # 422 invalid_request of the test event: the tenant has no callback URL
    "no_callback_url",
    # 502 gateway: every gateway failed (charge, refund or cancel) and nothing was done
    "gateway_declined",
    "gateway_invalid",
    "gateway_unavailable",
    "gateway_ambiguous",
    "gateway_misconfigured",
    "gateway_breaker_open",
    "gateway_credentials_invalid",
    "refund_declined",
    "refund_invalid",
    "refund_unavailable",
    "refund_ambiguous",
    "refund_misconfigured",
    "refund_breaker_open",
    "cancel_declined",
    "cancel_invalid",
    "cancel_unavailable",
    "cancel_ambiguous",
    "cancel_misconfigured",
    "cancel_breaker_open",
    # the other (type, code) pairs
    "body_too_large",
    "resource_exists",
    "invalid_state",
    "method_not_allowed",
    "gateway_not_configured",
    "unauthenticated",
    "idempotency_key_invalid",
    "idempotency_key_in_use",
    "idempotency_key_reused",
    "resource_missing",
    "gateway_credentials_changed",
    "rate_limited",
    "dependency_unavailable",
    "internal_error",
]
"""Every ``error.code`` the server sends (``components.schemas.Error`` in the spec)."""
