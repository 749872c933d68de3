"""Every exception the SDK raises derives from :class:`PaymentOrchestratorError`.

Three branches:

* :class:`APIError` - the server answered with an error status. The class is chosen from the
  body's ``error.type`` and ``error.code`` first, then from the HTTP status.
* :class:`APIConnectionError` (and :class:`APITimeoutError`) - no usable answer arrived.
* :class:`WebhookVerificationError` - a callback failed verification.

Every error carries the same fields (``None`` when they do not apply): ``status``, ``type``,
``code``, ``param``, ``message``, ``request_id``, ``idempotency_key``, ``headers``, ``body``
(raw text), ``json_body`` (parsed), ``attempts`` and ``retryable``. Keep ``idempotency_key``:
repeating the call with it (within 24 h) can never create a second payment or refund.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .literals import ErrorCode, ErrorType

__all__ = [
    "PaymentOrchestratorError",
    "ConfigurationError",
    "APIError",
    "BadRequestError",
    "InvalidRequestError",
    "InvalidStateError",
    "AuthenticationError",
    "NotFoundError",
    "IdempotencyError",
    "IdempotencyKeyInvalidError",
    "IdempotencyKeyInUseError",
    "IdempotencyKeyReusedError",
    "RateLimitError",
    "GatewayError",
    "InternalServerError",
    "ServiceUnavailableError",
    "UnexpectedResponseError",
    "APIConnectionError",
    "APITimeoutError",
    "WebhookVerificationError",
    "WebhookSecretError",
    "WebhookHeaderError",
    "WebhookRawBodyError",
    "WebhookSignatureError",
    "WebhookTimestampError",
    "WebhookTimestampTooOldError",
    "WebhookTimestampTooNewError",
    "WebhookPayloadError",
]


def _as_enum(value: str | None) -> Any:
    """A string from the server, typed by the attribute it is stored in (never rejected)."""
    return value


class PaymentOrchestratorError(Exception):
    """Base class of every error raised by this SDK."""

    message: str
    status: int | None
    type: ErrorType | None
    """``error.type``; typed with the spec's enum so a misspelt comparison fails mypy."""
    code: ErrorCode | None
    """``error.code``; a code the server adds later still arrives as its string."""
    param: str | None
    request_id: str | None
    idempotency_key: str | None
    headers: dict[str, str]
    body: str | None
    json_body: Any
    attempts: int
    retryable: bool

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,  # noqa: A002 - mirrors the API's field name
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
        json_body: Any = None,
        attempts: int = 0,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = _as_enum(type)
        self.code = _as_enum(code)
        self.param = param
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.headers = dict(headers or {})
        self.body = body
        self.json_body = json_body
        self.attempts = attempts
        self.retryable = retryable

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(str(self.status))
        if self.code:
            parts.append(self.code)
        head = " ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        extra = []
        if self.param:
            extra.append(f"param={self.param}")
        if self.request_id:
            extra.append(f"request_id={self.request_id}")
        if self.idempotency_key:
            extra.append(f"idempotency_key={self.idempotency_key}")
        return f"{text} ({', '.join(extra)})" if extra else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, type={self.type!r}, "
            f"code={self.code!r}, message={self.message!r}, request_id={self.request_id!r}, "
            f"idempotency_key={self.idempotency_key!r})"
        )


class ConfigurationError(PaymentOrchestratorError, ValueError):
    """The client was built with a bad setting (no API key, a malformed ``base_url``): raised
    by the constructor, before any request. Also a ``ValueError``."""


# --- the server answered with an error ---------------------------------------------------------


class APIError(PaymentOrchestratorError):
    """The server answered with a non-2xx status."""


class BadRequestError(APIError):
    """A 4xx the SDK has no more specific class for."""


class InvalidRequestError(BadRequestError):
    """``type: invalid_request`` (400, 405, 413, 422). ``param`` names the offending field."""


class InvalidStateError(InvalidRequestError):
    """422 ``invalid_state``: e.g. a refund of a payment that has not succeeded."""


class AuthenticationError(APIError):
    """401: missing or unknown API key."""


class NotFoundError(APIError):
    """404 ``resource_missing``: unknown id (or another tenant's), or unknown route."""


class IdempotencyError(APIError):
    """``type: idempotency``."""


class IdempotencyKeyInvalidError(IdempotencyError):
    """400 ``idempotency_key_invalid``: the key is empty, too long or not printable ASCII."""


class IdempotencyKeyInUseError(IdempotencyError):
    """409 ``idempotency_key_in_use``: the first request with this key is still running.

    Retried automatically; raised only when the retries ran out.
    """


class IdempotencyKeyReusedError(IdempotencyError):
    """422 ``idempotency_key_reused``: the key was used before with a different body."""


class RateLimitError(APIError):
    """429: too many requests. Retried automatically."""


class GatewayError(APIError):
    """502 ``type: gateway``: every gateway failed and none created a charge.

    Not retried automatically; retrying later with the same ``idempotency_key`` is safe.
    """


class InternalServerError(APIError):
    """``type: internal`` or a 5xx without a more specific class."""


class ServiceUnavailableError(InternalServerError):
    """503 ``dependency_unavailable``: a store is down. Retried automatically."""


class UnexpectedResponseError(APIError):
    """A 2xx whose body is not the JSON the SDK expects."""


# --- no usable answer -------------------------------------------------------------------------


class APIConnectionError(PaymentOrchestratorError):
    """No answer arrived: the connection failed, was reset or closed before a response.

    The request may or may not have reached the server. Repeating it with
    ``idempotency_key`` is safe.
    """


class APITimeoutError(APIConnectionError):
    """The attempt (or the overall ``deadline``) timed out."""


# --- webhooks -------------------------------------------------------------------------------


class WebhookVerificationError(PaymentOrchestratorError):
    """A callback failed verification. Answer the sender with 400 and do not act on it."""


class WebhookSecretError(WebhookVerificationError, ValueError):
    """The configured signing secret is not ``whsec_`` + base64 (a configuration mistake)."""


class WebhookHeaderError(WebhookVerificationError):
    """A required header (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) is
    missing or malformed, or the signature header holds no well-formed ``v1`` entry."""


class WebhookRawBodyError(WebhookVerificationError, TypeError):
    """The body was given already parsed (dict/list/...) instead of the raw bytes or text."""


class WebhookSignatureError(WebhookVerificationError):
    """No signature matched: the body (or id or timestamp) was changed after signing, or the
    secret is not the one the sender signs with. HMAC cannot tell these two apart."""


class WebhookTimestampError(WebhookVerificationError):
    """The signature matched but ``webhook-timestamp`` is outside the tolerance."""


class WebhookTimestampTooOldError(WebhookTimestampError):
    """The timestamp is older than the tolerance (a replay, or a very late delivery)."""


class WebhookTimestampTooNewError(WebhookTimestampError):
    """The timestamp is further in the future than the tolerance (check the clock)."""


class WebhookPayloadError(WebhookVerificationError):
    """The signature is valid but the body is not the expected JSON event."""
