"""The shared core: retry decisions, backoff, Retry-After, error mapping, request building."""

from __future__ import annotations

import email.utils
import ssl
import time
import uuid

import httpx
import pytest

from payment_orchestrator import _core, errors
from payment_orchestrator._core import Call, CallState, Options, Secret

OPTS = Options(base_url="http://api.test")


@pytest.mark.parametrize("status", [408, 429, 500, 503, 504])
def test_retryable_statuses(status: int) -> None:
    assert _core.should_retry_status(status, None, {})


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 413, 422, 502])
def test_never_retried_statuses(status: int) -> None:
    assert not _core.should_retry_status(status, None, {})


def test_409_only_when_key_in_use() -> None:
    assert _core.should_retry_status(409, "idempotency_key_in_use", {})
    assert not _core.should_retry_status(409, "conflict", {})
    assert not _core.should_retry_status(409, None, {})


def test_should_retry_header_overrides() -> None:
    assert not _core.should_retry_status(503, None, {"X-Should-Retry": "false"})
    assert _core.should_retry_status(400, None, {"x-should-retry": "true"})


def test_backoff_bounds_and_cap() -> None:
    for n, base in enumerate([0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]):
        assert _core.backoff_delay(n, lambda: 0.0) == pytest.approx(base)
        assert _core.backoff_delay(n, lambda: 1.0) == pytest.approx(base * 0.75)
    assert _core.backoff_delay(10_000, lambda: 0.0) == 8.0
    for _ in range(200):
        assert 0.375 <= _core.backoff_delay(0) <= 0.5


def test_retry_after_forms() -> None:
    assert _core.parse_retry_after({"Retry-After": "1"}) == 1.0
    assert _core.parse_retry_after({"retry-after": "0.25"}) == 0.25
    assert _core.parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= (_core.parse_retry_after({"retry-after": date}, now=now) or 0) <= 31
    assert _core.parse_retry_after({"retry-after": "soon"}) is None
    assert _core.parse_retry_after({"retry-after": "-3"}) is None
    assert _core.parse_retry_after({}) is None


def test_retry_delay_honours_retry_after_up_to_cap() -> None:
    assert _core.retry_delay(0, {"retry-after": "1"}, 60.0) == 1.0
    assert _core.retry_delay(0, {"retry-after": "120"}, 60.0) is None  # above the cap: raise
    assert _core.retry_delay(2, {}, 60.0, lambda: 0.0) == 2.0


@pytest.mark.parametrize(
    "status,type_,code,cls",
    [
        (400, "invalid_request", "invalid_amount", errors.InvalidRequestError),
        (413, "invalid_request", "body_too_large", errors.InvalidRequestError),
        (405, "invalid_request", "method_not_allowed", errors.InvalidRequestError),
        (422, "invalid_request", "invalid_state", errors.InvalidStateError),
        (401, "authentication", "unauthenticated", errors.AuthenticationError),
        (400, "idempotency", "idempotency_key_invalid", errors.IdempotencyKeyInvalidError),
        (409, "idempotency", "idempotency_key_in_use", errors.IdempotencyKeyInUseError),
        (422, "idempotency", "idempotency_key_reused", errors.IdempotencyKeyReusedError),
        (404, "not_found", "resource_missing", errors.NotFoundError),
        (502, "gateway", "gateway_unavailable", errors.GatewayError),
        (503, "internal", "dependency_unavailable", errors.ServiceUnavailableError),
        (500, "internal", "internal_error", errors.InternalServerError),
        (429, None, None, errors.RateLimitError),
        (504, None, None, errors.InternalServerError),
        (418, None, None, errors.BadRequestError),
        (404, None, None, errors.NotFoundError),
        (503, None, None, errors.ServiceUnavailableError),
    ],
)
def test_error_class(status: int, type_: str | None, code: str | None, cls: type) -> None:
    assert _core.error_class(status, type_, code) is cls


def test_api_error_carries_everything() -> None:
    body = '{"error":{"type":"invalid_request","code":"invalid_amount","message":"bad","param":"amount","request_id":"req_1"}}'
    e = _core.api_error(400, {"content-type": "application/json"}, body, idempotency_key="k1", attempts=1)
    assert isinstance(e, errors.InvalidRequestError) and isinstance(e, errors.PaymentOrchestratorError)
    assert (e.status, e.type, e.code, e.param, e.message) == (400, "invalid_request", "invalid_amount", "amount", "bad")
    assert e.request_id == "req_1" and e.idempotency_key == "k1" and e.body == body
    assert e.json_body["error"]["code"] == "invalid_amount"
    assert e.headers["content-type"] == "application/json"
    assert not e.retryable
    assert "400 invalid_amount: bad" in str(e) and "param=amount" in str(e) and "k1" in str(e)


