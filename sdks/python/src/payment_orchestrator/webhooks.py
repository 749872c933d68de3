"""Verification of the orchestrator's callbacks (Standard Webhooks v1, symmetric).

Signed content is ``f"{webhook-id}.{webhook-timestamp}."`` followed by the raw body; the key is
the base64 part of ``whsec_<base64>``; ``webhook-signature`` holds one or more space-separated
``v1,<base64 HMAC-SHA256>`` entries (one per active secret during a rotation).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets as _secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Union

from . import errors
from .types import WebhookEvent

__all__ = ["Webhook", "DEFAULT_TOLERANCE"]

DEFAULT_TOLERANCE = 300
"""Seconds a timestamp may be away from now, in either direction."""

Headers = Union[Mapping[str, Any], Iterable[tuple[str, str]]]
Payload = Union[bytes, bytearray, memoryview, str]

_RAW_BODY_HINT = (
    "pass the raw request body exactly as received (bytes or str), not parsed JSON: "
    "FastAPI/Starlette `await request.body()`, Flask `request.get_data()`, "
    "Django `request.body`"
)


def _decode_secret(secret: str) -> bytes:
    if not isinstance(secret, str):
        raise errors.WebhookSecretError("the signing secret must be a string (whsec_...)")
    s = secret.strip()
    if s != secret:
        raise errors.WebhookSecretError("the signing secret has surrounding whitespace")
    if s.startswith("whsec_"):
        s = s[len("whsec_") :]
    if not s:
        raise errors.WebhookSecretError("the signing secret is empty")
    try:
        key = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise errors.WebhookSecretError(
            "the signing secret must be `whsec_` followed by base64"
        ) from None
    if not key:
        raise errors.WebhookSecretError("the signing secret is empty")
    return key


def _b64decode_loose(s: str) -> bytes | None:
    """Standard base64, padding optional; ``None`` if malformed."""
    if not s:
        return None
    padded = s + "=" * (-len(s) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _header(headers: Headers, name: str) -> str | None:
    if isinstance(headers, (str, bytes)):
        raise errors.WebhookHeaderError("headers must be a mapping of header name to value")
    items: Iterable[Any]
    items_fn = getattr(headers, "items", None)
    if callable(items_fn):
        items = items_fn()
    else:
        items = headers
    found: list[str] = []
    try:
        for pair in items:
            if isinstance(pair, (str, bytes)) or len(pair) != 2:
                raise TypeError("not a pair")
            k, v = pair[0], pair[1]
            if isinstance(k, bytes):
                k = k.decode("latin-1")
            if not isinstance(k, str) or k.lower() != name:
                continue
            if isinstance(v, bytes):
                v = v.decode("latin-1")
            if isinstance(v, (list, tuple)):
                found.extend(str(x) for x in v)
            elif v is not None:
                found.append(str(v))
    except (TypeError, ValueError):
        raise errors.WebhookHeaderError(
            "headers must be a mapping (or pairs) of header name to value"
        ) from None
    if not found:
        return None
    return " ".join(found)


def _raw_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, (bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    raise errors.WebhookRawBodyError(
        f"the body is a {type(payload).__name__}: {_RAW_BODY_HINT}"
    )


class Webhook:
    """Verifies (and, for tests, signs) callbacks.

    ``Webhook("whsec_...")`` or ``Webhook(["whsec_new...", "whsec_old..."])`` while rotating.
    """

    def __init__(self, secret: str | Sequence[str]) -> None:
        secrets = [secret] if isinstance(secret, str) else list(secret)
        if not secrets:
            raise errors.WebhookSecretError("give at least one signing secret")
        self._keys = [_decode_secret(s) for s in secrets]

    def __repr__(self) -> str:
        return f"Webhook(secrets={len(self._keys)})"

    # --- signing (for merchants' tests) ---------------------------------------------------

    def _signature(self, key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
        return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()

    def sign(self, msg_id: str, timestamp: int | datetime, payload: Payload) -> str:
        """The ``webhook-signature`` value: one ``v1,<base64>`` per secret, space-separated."""
        ts = int(timestamp.timestamp()) if isinstance(timestamp, datetime) else int(timestamp)
        body = _raw_bytes(payload)
        return " ".join(
            "v1," + base64.b64encode(self._signature(k, msg_id, ts, body)).decode()
            for k in self._keys
        )

    def generate_headers(
        self,
        payload: Payload,
        *,
        msg_id: str | None = None,
        timestamp: int | datetime | None = None,
    ) -> dict[str, str]:
        """Headers of a correctly signed delivery of ``payload``, for tests."""
        mid = msg_id or f"evt_test_{_secrets.token_hex(8)}"
        ts = (
            int(time.time())
            if timestamp is None
            else int(timestamp.timestamp()) if isinstance(timestamp, datetime) else int(timestamp)
        )
        return {
            "webhook-id": mid,
            "webhook-timestamp": str(ts),
            "webhook-signature": self.sign(mid, ts, payload),
        }

    # --- verification ---------------------------------------------------------------------

    def verify(
        self,
        payload: Payload,
        headers: Headers,
        tolerance: int = DEFAULT_TOLERANCE,
        *,
        now: float | None = None,
    ) -> WebhookEvent:
        """Verifies a delivery and returns the event.

        ``payload`` must be the raw body (bytes or str). ``headers`` is any mapping (or list of
        pairs); names are matched case-insensitively. Raises a subclass of
        :class:`~payment_orchestrator.errors.WebhookVerificationError`:
        ``WebhookRawBodyError``, ``WebhookHeaderError``, ``WebhookSignatureError``,
        ``WebhookTimestampTooOldError`` / ``WebhookTimestampTooNewError`` (checked once the
        signature matched) or ``WebhookPayloadError``.
        """
        body = _raw_bytes(payload)
        if tolerance < 0:
            raise ValueError("tolerance must be >= 0")
        msg_id = _header(headers, "webhook-id")
        ts_text = _header(headers, "webhook-timestamp")
        sig_header = _header(headers, "webhook-signature")
        missing = [
            n
            for n, v in (
                ("webhook-id", msg_id),
                ("webhook-timestamp", ts_text),
                ("webhook-signature", sig_header),
            )
            if not v or not v.strip()
        ]
        if missing:
            raise errors.WebhookHeaderError(f"missing header(s): {', '.join(missing)}")
        assert msg_id is not None and ts_text is not None and sig_header is not None
        ts_text = ts_text.strip()
        if not ts_text.isascii() or not ts_text.lstrip("-").isdigit() or len(ts_text) > 20:
            raise errors.WebhookHeaderError("webhook-timestamp must be an integer (Unix seconds)")
        timestamp = int(ts_text)

        candidates: list[bytes] = []
        malformed = 0
        for entry in sig_header.split():
            version, sep, value = entry.partition(",")
            if not sep:
                malformed += 1
                continue
            if version != "v1":
                continue  # another scheme (e.g. v1a): not ours to check
            decoded = _b64decode_loose(value)
            if decoded is None or len(decoded) != hashlib.sha256().digest_size:
                malformed += 1
                continue
            candidates.append(decoded)
        if not candidates:
            detail = f" ({malformed} malformed entr{'y' if malformed == 1 else 'ies'})" if malformed else ""
            raise errors.WebhookHeaderError(
                f"webhook-signature has no well-formed `v1,<base64>` signature{detail}"
            )

        matched = False
        for key in self._keys:
            expected = self._signature(key, msg_id, timestamp, body)
            for cand in candidates:
                if hmac.compare_digest(expected, cand):
                    matched = True
        if not matched:
            raise errors.WebhookSignatureError(
                "no signature matched: the body, webhook-id or webhook-timestamp was changed "
                "after signing, or the secret is not the one the sender uses "
                "(also check that the body is the raw bytes, not re-serialized JSON)"
            )

        current = time.time() if now is None else now
        if current - timestamp > tolerance:
            raise errors.WebhookTimestampTooOldError(
                f"webhook-timestamp is {int(current - timestamp)}s old (tolerance {tolerance}s)"
            )
        if timestamp - current > tolerance:
            raise errors.WebhookTimestampTooNewError(
                f"webhook-timestamp is {int(timestamp - current)}s in the future "
                f"(tolerance {tolerance}s): check the clock"
            )

        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise errors.WebhookPayloadError("the signed body is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise errors.WebhookPayloadError("the signed body is not an event object")
        event_data = data.get("data")
        return WebhookEvent(
            id=data["id"] if isinstance(data.get("id"), str) else msg_id,
            type=data["type"],
            livemode=data.get("livemode") is True,
            created_at=data["created_at"] if isinstance(data.get("created_at"), str) else "",
            data=event_data if isinstance(event_data, dict) else {},
            webhook_id=msg_id,
            timestamp=timestamp,
            raw=data,
        )
