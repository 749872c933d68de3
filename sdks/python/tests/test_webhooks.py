"""Webhook verification: the server's vectors (shared/src/signing/standard_webhooks.rs) and a
cross-check against the official ``standardwebhooks`` package."""

from __future__ import annotations

import base64
import json
import os
import random
import time
from datetime import datetime, timezone

import httpx
import pytest
import standardwebhooks

from payment_orchestrator import Webhook, errors

# The vectors of the server's signing tests (upstream Standard Webhooks vectors).
VEC_A = ("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553,
         b'{"email":"test@example.com","username":"test_user"}', "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=")
VEC_B = ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
         b'{"test": 2432232314}', "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
OLD, NEW = VEC_B[0], VEC_A[0]
DEMO = "whsec_deNBX1rNhVB82yDA0ttry1Yakpbc3sfy"

EVENT = json.dumps({"id": "evt_1", "type": "payment.succeeded", "created_at": "2026-01-01T00:00:00Z",
                    "data": {"id": "pay_1", "status": "succeeded", "amount": 1990, "currency": "BRL",
                             "method": "pix", "version": 3}}).encode()


def hdrs(msg_id: str, ts: int, sig: str) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


@pytest.mark.parametrize("vec", [VEC_A, VEC_B])
def test_server_vectors_sign(vec: tuple[str, str, int, bytes, str]) -> None:
    secret, mid, ts, body, sig = vec
    assert Webhook(secret).sign(mid, ts, body) == sig
    assert Webhook(secret).sign(mid, datetime.fromtimestamp(ts, tz=timezone.utc), body.decode()) == sig


@pytest.mark.parametrize("vec", [VEC_A, VEC_B])
def test_server_vectors_verify(vec: tuple[str, str, int, bytes, str]) -> None:
    secret, mid, ts, body, sig = vec
    # The vectors' bodies are not event objects: reaching that check proves the signature and
    # timestamp passed.
    with pytest.raises(errors.WebhookPayloadError, match="not an event object"):
        Webhook(secret).verify(body, hdrs(mid, ts, sig), now=ts + 10)
    with pytest.raises(errors.WebhookTimestampTooOldError):
        Webhook(secret).verify(body, hdrs(mid, ts, sig), now=ts + 301)
    with pytest.raises(errors.WebhookSignatureError):
        Webhook(secret).verify(body + b" ", hdrs(mid, ts, sig), now=ts)
    with pytest.raises(errors.WebhookSignatureError):
        Webhook(secret).verify(body, hdrs(mid + "x", ts, sig), now=ts)


def _event_headers(secret: str | list[str], ts: int, body: bytes = EVENT) -> dict[str, str]:
    return Webhook(secret).generate_headers(body, msg_id="evt_1", timestamp=ts)


def test_verify_returns_typed_event() -> None:
    now = int(time.time())
    ev = Webhook(DEMO).verify(EVENT, _event_headers(DEMO, now))
    assert ev.id == "evt_1" and ev.type == "payment.succeeded" and ev.webhook_id == "evt_1"
    assert ev.payment is not None and ev.payment.status == "succeeded" and ev.payment.version == 3
    assert ev.refund is None and ev.raw["data"]["amount"] == 1990


def test_rotation_header_verifies_with_either_secret() -> None:
    h = hdrs("msg_1", 1000, Webhook([NEW, OLD]).sign("msg_1", 1000, b"{}"))
    assert len(h["webhook-signature"].split(" ")) == 2
    for s in (OLD, NEW, [DEMO, OLD]):
        with pytest.raises(errors.WebhookPayloadError):  # signature accepted; "{}" is no event
            Webhook(s).verify(b"{}", h, now=1010)
    with pytest.raises(errors.WebhookSignatureError):
        Webhook(OLD).verify(b"{}", hdrs("msg_1", 1000, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), now=1010)
    with pytest.raises(errors.WebhookSignatureError):
        Webhook(OLD).verify(b"{x}", h, now=1010)


