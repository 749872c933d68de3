"""Request parameters as ``TypedDict``s: one per request body or query of the API.

Their keys are the spec's names exactly (``tests/test_parity.py`` compares them with
``docs/openapi.yaml``), so a misspelt key or a wrong value (``"method": "piks"``) fails
``mypy --strict``. Names that are Python keywords (``from``) use the functional syntax.
"""

from __future__ import annotations

from typing import Literal, TypedDict, Union

from .literals import Currency, EventType, GatewayName, Mode, PaymentMethod, PaymentStatus

__all__ = [
    "CustomerParams",
    "CardParams",
    "PaymentCreateParams",
    "PaymentListParams",
    "PaymentRetrieveQuery",
    "PaymentCancelParams",
    "RefundCreateParams",
    "RoutingParams",
    "EventListParams",
    "UsageParams",
    "ApiKeyCreateParams",
    "WebhookSecretRotateParams",
    "WebhookEndpointParams",
    "WebhookEndpointEnableParams",
    "AuditListParams",
    "ReconciliationCreateParams",
    "ReconciliationListParams",
    "UnmatchedWebhookListParams",
    "StripeCredentialsParams",
    "AsaasCredentialsParams",
    "EfiCredentialsParams",
    "GatewayCredentialsParams",
    "SettingsUpdateParams",
    "WebhookTestParams",
    "TenantCreateParams",
    "TenantUpdateParams",
]


class _CustomerRequired(TypedDict):
    name: str


class CustomerParams(_CustomerRequired, total=False):
    document: str
    """CPF or CNPJ, with check digits (required for boleto)."""
    email: str


class CardParams(TypedDict):
    tokens: dict[str, str]
    """Gateway name -> card token at that gateway, e.g. ``{"stripe": "pm_card_visa"}``."""


class _PaymentCreateRequired(TypedDict):
    amount: int
    """Integer minor units (centavos)."""
    currency: Currency
    method: PaymentMethod


class PaymentCreateParams(_PaymentCreateRequired, total=False):
    customer: CustomerParams
    card: CardParams
    description: str
    reference: str
    metadata: dict[str, str]
    gateway: GatewayName
    """Pin one gateway."""
    callback_url: str
    expires_in: int
    """Pix only: seconds the charge stays payable (60-604800)."""


class PaymentListParams(TypedDict, total=False):
    reference: str
    status: PaymentStatus
    late_payment: bool
    """``True``: only payments holding a ``late_payment``; ``False``: only those without."""
    gateway_payment_id: str
    """Only the payments some gateway knows by this id (one page; not with ``starting_after``)."""
    customer_document: str
    """Only the payments whose customer has this CPF/CNPJ, among the newest 1,000 (one page; alone)."""
    limit: int
    starting_after: str


class PaymentRetrieveQuery(TypedDict, total=False):
    refresh: bool
    """Re-sync a non-final payment from its gateway first (``payments.refresh``)."""
    expand: Literal["customer"]
    """``"customer"``: add the payment's customer, the document masked (``retrieve(expand=...)``)."""


class PaymentCancelParams(TypedDict, total=False):
    """No parameters: the cancel body is empty (``{}``)."""


class RefundCreateParams(TypedDict, total=False):
    amount: int
    """Omit to refund everything left."""
    reason: str


class RoutingParams(TypedDict, total=False):
    pix: list[GatewayName]
    card: list[GatewayName]
    boleto: list[GatewayName]


class EventListParams(TypedDict, total=False):
    type: EventType
    payment_id: str
    limit: int
    starting_after: str


UsageParams = TypedDict(
    "UsageParams",
    {"month": str, "from": str, "to": str, "granularity": Literal["day"]},
    total=False,
)
"""``month`` (``YYYY-MM``, default the current UTC month), or ``from``/``to`` (dates) with
``granularity="day"`` for a daily series."""


class ApiKeyCreateParams(TypedDict, total=False):
    expires_in_days: int
    mode: Mode
    """Default: the mode of the key making the request (a test key makes only test keys)."""


class WebhookSecretRotateParams(TypedDict, total=False):
    grace_hours: int
    """How long the previous secrets keep signing (0-168, default 24)."""


class WebhookEndpointParams(TypedDict, total=False):
    url: str
    """A payment's own callback URL; default the account's."""


class WebhookEndpointEnableParams(TypedDict, total=False):
    url: str
    starting_after: str
    """The ``next_cursor`` of an earlier enable, to resend the rest of a long backlog."""


class AuditListParams(TypedDict, total=False):
    limit: int


ReconciliationCreateParams = TypedDict(
    "ReconciliationCreateParams",
    {"gateway": GatewayName, "from": str, "to": str},
    total=False,
)
"""``from``/``to`` are RFC 3339 timestamps (default the last 24 h; at most 31 days)."""


class ReconciliationListParams(TypedDict, total=False):
    limit: int


class UnmatchedWebhookListParams(TypedDict, total=False):
    limit: int


class _StripeRequired(TypedDict):
    secret_key: str


class StripeCredentialsParams(_StripeRequired, total=False):
    webhook_secret: str
    previous_webhook_secret_expires_in: int
    base_url: str


class _AsaasRequired(TypedDict):
    api_key: str


class AsaasCredentialsParams(_AsaasRequired, total=False):
    webhook_token: str
    base_url: str


class _EfiRequired(TypedDict):
    client_id: str
    client_secret: str
    certificate_p12: str
    pix_key: str


class EfiCredentialsParams(_EfiRequired, total=False):
    certificate_password: str
    webhook_hmac: str
    webhook_allowed_ips: list[str]
    base_url: str
    ca_pem: str


GatewayCredentialsParams = Union[StripeCredentialsParams, AsaasCredentialsParams, EfiCredentialsParams]
"""The body for the gateway named in the path."""


class SettingsUpdateParams(TypedDict, total=False):
    callback_url: str | None
    """``https://...`` to set, ``None`` to remove."""


class WebhookTestParams(TypedDict, total=False):
    """No parameters: the test event's body is chosen by the server."""


class _TenantCreateRequired(TypedDict):
    name: str


class TenantCreateParams(_TenantCreateRequired, total=False):
    id: str
    routing: RoutingParams
    callback_url: str
    rate_limit_per_minute: int


class TenantUpdateParams(TypedDict, total=False):
    disabled: bool
    name: str
    rate_limit_per_minute: int
    callback_url: str | None
