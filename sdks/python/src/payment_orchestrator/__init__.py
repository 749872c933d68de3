"""Python SDK for the payment orchestrator API.

>>> from payment_orchestrator import Client, AsyncClient, Webhook, errors
"""

from . import errors, types
from ._async_client import AsyncClient
from ._client import Client
from ._core import RetryInfo
from ._version import __version__
from .pagination import AsyncPage, AsyncPageRequest, Page
from .types import (
    Event,
    Gateway,
    GatewayList,
    Payment,
    PaymentCreateParams,
    Refund,
    RefundCreateParams,
    Routing,
    RoutingParams,
    WebhookEvent,
)
from .webhooks import Webhook

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "Webhook",
    "WebhookEvent",
    "errors",
    "types",
    "Page",
    "AsyncPage",
    "AsyncPageRequest",
    "RetryInfo",
    "Payment",
    "PaymentCreateParams",
    "Refund",
    "RefundCreateParams",
    "Routing",
    "RoutingParams",
    "Event",
    "Gateway",
    "GatewayList",
]