def test_tampered_body_wrong_secret_stale_future_are_distinct() -> None:
    now = 1_800_000_000
    h = _event_headers(DEMO, now)
    tampered = EVENT.replace(b"1990", b"9990")
    with pytest.raises(errors.WebhookSignatureError):
        Webhook(DEMO).verify(tampered, h, now=now)
    with pytest.raises(errors.WebhookSignatureError):
        Webhook(OLD).verify(EVENT, h, now=now)
    with pytest.raises(errors.WebhookTimestampTooOldError):
        Webhook(DEMO).verify(EVENT, h, now=now + 301)
    with pytest.raises(errors.WebhookTimestampTooNewError):
        Webhook(DEMO).verify(EVENT, h, now=now - 301)
    assert Webhook(DEMO).verify(EVENT, h, now=now + 300).id == "evt_1"  # boundary inclusive
    assert Webhook(DEMO).verify(EVENT, h, now=now - 300).id == "evt_1"
    assert Webhook(DEMO).verify(EVENT, h, now=now + 1000, tolerance=1000).id == "evt_1"
    # a changed timestamp header is a signature failure, not a timestamp one
    with pytest.raises(errors.WebhookSignatureError):
        Webhook(DEMO).verify(EVENT, {**h, "webhook-timestamp": str(now + 1)}, now=now)
    # distinct classes, one base
    classes = {errors.WebhookSignatureError, errors.WebhookTimestampTooOldError, errors.WebhookTimestampTooNewError}
    assert all(issubclass(c, errors.WebhookVerificationError) for c in classes)
    assert issubclass(errors.WebhookTimestampTooOldError, errors.WebhookTimestampError)
    assert not issubclass(errors.WebhookSignatureError, errors.WebhookTimestampError)


@pytest.mark.parametrize("parsed", [json.loads(EVENT), [1, 2], 42, None])
def test_parsed_body_is_a_clear_error(parsed: object) -> None:
    with pytest.raises(errors.WebhookRawBodyError, match="raw request body"):
        Webhook(DEMO).verify(parsed, _event_headers(DEMO, int(time.time())))  # type: ignore[arg-type]
    assert issubclass(errors.WebhookRawBodyError, TypeError)


def test_body_types_str_bytearray_memoryview() -> None:
    h = _event_headers(DEMO, int(time.time()))
    for body in (EVENT.decode(), bytearray(EVENT), memoryview(EVENT)):
        assert Webhook(DEMO).verify(body, h).id == "evt_1"


@pytest.mark.parametrize(
    "sig",
    ["v1", "v1,", "v1,!!!notbase64", "v1,AAAA", "garbage", "v2,abc", "   ", "v1,,", "v1a,abc"],
)
def test_malformed_signature_entries_never_crash(sig: str) -> None:
    now = int(time.time())
    with pytest.raises((errors.WebhookHeaderError, errors.WebhookSignatureError)):
        Webhook(DEMO).verify(EVENT, {**_event_headers(DEMO, now), "webhook-signature": sig})


def test_malformed_entries_next_to_a_valid_one() -> None:
    now = int(time.time())
    h = _event_headers(DEMO, now)
    good = h["webhook-signature"]
    assert Webhook(DEMO).verify(EVENT, {**h, "webhook-signature": f"v1 v1,@@@ v2,zzz {good} junk"}).id == "evt_1"
    unpadded = good.rstrip("=")
    assert Webhook(DEMO).verify(EVENT, {**h, "webhook-signature": unpadded}).id == "evt_1"
    wrong = "v1," + base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(errors.WebhookSignatureError):
        Webhook(DEMO).verify(EVENT, {**h, "webhook-signature": f"v1,@@@ {wrong}"})


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers(missing: str) -> None:
    h = _event_headers(DEMO, int(time.time()))
    del h[missing]
    with pytest.raises(errors.WebhookHeaderError, match=missing):
        Webhook(DEMO).verify(EVENT, h)


@pytest.mark.parametrize("ts", ["abc", "1.5", "", "99999999999999999999999", "１２３"])
def test_bad_timestamps(ts: str) -> None:
    h = {**_event_headers(DEMO, int(time.time())), "webhook-timestamp": ts}
    with pytest.raises(errors.WebhookHeaderError):
        Webhook(DEMO).verify(EVENT, h)


