"""Configuration handling shared by both clients."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ._core import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_DELAY,
    DEFAULT_TIMEOUT,
    API_KEY_ENV,
    OPERATOR_KEY_ENV,
    OnRetry,
    Options,
    Secret,
    resolve_api_key,
    resolve_base_url,
)

_UNSET: Any = object()


class BaseClient:
    _api_key: Secret
    _options: Options
    _key_env: str = API_KEY_ENV
    """The environment variable read when no ``api_key`` is passed."""

    def _configure(
        self,
        api_key: str | None,
        base_url: str | None,
        max_retries: int,
        timeout: float,
        connect_timeout: float,
        deadline: float | None,
        max_retry_delay: float,
        on_retry: OnRetry | None,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        self._api_key = resolve_api_key(api_key, self._key_env)
        self._options = Options(
            base_url=resolve_base_url(base_url),
            max_retries=max_retries,
            timeout=timeout,
            connect_timeout=connect_timeout,
            deadline=deadline,
            max_retry_delay=max_retry_delay,
            on_retry=on_retry,
            default_headers=dict(default_headers or {}),
        )

    @property
    def base_url(self) -> str:
        return self._options.base_url

    @property
    def max_retries(self) -> int:
        return self._options.max_retries

    @property
    def timeout(self) -> float:
        return self._options.timeout

    def _changed_options(self, **changes: Any) -> Options:
        return dataclasses.replace(
            self._options, **{k: v for k, v in changes.items() if v is not _UNSET}
        )

    def __repr__(self) -> str:
        o = self._options
        return (
            f"{type(self).__name__}(base_url={o.base_url!r}, api_key='**********', "
            f"max_retries={o.max_retries}, timeout={o.timeout})"
        )


__all__ = [
    "BaseClient",
    "_UNSET",
    "OPERATOR_KEY_ENV",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_DELAY",
    "DEFAULT_TIMEOUT",
]
