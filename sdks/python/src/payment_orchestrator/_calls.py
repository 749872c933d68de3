"""What each API method sends and how its answer is read, shared by both clients."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from ._core import Call
from .types import (
    Event,
    EventListParams,
    GatewayList,
    Payment,
    PaymentCreateParams,
    PaymentListParams,
    Refund,
    RefundCreateParams,
    ResponseMeta,
    Routing,
    RoutingParams,
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


def _seg(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("an id must be a non-empty string")
    return quote(value, safe="")


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


def payment_create(params: PaymentCreateParams, idempotency_key: str | None) -> Call[Payment]:
    return Call(
        method="POST",
        path="/v1/payments",
        body=dict(params),
        idempotency_key=idempotency_key,
        parse=lambda b, m: Payment.from_dict(_obj(b), m),
    )


def payment_retrieve(payment_id: str, *, refresh: bool = False) -> Call[Payment]:
    return Call(
        method="GET",
        path=f"/v1/payments/{_seg(payment_id)}",
        query={"refresh": True} if refresh else None,
        parse=lambda b, m: Payment.from_dict(_obj(b), m),
    )


def payment_list(query: PaymentListParams) -> Call[PageData[Payment]]:
    return Call(
        method="GET",
        path="/v1/payments",
        query=_query(query),
        parse=_list_parser(Payment.from_dict),
    )


def payment_pages(
    *, limit: int | None, reference: str | None, status: str | None
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
        if cursor is not None:
            q["starting_after"] = cursor
        return payment_list(q)

    return call_for


def refund_create(
    payment_id: str, params: RefundCreateParams | None, idempotency_key: str | None
) -> Call[Refund]:
    return Call(
        method="POST",
        path=f"/v1/payments/{_seg(payment_id)}/refunds",
        body=dict(params or {}),
        idempotency_key=idempotency_key,
        parse=lambda b, m: Refund.from_dict(_obj(b), m),
    )


def routing_update(params: RoutingParams) -> Call[Routing]:
    return Call(
        method="PUT",
        path="/v1/routing",
        body=dict(params),
        parse=lambda b, m: Routing.from_dict(_obj(b), m),
    )


def gateways_list() -> Call[GatewayList]:
    return Call(
        method="GET", path="/v1/gateways", parse=lambda b, m: GatewayList.from_dict(_obj(b), m)
    )


def event_list(query: EventListParams) -> Call[PageData[Event]]:
    return Call(
        method="GET", path="/v1/events", query=_query(query), parse=_list_parser(Event.from_dict)
    )


def event_pages(
    *, limit: int | None, type: str | None, payment_id: str | None  # noqa: A002
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
    return Call(
        method="GET",
        path=f"/v1/events/{_seg(event_id)}",
        parse=lambda b, m: Event.from_dict(_obj(b), m),
    )


def event_resend(event_id: str, idempotency_key: str | None) -> Call[Event]:
    return Call(
        method="POST",
        path=f"/v1/events/{_seg(event_id)}/resend",
        idempotency_key=idempotency_key,
        parse=lambda b, m: Event.from_dict(_obj(b), m),
    )


def unmatched_list(limit: int | None) -> Call[PageData[UnmatchedWebhook]]:
    return Call(
        method="GET",
        path="/v1/webhooks/unmatched",
        query={"limit": limit},
        parse=_list_parser(UnmatchedWebhook.from_dict),
    )


def unmatched_pages(*, limit: int | None) -> Callable[[str | None], Call[PageData[UnmatchedWebhook]]]:
    return lambda _cursor: unmatched_list(limit)


def _query(q: Mapping[str, object]) -> dict[str, str | int | bool | None]:
    out: dict[str, str | int | bool | None] = {}
    for k, v in q.items():
        if v is None or isinstance(v, (str, int, bool)):
            out[k] = v
        else:
            raise TypeError(f"query parameter {k!r} must be a string or an integer")
    return out