def test_extreme_timestamp_is_stale_not_a_crash() -> None:
    ts = 10**18
    h = _event_headers(DEMO, ts)
    with pytest.raises(errors.WebhookTimestampTooNewError):
        Webhook(DEMO).verify(EVENT, h)


def test_header_shapes() -> None:
    now = int(time.time())
    h = _event_headers(DEMO, now)
    upper = {k.upper(): v for k, v in h.items()}
    assert Webhook(DEMO).verify(EVENT, upper).id == "evt_1"
    assert Webhook(DEMO).verify(EVENT, list(h.items())).id == "evt_1"
    assert Webhook(DEMO).verify(EVENT, httpx.Headers(h)).id == "evt_1"
    with pytest.raises(errors.WebhookHeaderError):
        Webhook(DEMO).verify(EVENT, "webhook-id: x")  # type: ignore[arg-type]


def test_non_json_signed_body() -> None:
    now = int(time.time())
    body = b"not json"
    with pytest.raises(errors.WebhookPayloadError):
        Webhook(DEMO).verify(body, _event_headers(DEMO, now, body))


@pytest.mark.parametrize("bad", ["", "whsec_", "whsec_not base64!", "whsec_@@@", " whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"])
def test_bad_secrets(bad: str) -> None:
    with pytest.raises(errors.WebhookSecretError):
        Webhook(bad)
    with pytest.raises(errors.WebhookSecretError):
        Webhook([])
    assert issubclass(errors.WebhookSecretError, ValueError)


def test_secret_prefix_optional_and_repr_hides_it() -> None:
    assert Webhook(VEC_A[0][len("whsec_"):]).sign(VEC_A[1], VEC_A[2], VEC_A[3]) == VEC_A[4]
    assert "C2FV" not in repr(Webhook(VEC_A[0]))


# --- cross-check with the official package ----------------------------------------------------


def test_official_package_verifies_our_signature_and_vice_versa() -> None:
    now = datetime.now(tz=timezone.utc)
    ours = Webhook(DEMO)
    theirs = standardwebhooks.Webhook(DEMO)
    h = ours.generate_headers(EVENT, msg_id="evt_x", timestamp=now)
    assert theirs.verify(EVENT, h)["id"] == "evt_1"
    their_sig = theirs.sign("evt_y", now, EVENT.decode())
    h2 = {"webhook-id": "evt_y", "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": their_sig}
    assert ours.verify(EVENT, h2).id == "evt_1"


def test_official_package_agrees_on_random_inputs() -> None:
    rng = random.Random(1234)
    for _ in range(100):
        secret = "whsec_" + base64.b64encode(rng.randbytes(rng.choice([16, 24, 32, 64]))).decode()
        mid = f"msg_{rng.getrandbits(64):x}"
        ts = rng.randrange(1_500_000_000, 2_000_000_000)
        body = json.dumps({"type": "x", "n": rng.random(), "s": "çã\u2603"}, ensure_ascii=False)
        when = datetime.fromtimestamp(ts, tz=timezone.utc)
        assert Webhook(secret).sign(mid, ts, body) == standardwebhooks.Webhook(secret).sign(mid, when, body)


def test_official_and_ours_reject_the_same_things() -> None:
    now = datetime.now(tz=timezone.utc)
    ts = int(now.timestamp())
    h = Webhook(DEMO).generate_headers(EVENT, msg_id="evt_z", timestamp=ts)
    cases = [
        (EVENT.replace(b"1990", b"1991"), h, errors.WebhookSignatureError),
        (EVENT, Webhook(OLD).generate_headers(EVENT, msg_id="evt_z", timestamp=ts), errors.WebhookSignatureError),
        (EVENT, Webhook(DEMO).generate_headers(EVENT, msg_id="evt_z", timestamp=ts - 600), errors.WebhookTimestampTooOldError),
        (EVENT, Webhook(DEMO).generate_headers(EVENT, msg_id="evt_z", timestamp=ts + 600), errors.WebhookTimestampTooNewError),
    ]
    for body, headers, cls in cases:
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            standardwebhooks.Webhook(DEMO).verify(body, headers)
        with pytest.raises(cls):
            Webhook(DEMO).verify(body, headers)
