"""The transport-free core shared by :class:`Client` and :class:`AsyncClient`.

Everything that decides anything lives here as plain functions and classes: building the
request, the idempotency key, which outcomes are retried and after how long, mapping error
bodies to exception classes and parsing results. The two clients only differ in how they send
a request (``httpx.Client.send`` / ``await httpx.AsyncClient.send``) and how they sleep.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import platform
import random
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx

from . import errors
from ._version import __version__
from .types import ResponseMeta

logger = logging.getLogger("payment_orchestrator")

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_MAX_RETRIES = 2
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_RETRY_DELAY = 60.0
INITIAL_RETRY_DELAY = 0.5
MAX_BACKOFF = 8.0

RETRYABLE_STATUSES = frozenset({408, 429, 500, 503, 504})
"""Statuses retried by default. 409 is retried only for ``idempotency_key_in_use``; 400, 401,
404, 413, 422 and 502 (a stored gateway outcome) never are."""

API_KEY_ENV = "ORCHESTRATOR_API_KEY"
OPERATOR_KEY_ENV = "ORCHESTRATOR_OPERATOR_KEY"
BASE_URL_ENV = "ORCHESTRATOR_BASE_URL"


def user_agent() -> str:
    return (
        f"payment-orchestrator-python/{__version__} "
        f"{platform.python_implementation()}/{platform.python_version()} "
        f"{platform.system() or 'unknown'}/{platform.machine() or 'unknown'}"
    )


def new_idempotency_key() -> str:
    """A fresh UUIDv4, used when the caller gives no key."""
    return str(uuid.uuid4())


class Secret:
    """Holds the API key so that no ``repr``, ``str``, ``vars()`` or log line shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # never pickle the key along with a client
        raise TypeError("the API key is not picklable")


@dataclass(frozen=True, kw_only=True)
class RetryInfo:
    """Given to ``on_retry`` before the SDK sleeps and sends the same request again."""

    method: str
    path: str
    attempt: int
    """The attempt that just failed (1-based)."""
    max_retries: int
    delay: float
    """Seconds the SDK waits before the next attempt."""
    idempotency_key: str | None
    error: errors.PaymentOrchestratorError


OnRetry = Callable[[RetryInfo], Any]


@dataclass(frozen=True, kw_only=True)
class Options:
    """Per-client settings; ``with_options`` copies them with some changed."""

    base_url: str
    max_retries: int = DEFAULT_MAX_RETRIES
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    deadline: float | None = None
    max_retry_delay: float = DEFAULT_MAX_RETRY_DELAY
    on_retry: OnRetry | None = None
    default_headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise errors.ConfigurationError("max_retries must be >= 0")
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise errors.ConfigurationError("timeouts must be > 0")
        if self.deadline is not None and self.deadline <= 0:
            raise errors.ConfigurationError("deadline must be > 0 (or None)")


def resolve_api_key(api_key: str | None, env: str = API_KEY_ENV) -> Secret:
    key = api_key if api_key is not None else os.environ.get(env)
    if not key or not key.strip():
        raise errors.ConfigurationError(f"an API key is required: pass api_key=... or set {env}")
    return Secret(key.strip())


def resolve_base_url(base_url: str | None) -> str:
    """The argument, else env ``ORCHESTRATOR_BASE_URL``, else the dev server; checked now so
    that a typo fails when the client is built, not on the first (maybe money-moving) call."""
    source = "base_url"
    url = base_url
    if not url:
        url, source = os.environ.get(BASE_URL_ENV), BASE_URL_ENV
    if not url:
        return DEFAULT_BASE_URL
    return validate_base_url(url, source)


