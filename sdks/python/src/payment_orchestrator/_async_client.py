"""The asyncio client: the same core as :class:`Client`; only sending and sleeping differ."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import httpx

from . import _resources_async
from ._base import (
    _UNSET,
    OPERATOR_KEY_ENV,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_DELAY,
    DEFAULT_TIMEOUT,
    BaseClient,
)
from ._calls import PageData
from ._core import Call, CallState, Done, OnRetry
from .pagination import AsyncPage, AsyncPageRequest

T = TypeVar("T")


Self = TypeVar("Self", bound="_AsyncClient")


class _AsyncClient(BaseClient):
    """Sending, retrying and paging for :class:`AsyncClient` and :class:`AsyncOperatorClient`."""

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
        raise NotImplementedError

    def with_options(
        self: Self,
        *,
        max_retries: int = _UNSET,
        timeout: float = _UNSET,
        connect_timeout: float = _UNSET,
        deadline: float | None = _UNSET,
        max_retry_delay: float = _UNSET,
        on_retry: OnRetry | None = _UNSET,
    ) -> Self:
        """A client with some settings changed, sharing this one's connections."""
        clone = object.__new__(type(self))
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

    async def __aenter__(self: Self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncClient(_AsyncClient):
    """Asyncio client for a tenant key; see :class:`Client` for the settings and defaults.
    ``on_retry`` may be a plain function or a coroutine function. Use ``async with`` (or
    ``await client.close()``)."""

    def _init_resources(self) -> None:
        r = _resources_async
        self.payments = r.AsyncPayments(self)
        self.refunds = r.AsyncRefunds(self)
        self.routing = r.AsyncRoutingResource(self)
        self.gateways = r.AsyncGateways(self)
        self.gateway_credentials = r.AsyncGatewayCredentialsResource(self)
        self.events = r.AsyncEvents(self)
        self.unmatched_webhooks = r.AsyncUnmatchedWebhooks(self)
        self.webhook_endpoint = r.AsyncWebhookEndpointResource(self)
        self.webhook_secrets = r.AsyncWebhookSecretsResource(self)
        self.usage = r.AsyncUsageResource(self)
        self.api_keys = r.AsyncApiKeys(self)
        self.audit = r.AsyncAudit(self)
        self.reconciliation = r.AsyncReconciliation(self)
        self.settings = r.AsyncSettingsResource(self)


class AsyncOperatorClient(_AsyncClient):
    """Asyncio client for the operator key: ``tenants.create/list/update`` (env
    ``ORCHESTRATOR_OPERATOR_KEY`` by default)."""

    _key_env = OPERATOR_KEY_ENV

    def _init_resources(self) -> None:
        self.tenants = _resources_async.AsyncTenants(self)
