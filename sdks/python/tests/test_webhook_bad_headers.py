"""The bad-header table shared with the Node SDK (sdks/node/test/webhook.test.ts, "bad headers:
the table shared with the Python SDK"): the same cases by the same names, one defect each, and
the same error class name in both SDKs. Python may raise a more specific subclass (e.g.
``WebhookTimestampTooOldError``), always an instance of the named class."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payment_orchestrator import Webhook, WebhookVerificationError, errors

SECRET = "whsec_deNBX1rNhVB82yDA0ttry1Yakpbc3sfy"
OTHER = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_700_000_000
MSG_ID = "evt_01TEST"
EVENT = json.dumps(
    {"id": MSG_ID, "type": "payment.succeeded", "livemode": False, "created_at": "2023-11-14T22:13:20Z",
     "data": {"id": "pay_1", "status": "succeeded", "amount": 1990, "version": 2}},
    separators=(",", ":"),
)
WH = Webhook(SECRET)
SIG = WH.sign(MSG_ID, NOW, EVENT)


def headers(msg_id: str, ts: int, sig: str) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


GOOD = headers(MSG_ID, NOW, SIG)


def without(name: str) -> dict[str, str]:
    return {k: v for k, v in GOOD.items() if k != name}


CASES: list[tuple[str, str | None, dict[str, str], str]] = [
    ("missing webhook-id", None, without("webhook-id"), "WebhookHeaderError"),
    ("missing webhook-timestamp", None, without("webhook-timestamp"), "WebhookHeaderError"),
    ("missing webhook-signature", None, without("webhook-signature"), "WebhookHeaderError"),
    ("empty webhook-signature", None, {**GOOD, "webhook-signature": ""}, "WebhookHeaderError"),
    ("timestamp not an integer", None, {**GOOD, "webhook-timestamp": "12a"}, "WebhookHeaderError"),
    ("signature without a version", None, {**GOOD, "webhook-signature": "abc"}, "WebhookHeaderError"),
    ("signature not base64", None, {**GOOD, "webhook-signature": "v1,!!!"}, "WebhookHeaderError"),
    ("signature of the wrong length", None, {**GOOD, "webhook-signature": "v1,AAAA"}, "WebhookHeaderError"),
    ("only another scheme", None, {**GOOD, "webhook-signature": "v1a," + SIG[3:]}, "WebhookHeaderError"),
    ("expired timestamp", None, headers(MSG_ID, NOW - 301, WH.sign(MSG_ID, NOW - 301, EVENT)), "WebhookTimestampError"),
    (
        "timestamp too far in the future",
        None,
        headers(MSG_ID, NOW + 301, WH.sign(MSG_ID, NOW + 301, EVENT)),
        "WebhookTimestampError",
    ),
    ("wrong secret", None, headers(MSG_ID, NOW, Webhook(OTHER).sign(MSG_ID, NOW, EVENT)), "WebhookSignatureError"),
    ("altered body", EVENT.replace("succeeded", "failed"), GOOD, "WebhookSignatureError"),
    ("altered webhook-id", None, {**GOOD, "webhook-id": "evt_02OTHER"}, "WebhookSignatureError"),
]


def test_the_untouched_delivery_verifies() -> None:
    """So that each case below fails for its one defect only."""
    assert WH.verify(EVENT, GOOD, now=NOW).webhook_id == MSG_ID


@pytest.mark.parametrize(("name", "body", "hdrs", "error"), CASES, ids=[c[0] for c in CASES])
def test_bad_headers(name: str, body: str | None, hdrs: dict[str, str], error: str) -> None:
    expected: Any = getattr(errors, error)
    assert issubclass(expected, WebhookVerificationError), error
    with pytest.raises(WebhookVerificationError) as caught:
        WH.verify(body if body is not None else EVENT, hdrs, now=NOW)
    assert isinstance(caught.value, expected), f"{name}: {type(caught.value).__name__}: {caught.value}"


def test_the_shared_base_name() -> None:
    """Both SDKs call the base class ``WebhookVerificationError`` (exported at the top level)."""
    assert WebhookVerificationError is errors.WebhookVerificationError
    assert WebhookVerificationError.__name__ == "WebhookVerificationError"
