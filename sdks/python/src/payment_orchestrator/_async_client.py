"""The asyncio client: the same core as :class:`Client`; only sending and sleeping differ."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
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
from .pagination import AsyncPage, AsyncPageRequest
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


class AsyncClient(BaseClient):
    """Asyncio client; see :class:`Client` for the settings. ``on_retry`` may be a plain
    function or a coroutine function. Use ``async with`` (or ``await client.close()``)."""

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
        http_client: httpx.AsyncClient | None = None,
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
        self._http = http_client or httpx.AsyncClient(follow_redirects=False)
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._init_resources()

    def _init_resources(self) -> None:
        self.payments = AsyncPayments(self)
        self.refunds = AsyncRefunds(self)
        self.routing = AsyncRoutingResource(self)
        self.gateways = AsyncGateways(self)
        self.events = AsyncEvents(self)
        self.unmatched_webhooks = AsyncUnmatchedWebhooks(self)

    def with_options(
        self,
        *,
        max_retries: int = _UNSET,
        timeout: float = _UNSET,
        connect_timeout: float = _UNSET,
        deadline: float | None = _UNSET,
        max_retry_delay: float = _UNSET,
        on_retry: OnRetry | None = _UNSET,
    ) -> AsyncClient:
        """A client with some settings changed, sharing this one's connections."""
        clone = object.__new__(AsyncClient)
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

    async def request(self, call: Call[T]) -> T:
        """Runs one logical call with retries (the resources build the ``Call``)."""
        state = CallState(call, self._options, self._api_key)
        while True:
            request = state.next_request()
            try:
                response = await self._http.send(request)
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            except Exception as exc:  # noqa: BLE001 - mapped (or re-raised) by the core
                outcome = state.on_exception(exc)
            else:
                result = state.on_response(response)
                if isinstance(result, Done):
                    return result.value
                outcome = result
            if self._options.on_retry is not None:
                ret = self._options.on_retry(outcome.info)
                if inspect.isawaitable(ret):
                    await ret
            await self._sleep(outcome.delay)

    async def _page(
        self, call_for: Callable[[str | None], Call[PageData[T]]], cursor: str | None
    ) -> AsyncPage[T]:
        data = await self.request(call_for(cursor))
        return AsyncPage(data, lambda c: self._page(call_for, c))

    def _pages(
        self, call_for: Callable[[str | None], Call[PageData[T]]], cursor: str | None
    ) -> AsyncPageRequest[T]:
        return AsyncPageRequest(lambda: self._page(call_for, cursor))

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _AsyncResource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class AsyncPayments(_AsyncResource):
    async def create(
        self, params: PaymentCreateParams, *, idempotency_key: str | None = None
    ) -> Payment:
        """Creates a payment (201). Without ``idempotency_key`` a UUIDv4 is generated for this
        call and reused by its retries; read it back as ``payment.idempotency_key``."""
        return await self._client.request(_calls.payment_create(params, idempotency_key))

    async def retrieve(self, payment_id: str) -> Payment:
        return await self._client.request(_calls.payment_retrieve(payment_id))

    async def refresh(self, payment_id: str) -> Payment:
        """Re-syncs a non-final payment from its gateway (``?refresh=true``; reads only)."""
        return await self._client.request(_calls.payment_retrieve(payment_id, refresh=True))

    def list(
        self,
        *,
        limit: int | None = None,
        reference: str | None = None,
        status: str | None = None,
        starting_after: str | None = None,
    ) -> AsyncPageRequest[Payment]:
        """``await`` it for the first page, or ``async for`` over it (or over the awaited page)
        for every item. ``limit`` is the page size (1-100)."""
        pages = _calls.payment_pages(limit=limit, reference=reference, status=status)
        return self._client._pages(pages, starting_after)


class AsyncRefunds(_AsyncResource):
    async def create(
        self,
        payment_id: str,
        params: RefundCreateParams | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Refund:
        return await self._client.request(
            _calls.refund_create(payment_id, params, idempotency_key)
        )


class AsyncRoutingResource(_AsyncResource):
    async def update(self, routing: RoutingParams) -> Routing:
        return await self._client.request(_calls.routing_update(routing))


class AsyncGateways(_AsyncResource):
    async def list(self) -> GatewayList:
        return await self._client.request(_calls.gateways_list())


class AsyncEvents(_AsyncResource):
    def list(
        self,
        *,
        limit: int | None = None,
        type: str | None = None,  # noqa: A002 - the API's parameter name
        payment_id: str | None = None,
        starting_after: str | None = None,
    ) -> AsyncPageRequest[Event]:
        pages = _calls.event_pages(limit=limit, type=type, payment_id=payment_id)
        return self._client._pages(pages, starting_after)

    async def retrieve(self, event_id: str) -> Event:
        return await self._client.request(_calls.event_retrieve(event_id))

    async def resend(self, event_id: str, *, idempotency_key: str | None = None) -> Event:
        return await self._client.request(_calls.event_resend(event_id, idempotency_key))


class AsyncUnmatchedWebhooks(_AsyncResource):
    def list(self, *, limit: int | None = None) -> AsyncPageRequest[UnmatchedWebhook]:
        return self._client._pages(_calls.unmatched_pages(limit=limit), None)