def test_api_error_header_request_id_wins_and_non_json_body() -> None:
    e = _core.api_error(500, {"Request-Id": "req_h"}, "<html>oops</html>", idempotency_key=None, attempts=3)
    assert isinstance(e, errors.InternalServerError)
    assert e.request_id == "req_h" and e.json_body is None and "oops" in e.message
    assert e.retryable and e.attempts == 3
    e2 = _core.api_error(502, {"x-request-id": "req_x"}, "", idempotency_key=None, attempts=1)
    assert isinstance(e2, errors.GatewayError) and e2.request_id == "req_x"


def test_connection_error_mapping() -> None:
    t = _core.connection_error(httpx.ReadTimeout("slow"), idempotency_key="k", attempts=1)
    assert isinstance(t, errors.APITimeoutError) and t.retryable and t.idempotency_key == "k"
    r = _core.connection_error(httpx.RemoteProtocolError("Server disconnected"), idempotency_key="k", attempts=1)
    assert type(r) is errors.APIConnectionError and r.retryable
    c = _core.connection_error(httpx.ConnectError("[Errno 104] reset"), idempotency_key="k", attempts=1)
    assert c.retryable
    try:
        try:
            raise ssl.SSLCertVerificationError("certificate verify failed")
        except ssl.SSLError as inner:
            raise httpx.ConnectError("tls") from inner
    except httpx.ConnectError as exc:
        tls = _core.connection_error(exc, idempotency_key="k", attempts=1)
    assert not tls.retryable
    u = _core.connection_error(httpx.UnsupportedProtocol("ftp"), idempotency_key=None, attempts=1)
    assert not u.retryable


def _call(method: str = "POST", key: str | None = None) -> Call[object]:
    return Call(method=method, path="/v1/payments", body={"amount": 1} if method != "GET" else None,
                idempotency_key=key, parse=lambda b, m: b)


def test_call_state_generates_one_key_for_all_attempts() -> None:
    st = CallState(_call(), OPTS, Secret("sk_x"))
    keys = {st.next_request().headers["idempotency-key"] for _ in range(3)}
    assert len(keys) == 1
    assert uuid.UUID(keys.pop()).version == 4
    assert st.attempts == 3


def test_call_state_caller_key_wins_and_is_validated() -> None:
    st = CallState(_call(key="order-42"), OPTS, Secret("sk_x"))
    assert st.next_request().headers["idempotency-key"] == "order-42"
    with pytest.raises(ValueError):
        CallState(_call(key=""), OPTS, Secret("sk_x"))
    with pytest.raises(ValueError):
        CallState(_call(key="x" * 256), OPTS, Secret("sk_x"))
    with pytest.raises(ValueError):
        CallState(_call(key="caf\u00e9"), OPTS, Secret("sk_x"))


def test_get_and_put_have_no_key() -> None:
    assert "idempotency-key" not in CallState(_call("GET"), OPTS, Secret("k")).next_request().headers
    assert "idempotency-key" not in CallState(_call("PUT"), OPTS, Secret("k")).next_request().headers


def test_request_headers_and_timeouts() -> None:
    st = CallState(_call(), Options(base_url="http://api.test", timeout=12.0, connect_timeout=3.0), Secret("sk_live_1"))
    req = st.next_request()
    assert req.headers["authorization"] == "Bearer sk_live_1"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["user-agent"].startswith("payment-orchestrator-python/")
    assert "Python/" in req.headers["user-agent"]
    assert req.headers["x-retry-count"] == "0"
    assert req.content == b'{"amount":1}'
    t = req.extensions["timeout"]
    assert t["read"] == 12.0 and t["connect"] == 3.0


def test_deadline_shrinks_attempt_timeout_and_stops_retries() -> None:
    now = [100.0]
    st = CallState(_call(), Options(base_url="http://x", deadline=10.0), Secret("k"), clock=lambda: now[0])
    now[0] = 104.0
    assert st.next_request().extensions["timeout"]["read"] == pytest.approx(6.0)
    resp = httpx.Response(503, headers={"retry-after": "7"}, json={"error": {"type": "internal"}})
    with pytest.raises(errors.ServiceUnavailableError):
        st.on_response(resp)  # 7 s wait would pass the deadline
    now[0] = 111.0
    with pytest.raises(errors.APITimeoutError):
        st.next_request()


def test_secret_never_shows() -> None:
    s = Secret("sk_demo_tenant_a_4f9c2b7e1d8a6350")
    assert "4f9c" not in repr(s) and "4f9c" not in str(s) and "4f9c" not in f"{s}"
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(s)
