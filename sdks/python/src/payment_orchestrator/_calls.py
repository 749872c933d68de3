"""What each API method sends and how its answer is read, shared by both clients."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from ._core import Call
from ._operations import op
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
from .params import (
    ApiKeyCreateParams,
    EventListParams,
    GatewayCredentialsParams,
    PaymentCreateParams,
    PaymentListParams,
    PaymentRetrieveQuery,
    ReconciliationCreateParams,
    RefundCreateParams,
    RoutingParams,
    SettingsUpdateParams,
    TenantCreateParams,
    TenantUpdateParams,
    UsageParams,
    WebhookSecretRotateParams,
)
from .types import (
    Event,
    GatewayList,
    Payment,
    Refund,
    ResponseMeta,
    Routing,
    UnmatchedWebhook,
)

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class PageData(Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None
    raw: dict[str, Any]
    meta: ResponseMeta


def _list_parser(item: Callable[[Mapping[str, Any]], T]) -> Callable[[Any, ResponseMeta], PageData[T]]:
    def parse(body: Any, meta: ResponseMeta) -> PageData[T]:
        d = body if isinstance(body, dict) else {}
        items = d.get("data")
        cursor = d.get("next_cursor")
        return PageData(
            data=[item(x) for x in items if isinstance(x, dict)] if isinstance(items, list) else [],
            has_more=d.get("has_more") is True,
            next_cursor=cursor if isinstance(cursor, str) and cursor else None,
            raw=d,
            meta=meta,
        )

    return parse


def _obj(body: Any) -> dict[str, Any]:
    return body if isinstance(body, dict) else {}


def _parse(factory: Callable[[dict[str, Any], ResponseMeta], T]) -> Callable[[Any, ResponseMeta], T]:
    return lambda b, m: factory(_obj(b), m)


def _opt(**values: object) -> dict[str, str | int | bool | None]:
    """The query parameters that were given (``None`` means not given)."""
    return _query({k: v for k, v in values.items() if v is not None})


# --- payments and refunds ------------------------------------------------------------------------


def payment_create(params: PaymentCreateParams, idempotency_key: str | None) -> Call[Payment]:
    return Call(
        method="POST",
        path=op("createPayment").path(),
        body=dict(params),
        idempotency_key=idempotency_key,
        parse=_parse(Payment.from_dict),
    )


def payment_retrieve(
    payment_id: str, *, refresh: bool = False, expand: Literal["customer"] | None = None
) -> Call[Payment]:
    query: PaymentRetrieveQuery = {}
    if refresh:
        query["refresh"] = True
    if expand is not None:
        query["expand"] = expand
    return Call(
        method="GET",
        path=op("getPayment").path(id=payment_id),
        query=_query(query) if query else None,
        parse=_parse(Payment.from_dict),
    )


def payment_list(query: PaymentListParams) -> Call[PageData[Payment]]:
    return Call(
        method="GET",
        path=op("listPayments").path(),
        query=_query(query),
        parse=_list_parser(Payment.from_dict),
    )


def payment_pages(
    *,
    limit: int | None,
    reference: str | None,
    status: PaymentStatus | None,
    late_payment: bool | None = None,
    gateway_payment_id: str | None = None,
    customer_document: str | None = None,
) -> Callable[[str | None], Call[PageData[Payment]]]:
    """The call for each page of a payment list, by cursor."""

    def call_for(cursor: str | None) -> Call[PageData[Payment]]:
        q: PaymentListParams = {}
        if limit is not None:
            q["limit"] = limit
        if reference is not None:
            q["reference"] = reference
        if status is not None:
            q["status"] = status
        if late_payment is not None:
            q["late_payment"] = late_payment
        if gateway_payment_id is not None:
            q["gateway_payment_id"] = gateway_payment_id
        if customer_document is not None:
            q["customer_document"] = customer_document
        if cursor is not None:
            q["starting_after"] = cursor
        return payment_list(q)

    return call_for


def payment_cancel(payment_id: str, idempotency_key: str | None) -> Call[Payment]:
    return Call(
        method="POST",
        path=op("cancelPayment").path(id=payment_id),
        body={},
        idempotency_key=idempotency_key,
        parse=_parse(Payment.from_dict),
    )


def refund_create(
    payment_id: str, params: RefundCreateParams | None, idempotency_key: str | None
) -> Call[Refund]:
    return Call(
        method="POST",
        path=op("createRefund").path(id=payment_id),
        body=dict(params or {}),
        idempotency_key=idempotency_key,
        parse=_parse(Refund.from_dict),
    )


# --- routing, gateways and their credentials ------------------------------------------------------


def routing_update(params: RoutingParams) -> Call[Routing]:
    return Call(
        method="PUT", path=op("updateRouting").path(), body=dict(params), parse=_parse(Routing.from_dict)
    )


def gateways_list() -> Call[GatewayList]:
    return Call(method="GET", path=op("listGateways").path(), parse=_parse(GatewayList.from_dict))


def credentials_put(gateway: GatewayName, params: GatewayCredentialsParams) -> Call[GatewayCredentials]:
    return Call(
        method="PUT",
        path=op("putGatewayCredentials").path(gateway=gateway),
        body=dict(params),
        parse=_parse(GatewayCredentials.from_dict),
    )


def credentials_get(gateway: GatewayName) -> Call[GatewayCredentials]:
    return Call(
        method="GET",
        path=op("getGatewayCredentials").path(gateway=gateway),
        parse=_parse(GatewayCredentials.from_dict),
    )


def credentials_delete(gateway: GatewayName) -> Call[DeletedGatewayCredentials]:
    return Call(
        method="DELETE",
        path=op("deleteGatewayCredentials").path(gateway=gateway),
        parse=_parse(DeletedGatewayCredentials.from_dict),
    )


def credentials_verify(gateway: GatewayName) -> Call[CredentialsVerification]:
    return Call(
        method="POST",
        path=op("verifyGatewayCredentials").path(gateway=gateway),
        parse=_parse(CredentialsVerification.from_dict),
    )


# --- events and the callback endpoint ------------------------------------------------------------


def event_list(query: EventListParams) -> Call[PageData[Event]]:
    return Call(
        method="GET",
        path=op("listEvents").path(),
        query=_query(query),
        parse=_list_parser(Event.from_dict),
    )


def event_pages(
    *, limit: int | None, type: EventType | None, payment_id: str | None  # noqa: A002
) -> Callable[[str | None], Call[PageData[Event]]]:
    def call_for(cursor: str | None) -> Call[PageData[Event]]:
        q: EventListParams = {}
        if limit is not None:
            q["limit"] = limit
        if type is not None:
            q["type"] = type
        if payment_id is not None:
            q["payment_id"] = payment_id
        if cursor is not None:
            q["starting_after"] = cursor
        return event_list(q)

    return call_for


def event_retrieve(event_id: str) -> Call[Event]:
    return Call(method="GET", path=op("getEvent").path(id=event_id), parse=_parse(Event.from_dict))


def event_resend(event_id: str, idempotency_key: str | None) -> Call[Event]:
    return Call(
        method="POST",
        path=op("resendEvent").path(id=event_id),
        idempotency_key=idempotency_key,
        parse=_parse(Event.from_dict),
    )


def unmatched_list(limit: int | None) -> Call[PageData[UnmatchedWebhook]]:
    return Call(
        method="GET",
        path=op("listUnmatchedWebhooks").path(),
        query=_opt(limit=limit),
        parse=_list_parser(UnmatchedWebhook.from_dict),
    )


def unmatched_pages(*, limit: int | None) -> Callable[[str | None], Call[PageData[UnmatchedWebhook]]]:
    return lambda _cursor: unmatched_list(limit)


def endpoint_get(url: str | None) -> Call[WebhookEndpoint]:
    return Call(
        method="GET",
        path=op("getWebhookEndpoint").path(),
        query=_opt(url=url),
        parse=_parse(WebhookEndpoint.from_dict),
    )


def endpoint_enable(
    url: str | None, starting_after: str | None, idempotency_key: str | None
) -> Call[WebhookEndpoint]:
    return Call(
        method="POST",
        path=op("enableWebhookEndpoint").path(),
        query=_opt(url=url, starting_after=starting_after),
        idempotency_key=idempotency_key,
        parse=_parse(WebhookEndpoint.from_dict),
    )


def endpoint_test(idempotency_key: str | None) -> Call[WebhookTest]:
    return Call(
        method="POST",
        path=op("sendTestWebhook").path(),
        body={},
        idempotency_key=idempotency_key,
        parse=_parse(WebhookTest.from_dict),
    )


def secrets_list() -> Call[WebhookSecrets]:
    return Call(
        method="GET", path=op("listWebhookSecrets").path(), parse=_parse(WebhookSecrets.from_dict)
    )


def secret_rotate(
    params: WebhookSecretRotateParams | None, idempotency_key: str | None
) -> Call[WebhookSecrets]:
    return Call(
        method="POST",
        path=op("rotateWebhookSecret").path(),
        body=dict(params or {}),
        idempotency_key=idempotency_key,
        parse=_parse(WebhookSecrets.from_dict),
    )


# --- account: usage, keys, audit, reconciliation, settings ---------------------------------------


def usage_get(params: UsageParams | None) -> Call[Usage]:
    return Call(
        method="GET",
        path=op("getUsage").path(),
        query=_query(dict(params or {})),
        parse=_parse(Usage.from_dict),
    )


def api_key_create(params: ApiKeyCreateParams | None, idempotency_key: str | None) -> Call[NewApiKey]:
    return Call(
        method="POST",
        path=op("createApiKey").path(),
        body=dict(params or {}),
        idempotency_key=idempotency_key,
        parse=_parse(NewApiKey.from_dict),
    )


def api_key_list() -> Call[ObjectList[ApiKey]]:
    return Call(method="GET", path=op("listApiKeys").path(), parse=ObjectList.parser(ApiKey.from_dict))


def api_key_revoke(key_id: str) -> Call[DeletedApiKey]:
    return Call(
        method="DELETE", path=op("revokeApiKey").path(id=key_id), parse=_parse(DeletedApiKey.from_dict)
    )


def audit_list(limit: int | None) -> Call[ObjectList[AuditEntry]]:
    return Call(
        method="GET",
        path=op("listAudit").path(),
        query=_opt(limit=limit),
        parse=ObjectList.parser(AuditEntry.from_dict),
    )


def reconciliation_create(
    params: ReconciliationCreateParams | None, idempotency_key: str | None
) -> Call[ObjectList[ReconciliationRun]]:
    return Call(
        method="POST",
        path=op("createReconciliationRuns").path(),
        body=dict(params or {}),
        idempotency_key=idempotency_key,
        parse=ObjectList.parser(ReconciliationRun.from_dict),
    )


def reconciliation_list(limit: int | None) -> Call[ObjectList[ReconciliationRun]]:
    return Call(
        method="GET",
        path=op("listReconciliationRuns").path(),
        query=_opt(limit=limit),
        parse=ObjectList.parser(ReconciliationRun.from_dict),
    )


def reconciliation_get(run_id: str) -> Call[ReconciliationRun]:
    return Call(
        method="GET",
        path=op("getReconciliationRun").path(id=run_id),
        parse=_parse(ReconciliationRun.from_dict),
    )


def settings_get() -> Call[Settings]:
    return Call(method="GET", path=op("getSettings").path(), parse=_parse(Settings.from_dict))


def settings_update(params: SettingsUpdateParams) -> Call[Settings]:
    return Call(
        method="PATCH", path=op("updateSettings").path(), body=dict(params), parse=_parse(Settings.from_dict)
    )


# --- operator ------------------------------------------------------------------------------------


def tenant_create(params: TenantCreateParams, idempotency_key: str | None) -> Call[NewTenant]:
    return Call(
        method="POST",
        path=op("adminCreateTenant").path(),
        body=dict(params),
        idempotency_key=idempotency_key,
        parse=_parse(NewTenant.from_dict),
    )


def tenant_list() -> Call[ObjectList[Tenant]]:
    return Call(
        method="GET", path=op("adminListTenants").path(), parse=ObjectList.parser(Tenant.from_dict)
    )


def tenant_update(tenant_id: str, params: TenantUpdateParams) -> Call[Tenant]:
    return Call(
        method="PATCH",
        path=op("adminUpdateTenant").path(id=tenant_id),
        body=dict(params),
        parse=_parse(Tenant.from_dict),
    )


def _query(q: Mapping[str, object]) -> dict[str, str | int | bool | None]:
    out: dict[str, str | int | bool | None] = {}
    for k, v in q.items():
        if v is None or isinstance(v, (str, int, bool)):
            out[k] = v
        else:
            raise TypeError(f"query parameter {k!r} must be a string or an integer")
    return out
