"""The synchronous resources (``client.payments``, ``client.api_keys``, ...): thin wrappers
that build a call with ``_calls`` and run it on the client. ``_resources_async.py`` mirrors
this file method for method; ``tests/test_parity.py`` calls both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from . import _calls
from .account import (
    ApiKey,
    AuditEntry,
    CredentialsVerification,
    DeletedApiKey,
    DeletedGatewayCredentials,
    GatewayCredentials,
    NewApiKey,
    NewTenant,
    ObjectList,
    ReconciliationRun,
    Settings,
    Tenant,
    Usage,
    WebhookEndpoint,
    WebhookSecrets,
    WebhookTest,
)
from .literals import EventType, GatewayName, PaymentStatus
from .pagination import Page
from .params import (
    ApiKeyCreateParams,
    GatewayCredentialsParams,
    PaymentCreateParams,
    ReconciliationCreateParams,
    RefundCreateParams,
    RoutingParams,
    SettingsUpdateParams,
    TenantCreateParams,
    TenantUpdateParams,
    UsageParams,
    WebhookSecretRotateParams,
)
from .types import Event, GatewayList, Payment, Refund, Routing, UnmatchedWebhook

if TYPE_CHECKING:
    from ._client import _SyncClient


class _Resource:
    def __init__(self, client: _SyncClient) -> None:
        self._client = client


class Payments(_Resource):
    def create(self, params: PaymentCreateParams, *, idempotency_key: str | None = None) -> Payment:
        """Creates a payment (201). Without ``idempotency_key`` a UUIDv4 is generated for this
        call and reused by its retries; read it back as ``payment.idempotency_key``."""
        return self._client.request(_calls.payment_create(params, idempotency_key))

    def retrieve(self, payment_id: str, *, expand: Literal["customer"] | None = None) -> Payment:
        """``expand="customer"`` adds the payment's customer (the document masked); without it the
        answer carries no personal data."""
        return self._client.request(_calls.payment_retrieve(payment_id, expand=expand))

    def refresh(self, payment_id: str) -> Payment:
        """Re-syncs a non-final payment from its gateway (``?refresh=true``; reads only)."""
        return self._client.request(_calls.payment_retrieve(payment_id, refresh=True))

    def list(
        self,
        *,
        limit: int | None = None,
        reference: str | None = None,
        status: PaymentStatus | None = None,
        late_payment: bool | None = None,
        gateway_payment_id: str | None = None,
        customer_document: str | None = None,
        starting_after: str | None = None,
    ) -> Page[Payment]:
        """Newest first. ``limit`` is the page size (1-100); iterate the page for every item.
        ``late_payment=True`` lists only payments holding money confirmed after they ended;
        ``gateway_payment_id`` finds the payments a gateway knows by that id (one page);
        ``customer_document`` those of one CPF/CNPJ among the newest 1,000 (one page)."""
        pages = _calls.payment_pages(
            limit=limit,
            reference=reference,
            status=status,
            late_payment=late_payment,
            gateway_payment_id=gateway_payment_id,
            customer_document=customer_document,
        )
        return self._client._page(pages, starting_after)

    def cancel(self, payment_id: str, *, idempotency_key: str | None = None) -> Payment:
        """Cancels a ``pending`` Pix/boleto or a ``requires_action`` card at its gateway
        (``canceled`` is final). Any other status: 422 ``invalid_state``."""
        return self._client.request(_calls.payment_cancel(payment_id, idempotency_key))


class Refunds(_Resource):
    def create(
        self,
        payment_id: str,
        params: RefundCreateParams | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Refund:
        """Refunds ``params["amount"]`` (or everything left). Answers the refund with the
        updated payment embedded."""
        return self._client.request(_calls.refund_create(payment_id, params, idempotency_key))


class RoutingResource(_Resource):
    def update(self, routing: RoutingParams) -> Routing:
        """Replaces the gateway order of the methods given, e.g. ``{"pix": ["asaas", "efi"]}``."""
        return self._client.request(_calls.routing_update(routing))


class Gateways(_Resource):
    def list(self) -> GatewayList:
        return self._client.request(_calls.gateways_list())


class GatewayCredentialsResource(_Resource):
    """Live-mode gateway credentials (a test key gets 400 ``livemode_required``)."""

    def put(self, gateway: GatewayName, params: GatewayCredentialsParams) -> GatewayCredentials:
        """Registers (or rotates) the credentials; the answer shows masked values only."""
        return self._client.request(_calls.credentials_put(gateway, params))

    def retrieve(self, gateway: GatewayName) -> GatewayCredentials:
        return self._client.request(_calls.credentials_get(gateway))

    def delete(self, gateway: GatewayName) -> DeletedGatewayCredentials:
        return self._client.request(_calls.credentials_delete(gateway))

    def verify(self, gateway: GatewayName) -> CredentialsVerification:
        """One harmless authenticated call to the gateway; ``ok`` or the classified error."""
        return self._client.request(_calls.credentials_verify(gateway))


class Events(_Resource):
    def list(
        self,
        *,
        limit: int | None = None,
        type: EventType | None = None,  # noqa: A002 - the API's parameter name
        payment_id: str | None = None,
        starting_after: str | None = None,
    ) -> Page[Event]:
        """Newest first. ``limit`` is the page size (1-100); iterate the page for every item."""
        pages = _calls.event_pages(limit=limit, type=type, payment_id=payment_id)
        return self._client._page(pages, starting_after)

    def retrieve(self, event_id: str) -> Event:
        return self._client.request(_calls.event_retrieve(event_id))

    def resend(self, event_id: str, *, idempotency_key: str | None = None) -> Event:
        """Queues the event again (202): same ``webhook-id`` and body."""
        return self._client.request(_calls.event_resend(event_id, idempotency_key))


class UnmatchedWebhooks(_Resource):
    def list(self, *, limit: int | None = None) -> Page[UnmatchedWebhook]:
        return self._client._page(_calls.unmatched_pages(limit=limit), None)


class WebhookEndpointResource(_Resource):
    def retrieve(self, *, url: str | None = None) -> WebhookEndpoint:
        """The callback endpoint's health (``url``: a payment's own callback URL)."""
        return self._client.request(_calls.endpoint_get(url))

    def enable(
        self,
        *,
        url: str | None = None,
        starting_after: str | None = None,
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        """Marks the endpoint healthy and resends its failed backlog; when ``more_backlog``,
        call again with ``starting_after=endpoint.next_cursor``."""
        return self._client.request(_calls.endpoint_enable(url, starting_after, idempotency_key))

    def test(self, *, idempotency_key: str | None = None) -> WebhookTest:
        """Sends one signed ``webhook.test`` event to the callback URL now and reports how the
        delivery went (422 ``no_callback_url`` without one). Touches no payment."""
        return self._client.request(_calls.endpoint_test(idempotency_key))


class WebhookSecretsResource(_Resource):
    def list(self) -> WebhookSecrets:
        return self._client.request(_calls.secrets_list())

    def rotate(
        self, params: WebhookSecretRotateParams | None = None, *, idempotency_key: str | None = None
    ) -> WebhookSecrets:
        """A new secret (``.secret``, shown once); the old ones sign for ``grace_hours``."""
        return self._client.request(_calls.secret_rotate(params, idempotency_key))


class UsageResource(_Resource):
    def retrieve(self, params: UsageParams | None = None) -> Usage:
        """A month's totals (``{"month": "2026-01"}``, default this month) or a daily series
        (``{"from": "2026-01-01", "to": "2026-01-31", "granularity": "day"}``)."""
        return self._client.request(_calls.usage_get(params))


class ApiKeys(_Resource):
    def create(
        self, params: ApiKeyCreateParams | None = None, *, idempotency_key: str | None = None
    ) -> NewApiKey:
        """A new key, shown once (``.key``); rotate by overlapping keys, then revoke."""
        return self._client.request(_calls.api_key_create(params, idempotency_key))

    def list(self) -> ObjectList[ApiKey]:
        return self._client.request(_calls.api_key_list())

    def revoke(self, key_id: str) -> DeletedApiKey:
        return self._client.request(_calls.api_key_revoke(key_id))


class Audit(_Resource):
    def list(self, *, limit: int | None = None) -> ObjectList[AuditEntry]:
        """Configuration changes, newest first."""
        return self._client.request(_calls.audit_list(limit))


class Reconciliation(_Resource):
    def create(
        self,
        params: ReconciliationCreateParams | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> ObjectList[ReconciliationRun]:
        """Compares each gateway's charges in ``[from, to)`` with the payments and repairs;
        answers one run per gateway when done."""
        return self._client.request(_calls.reconciliation_create(params, idempotency_key))

    def list(self, *, limit: int | None = None) -> ObjectList[ReconciliationRun]:
        return self._client.request(_calls.reconciliation_list(limit))

    def retrieve(self, run_id: str) -> ReconciliationRun:
        return self._client.request(_calls.reconciliation_get(run_id))


class SettingsResource(_Resource):
    def retrieve(self) -> Settings:
        return self._client.request(_calls.settings_get())

    def update(self, params: SettingsUpdateParams) -> Settings:
        """``{"callback_url": "https://…"}`` to set it, ``{"callback_url": None}`` to remove."""
        return self._client.request(_calls.settings_update(params))


class Tenants(_Resource):
    """Operator only (``OperatorClient``)."""

    def create(self, params: TenantCreateParams, *, idempotency_key: str | None = None) -> NewTenant:
        """A tenant with its first keys and callback secret (shown once)."""
        return self._client.request(_calls.tenant_create(params, idempotency_key))

    def list(self) -> ObjectList[Tenant]:
        return self._client.request(_calls.tenant_list())

    def update(self, tenant_id: str, params: TenantUpdateParams) -> Tenant:
        """Disable/enable, rename, set the rate limit or the callback URL."""
        return self._client.request(_calls.tenant_update(tenant_id, params))