def validate_base_url(url: str, source: str = "base_url") -> str:
    """``http(s)://host[:port][/prefix]`` without credentials, query or fragment; the trailing
    ``/`` is dropped. Raises :class:`errors.ConfigurationError` (a ``ValueError``)."""
    if not isinstance(url, str):
        raise errors.ConfigurationError(f"{source} must be a string, got {type(url).__name__}")
    if url != url.strip() or any(c.isspace() or ord(c) < 0x20 for c in url):
        raise errors.ConfigurationError(f"{source} {url!r} contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a non-numeric or out-of-range port
    except ValueError as e:
        raise errors.ConfigurationError(f"{source} {url!r} is not a valid URL: {e}") from None
    if parts.scheme not in ("http", "https"):
        raise errors.ConfigurationError(
            f"{source} {url!r} must start with http:// or https:// (e.g. http://127.0.0.1:8080)"
        )
    if not parts.hostname:
        raise errors.ConfigurationError(f"{source} {url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise errors.ConfigurationError(f"{source} must not carry credentials: pass api_key instead")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise errors.ConfigurationError(f"{source} {url!r} must not have a query or a fragment")
    del port
    return url.rstrip("/")


# --- a call, described without sending it --------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Call(Generic[T]):
    """One logical API call: what to send and how to read a successful answer."""

    method: str
    path: str
    parse: Callable[[Any, ResponseMeta], T]
    query: Mapping[str, str | int | bool | None] | None = None
    body: Any = None
    idempotency_key: str | None = None
    """Caller's key; a POST without one gets a generated key."""


def encode_query(query: Mapping[str, str | int | bool | None] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (query or {}).items():
        if v is None:
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup over any mapping."""
    v = headers.get(name)
    if v is not None:
        return v
    lname = name.lower()
    for k, val in headers.items():
        if k.lower() == lname:
            return val
    return None


def request_id_of(headers: Mapping[str, str], body: Any = None) -> str | None:
    rid = header_value(headers, "request-id") or header_value(headers, "x-request-id")
    if rid:
        return rid
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("request_id"), str):
            return str(err["request_id"])
    return None


# --- retry decisions ------------------------------------------------------------------------------


def should_retry_status(status: int, code: str | None, headers: Mapping[str, str]) -> bool:
    """Whether an error answer may be retried. An explicit ``x-should-retry`` wins."""
    hint = (header_value(headers, "x-should-retry") or "").strip().lower()
    if hint == "true":
        return True
    if hint == "false":
        return False
    if status == 409:
        return code == "idempotency_key_in_use"
    return status in RETRYABLE_STATUSES


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds asked by ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    ms = header_value(headers, "retry-after-ms")
    if ms:
        try:
            v = float(ms) / 1000.0
            if v >= 0:
                return v
        except ValueError:
            pass
    ra = header_value(headers, "retry-after")
    if not ra:
        return None
    ra = ra.strip()
    try:
        v = float(ra)
        return v if v >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(ra)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(retry_index: int, rand: Callable[[], float] = random.random) -> float:
    """0.5 s x 2^n, capped at 8 s, with 75-100 % jitter (``retry_index`` starts at 0)."""
    base: float = min(INITIAL_RETRY_DELAY * float(2 ** min(retry_index, 30)), MAX_BACKOFF)
    return base * (1.0 - 0.25 * rand())


def retry_delay(
    retry_index: int,
    headers: Mapping[str, str] | None,
    max_retry_delay: float,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """The wait before the next attempt, or ``None`` when the server asks for longer than
    ``max_retry_delay`` (then the error is raised rather than slept on)."""
    asked = parse_retry_after(headers) if headers else None
    if asked is not None:
        return asked if asked <= max_retry_delay else None
    return backoff_delay(retry_index, rand)


# --- error mapping -------------------------------------------------------------------------------


def error_class(status: int, type_: str | None, code: str | None) -> type[errors.APIError]:
    """The exception class for an error answer: by ``error.type``/``code``, then by status."""
    if status == 429 or type_ in ("rate_limited", "rate_limit"):
        return errors.RateLimitError
    if type_ == "idempotency":
        if code == "idempotency_key_in_use" or (code is None and status == 409):
            return errors.IdempotencyKeyInUseError
        if code == "idempotency_key_reused" or (code is None and status == 422):
            return errors.IdempotencyKeyReusedError
        if code == "idempotency_key_invalid" or (code is None and status == 400):
            return errors.IdempotencyKeyInvalidError
        return errors.IdempotencyError
    if type_ == "authentication":
        return errors.AuthenticationError
    if type_ == "not_found":
        return errors.NotFoundError
    if type_ == "gateway":
        return errors.GatewayError
    if type_ == "invalid_request":
        return errors.InvalidStateError if code == "invalid_state" else errors.InvalidRequestError
    if type_ == "internal":
        return errors.ServiceUnavailableError if status == 503 else errors.InternalServerError
    # Unknown or missing type: fall back to the status.
    if status == 401:
        return errors.AuthenticationError
    if status == 404:
        return errors.NotFoundError
    if status == 409 and code == "idempotency_key_in_use":
        return errors.IdempotencyKeyInUseError
    if status in (400, 405, 413, 422):
        return errors.InvalidStateError if code == "invalid_state" else errors.InvalidRequestError
    if status == 502:
        return errors.GatewayError
    if status == 503:
        return errors.ServiceUnavailableError
    if status >= 500:
        return errors.InternalServerError
    if 400 <= status < 500:
        return errors.BadRequestError
    return errors.APIError


def api_error(
    status: int,
    headers: Mapping[str, str],
    text: str,
    *,
    idempotency_key: str | None,
    attempts: int,
) -> errors.APIError:
    """Builds the exception for an error answer (any body, JSON or not)."""
    parsed: Any = None
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    err = parsed.get("error") if isinstance(parsed, dict) else None
    err = err if isinstance(err, dict) else {}
    type_ = err.get("type") if isinstance(err.get("type"), str) else None
    code = err.get("code") if isinstance(err.get("code"), str) else None
    param = err.get("param") if isinstance(err.get("param"), str) else None
    message = err.get("message") if isinstance(err.get("message"), str) else None
    if not message:
        snippet = text.strip()[:200]
        message = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    cls = error_class(status, type_, code)
    return cls(
        message,
        status=status,
        type=type_,
        code=code,
        param=param,
        request_id=request_id_of(headers, parsed),
        idempotency_key=idempotency_key,
        headers=headers,
        body=text,
        json_body=parsed,
        attempts=attempts,
        retryable=should_retry_status(status, code, headers),
    )


def _is_tls_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def connection_error(
    exc: Exception, *, idempotency_key: str | None, attempts: int
) -> errors.APIConnectionError:
    """Maps a transport exception. Timeouts, resets and connections closed before an answer
    (stale keep-alive sockets) are retryable; TLS and protocol-usage errors are not."""
    if isinstance(exc, httpx.TimeoutException):
        return errors.APITimeoutError(
            f"request timed out ({type(exc).__name__})",
            idempotency_key=idempotency_key,
            attempts=attempts,
            retryable=True,
        )
    retryable = isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)) and not _is_tls_error(
        exc
    )
    detail = str(exc) or type(exc).__name__
    return errors.APIConnectionError(
        f"connection error: {detail}",
        idempotency_key=idempotency_key,
        attempts=attempts,
        retryable=retryable,
    )


# --- one logical call, attempt by attempt ---------------------------------------------------------


@dataclass(frozen=True)
class Retry:
    delay: float
    info: RetryInfo


@dataclass(frozen=True)
class Done(Generic[T]):
    value: T


class CallState(Generic[T]):
    """The state of one logical call across its attempts. The clients drive it:

    ``req = state.next_request()``; send it; then ``state.on_response(resp)`` or
    ``state.on_exception(exc)`` answers ``Done`` (return it), ``Retry`` (sleep ``delay``, go
    again) or raises the final error.
    """

    def __init__(
        self,
        call: Call[T],
        options: Options,
        api_key: Secret,
        *,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.call = call
        self.options = options
        self._api_key = api_key
        self._clock = clock
        self._rand = rand
        self.method = call.method.upper()
        # Generated once per logical call, reused by every attempt.
        self.idempotency_key: str | None = call.idempotency_key
        if self.idempotency_key is None and self.method == "POST":
            self.idempotency_key = new_idempotency_key()
        if self.idempotency_key is not None:
            _check_key(self.idempotency_key)
        self.attempts = 0
        self.started = clock()

    def _remaining(self) -> float | None:
        if self.options.deadline is None:
            return None
        return self.options.deadline - (self._clock() - self.started)

    def next_request(self) -> httpx.Request:
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            raise errors.APITimeoutError(
                f"deadline of {self.options.deadline}s exceeded",
                idempotency_key=self.idempotency_key,
                attempts=self.attempts,
                retryable=True,
            )
        per_attempt = self.options.timeout if remaining is None else min(self.options.timeout, remaining)
        timeout = httpx.Timeout(per_attempt, connect=min(self.options.connect_timeout, per_attempt))
        headers: dict[str, str] = {
            "Accept": "application/json",
            "User-Agent": user_agent(),
            "X-Retry-Count": str(self.attempts),
            **self.options.default_headers,
            "Authorization": f"Bearer {self._api_key.reveal()}",
        }
        content: bytes | None = None
        if self.call.body is not None:
            content = json.dumps(self.call.body, separators=(",", ":"), ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if self.idempotency_key is not None:
            headers["Idempotency-Key"] = self.idempotency_key
        self.attempts += 1
        return httpx.Request(
            self.method,
            self.options.base_url + self.call.path,
            params=encode_query(self.call.query),
            headers=headers,
            content=content,
            extensions={"timeout": timeout.as_dict()},
        )

    def on_response(self, response: httpx.Response) -> Done[T] | Retry:
        headers = dict(response.headers.items())
        text = response.text
        status = response.status_code
        if 200 <= status < 300:
            try:
                body = json.loads(text) if text.strip() else {}
            except ValueError:
                raise errors.UnexpectedResponseError(
                    f"HTTP {status} with a body that is not JSON",
                    status=status,
                    request_id=request_id_of(headers),
                    idempotency_key=self.idempotency_key,
                    headers=headers,
                    body=text,
                    attempts=self.attempts,
                ) from None
            meta = ResponseMeta(
                status=status,
                request_id=request_id_of(headers, body),
                idempotency_key=self.idempotency_key,
                replayed=(header_value(headers, "idempotent-replayed") or "").lower() == "true",
                headers=headers,
            )
            return Done(self.call.parse(body, meta))
        err = api_error(
            status, headers, text, idempotency_key=self.idempotency_key, attempts=self.attempts
        )
        return self._retry_or_raise(err, headers)

    def on_exception(self, exc: Exception) -> Retry:
        if isinstance(exc, errors.PaymentOrchestratorError):
            raise exc
        if not isinstance(exc, httpx.TransportError):
            raise exc
        err = connection_error(exc, idempotency_key=self.idempotency_key, attempts=self.attempts)
        return self._retry_or_raise(err, None, cause=exc)

    def _retry_or_raise(
        self,
        err: errors.PaymentOrchestratorError,
        headers: Mapping[str, str] | None,
        cause: BaseException | None = None,
    ) -> Retry:
        if not err.retryable or self.attempts > self.options.max_retries:
            raise err from cause
        delay = retry_delay(self.attempts - 1, headers, self.options.max_retry_delay, self._rand)
        if delay is None:
            raise err from cause
        remaining = self._remaining()
        if remaining is not None and delay >= remaining:
            raise err from cause
        info = RetryInfo(
            method=self.method,
            path=self.call.path,
            attempt=self.attempts,
            max_retries=self.options.max_retries,
            delay=delay,
            idempotency_key=self.idempotency_key,
            error=err,
        )
        logger.info(
            "retrying %s %s in %.2fs (attempt %d of %d, idempotency_key=%s): %s",
            info.method,
            info.path,
            delay,
            info.attempt + 1,
            self.options.max_retries + 1,
            self.idempotency_key,
            err,
        )
        return Retry(delay, info)


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= 255 or any(not (0x20 <= ord(c) <= 0x7E) for c in key):
        raise ValueError("idempotency_key must be 1-255 printable ASCII characters")
