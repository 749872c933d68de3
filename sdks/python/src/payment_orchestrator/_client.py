"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import httpx

from . import _calls
from ._base import (
    _UNSET,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_DELAY,
    DEFAULT_TIMEOUT,
    BaseClient,
)
from ._calls import PageData
from ._core import Call, CallState, Done, OnRetry
from .pagination import Page
from .types import (
    Event,
    GatewayList,
    Payment,
    PaymentCreateParams,
    Refund,
    RefundCreateParams,
    Routing,
    RoutingParams,
    UnmatchedWebhook,
)

T = TypeVar("T")


class Client(BaseClient):
    """Synchronous client. Use it as a context manager (or call :meth:`close`).

    ``max_retries`` retries (2 by default) are made for connection errors, timeouts, 408, 429,
    500, 503, 504 and 409 ``idempotency_key_in_use``, with one ``Idempotency-Key`` per logical
    call. ``timeout`` is per attempt (connect ``connect_timeout``); ``deadline`` optionally
    bounds the whole call including retries and waits.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        deadline: float | None = None,
        max_retry_delay: float = DEFAULT_MAX_RETRY_DELAY,
        on_retry: OnRetry | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._configure(
            api_key,
            base_url,
            max_retries,
            timeout,
            connect_timeout,
            deadline,
            max_retry_delay,
            on_retry,
            default_headers,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(follow_redirects=False)
        self._sleep: Callable[[float], None] = time.sleep
        self._init_resources()

    def _init_resources(self) -> None:
        self.payments = Payments(self)
        self.refunds = Refunds(self)
        self.routing = RoutingResource(self)
        self.gateways = Gateways(self)
        self.events = Events(self)
        self.unmatched_webhooks = UnmatchedWebhooks(self)

    def with_options(
        self,
        *,
        max_retries: int = _UNSET,
        timeout: float = _UNSET,
        connect_timeout: float = _UNSET,
        deadline: float | None = _UNSET,
        max_retry_delay: float = _UNSET,
        on_retry: OnRetry | None = _UNSET,
    ) -> Client:
        """A client with some settings changed, sharing this one's connections."""
        clone = object.__new__(Client)
        clone._api_key = self._api_key
        clone._options = self._changed_options(
            max_retries=max_retries,
            timeout=timeout,
            connect_timeout=connect_timeout,
            deadline=deadline,
            max_retry_delay=max_retry_delay,
            on_retry=on_retry,
        )
        clone._owns_http = False
        clone._http = self._http
        clone._sleep = self._sleep
        clone._init_resources()
        return clone

    def request(self, call: Call[T]) -> T:
        """Runs one logical call with retries (the resources build the ``Call``)."""
        state = CallState(call, self._options, self._api_key)
        while True:
            request = state.next_request()
            try:
                response = self._http.send(request)
                try:
                    response.read()
                finally:
                    response.close()
            except Exception as exc:  # noqa: BLE001 - mapped (or re-raised) by the core
                outcome = state.on_exception(exc)
            else:
                result = state.on_response(response)
                if isinstance(result, Done):
                    return result.value
                outcome = result
            if self._options.on_retry is not None:
                self._options.on_retry(outcome.info)
            self._sleep(outcome.delay)

    def _page(self, call_for: Callable[[str | None], Call[PageData[T]]], cursor: str | None) -> Page[T]:
        data = self.request(call_for(cursor))
        return Page(data, lambda c: self._page(call_for, c))

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class Payments(_Resource):
    def create(self, params: PaymentCreateParams, *, idempotency_key: str | None = None) -> Payment:
        """Creates a payment (201). Without ``idempotency_key`` a UUIDv4 is generated for this
        call and reused by its retries; read it back as ``payment.idempotency_key``."""
        return self._client.request(_calls.payment_create(params, idempotency_key))

    def retrieve(self, payment_id: str) -> Payment:
        return self._client.request(_calls.payment_retrieve(payment_id))

    def refresh(self, payment_id: str) -> Payment:
        """Re-syncs a non-final payment from its gateway (``?refresh=true``; reads only)."""
        return self._client.request(_calls.payment_retrieve(payment_id, refresh=True))

    def list(
        self,
        *,
        limit: int | None = None,
        reference: str | None = None,
        status: str | None = None,
        starting_after: str | None = None,
    ) -> Page[Payment]:
        """Newest first. ``limit`` is the page size (1-100); iterate the page for every item."""
        pages = _calls.payment_pages(limit=limit, reference=reference, status=status)
        return self._client._page(pages, starting_after)


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


class Events(_Resource):
    def list(
        self,
        *,
        limit: int | None = None,
        type: str | None = None,  # noqa: A002 - the API's parameter name
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
