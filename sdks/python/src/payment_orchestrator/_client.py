"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import httpx

from . import _resources_sync
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
from .pagination import Page

T = TypeVar("T")


Self = TypeVar("Self", bound="_SyncClient")


class _SyncClient(BaseClient):
    """Sending, retrying and paging for :class:`Client` and :class:`OperatorClient`."""

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

    def __enter__(self: Self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()




class Client(_SyncClient):
    """Synchronous client for a tenant key (``sk_test_…`` / ``sk_live_…``). Use it as a
    context manager (or call :meth:`close`).

    ``api_key`` defaults to env ``ORCHESTRATOR_API_KEY``; ``base_url`` to env
    ``ORCHESTRATOR_BASE_URL``, else ``http://127.0.0.1:8080`` (the dev server). A malformed
    ``base_url`` raises :class:`~payment_orchestrator.errors.ConfigurationError` here, not at
    the first call. ``max_retries`` retries (2 by default) are made for connection errors,
    timeouts, 408, 429, 500, 503, 504 and 409 ``idempotency_key_in_use``, with one
    ``Idempotency-Key`` per logical call. ``timeout`` is per attempt (connect
    ``connect_timeout``); ``deadline`` optionally bounds the whole call including retries.
    """

    def _init_resources(self) -> None:
        r = _resources_sync
        self.payments = r.Payments(self)
        self.refunds = r.Refunds(self)
        self.routing = r.RoutingResource(self)
        self.gateways = r.Gateways(self)
        self.gateway_credentials = r.GatewayCredentialsResource(self)
        self.events = r.Events(self)
        self.unmatched_webhooks = r.UnmatchedWebhooks(self)
        self.webhook_endpoint = r.WebhookEndpointResource(self)
        self.webhook_secrets = r.WebhookSecretsResource(self)
        self.usage = r.UsageResource(self)
        self.api_keys = r.ApiKeys(self)
        self.audit = r.Audit(self)
        self.reconciliation = r.Reconciliation(self)
        self.settings = r.SettingsResource(self)


class OperatorClient(_SyncClient):
    """Synchronous client for the operator key (``/v1/admin``): ``tenants.create/list/update``.

    ``api_key`` defaults to env ``ORCHESTRATOR_OPERATOR_KEY``; everything else is as
    :class:`Client`.
    """

    _key_env = OPERATOR_KEY_ENV

    def _init_resources(self) -> None:
        self.tenants = _resources_sync.Tenants(self)

