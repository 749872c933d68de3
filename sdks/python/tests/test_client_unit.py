"""Sync and async clients against respx mocks: keys, retries, errors, pagination, privacy."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from payment_orchestrator import AsyncClient, Client, Payment, RetryInfo, errors

BASE = "http://api.test"
KEY = "sk_test_secret_value_0123456789"


def payment_json(pid: str = "pay_1", **extra: Any) -> dict[str, Any]:
    return {
        "id": pid, "livemode": False, "status": "pending", "amount": 1990, "currency": "BRL", "method": "pix",
        "gateway": "efi", "gateway_payment_id": "g1", "reference": "r", "description": None,
        "metadata": {"a": "b"}, "pix": {"copy_paste": "000201", "qr_code_png_base64": None, "expires_at": None},
        "boleto": None, "next_action": None, "failure": None, "refunded_amount": 0, "refunds": [],
        "overdue_at": None, "attempts": [{"gateway": "efi", "outcome": "succeeded", "code": None, "duration_ms": 3}],
        "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z", "version": 1,
        **extra,
    }


def err(status: int, type_: str, code: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"error": {"type": type_, "code": code, "message": code}})


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as m:
        yield m


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> Iterator[Client]:
    c = Client(api_key=KEY, base_url=BASE)
    c._sleep = sleeps.append
    yield c
    c.close()


@pytest.fixture
async def aclient(sleeps: list[float]) -> Any:
    c = AsyncClient(api_key=KEY, base_url=BASE)

    async def fake_sleep(d: float) -> None:
        sleeps.append(d)

    c._sleep = fake_sleep
    yield c
    await c.close()


PIX = {"amount": 1990, "currency": "BRL", "method": "pix"}


def keys_of(route: respx.Route) -> list[str]:
    return [c.request.headers.get("idempotency-key") for c in route.calls]


# --- sync --------------------------------------------------------------------------------------


def test_create_sends_generated_key_and_parses(mock: respx.MockRouter, client: Client) -> None:
    route = mock.post("/v1/payments").mock(
        return_value=httpx.Response(201, json=payment_json(new_field={"x": 1}), headers={"request-id": "req_9"})
    )
    p = client.payments.create(PIX)  # type: ignore[arg-type]
    assert isinstance(p, Payment)
    sent = route.calls.last.request
    assert json.loads(sent.content) == PIX
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert p.idempotency_key == sent.headers["idempotency-key"]
    assert p.replayed is False and p.request_id == "req_9"
    assert p.pix is not None and p.pix.copy_paste == "000201"
    assert p.attempts[0].gateway == "efi" and p.metadata == {"a": "b"}
    assert p.raw["new_field"] == {"x": 1}  # unknown fields stay readable


def test_replayed_flag(mock: respx.MockRouter, client: Client) -> None:
    mock.post("/v1/payments").mock(
        return_value=httpx.Response(201, json=payment_json(), headers={"Idempotent-Replayed": "true"})
    )
    p = client.payments.create(PIX, idempotency_key="order-42")  # type: ignore[arg-type]
    assert p.replayed is True and p.idempotency_key == "order-42"


def test_503_then_success_reuses_key_honours_retry_after_and_calls_hook(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    seen: list[RetryInfo] = []
    c = Client(api_key=KEY, base_url=BASE, on_retry=seen.append)
    c._sleep = sleeps.append
    route = mock.post("/v1/payments").mock(
        side_effect=[err(503, "internal", "dependency_unavailable", **{"Retry-After": "1"}),
                     httpx.Response(201, json=payment_json())]
    )
    p = c.payments.create(PIX)  # type: ignore[arg-type]
    ks = keys_of(route)
    assert len(ks) == 2 and ks[0] == ks[1] == p.idempotency_key
    assert [r.headers["x-retry-count"] for r in (x.request for x in route.calls)] == ["0", "1"]
    assert sleeps == [1.0]
    assert len(seen) == 1 and seen[0].attempt == 1 and seen[0].idempotency_key == p.idempotency_key
    assert isinstance(seen[0].error, errors.ServiceUnavailableError)


def test_connection_reset_then_success(mock: respx.MockRouter, client: Client, sleeps: list[float]) -> None:
    route = mock.post("/v1/payments").mock(
        side_effect=[httpx.RemoteProtocolError("Server disconnected without sending a response."),
                     httpx.ReadError("[Errno 104] Connection reset by peer"),
                     httpx.Response(201, json=payment_json())]
    )
    p = client.payments.create(PIX)  # type: ignore[arg-type]
    assert len(set(keys_of(route))) == 1 and len(route.calls) == 3
    assert p.idempotency_key == keys_of(route)[0]
    assert len(sleeps) == 2 and 0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0


def test_timeouts_exhaust_retries(mock: respx.MockRouter, client: Client) -> None:
    route = mock.post("/v1/payments").mock(side_effect=httpx.ReadTimeout("read timed out"))
    with pytest.raises(errors.APITimeoutError) as ei:
        client.payments.create(PIX, idempotency_key="k-timeout")  # type: ignore[arg-type]
    assert len(route.calls) == 3
    assert ei.value.idempotency_key == "k-timeout" and ei.value.attempts == 3
    assert isinstance(ei.value, errors.APIConnectionError)


def test_409_in_use_is_retried(mock: respx.MockRouter, client: Client) -> None:
    route = mock.post("/v1/payments").mock(
        side_effect=[err(409, "idempotency", "idempotency_key_in_use", **{"Retry-After": "1"}),
                     httpx.Response(201, json=payment_json(), headers={"idempotent-replayed": "true"})]
    )
    assert client.payments.create(PIX).replayed  # type: ignore[arg-type]
    assert len(route.calls) == 2


def test_409_in_use_raised_when_retries_run_out(mock: respx.MockRouter, client: Client) -> None:
    mock.post("/v1/payments").mock(return_value=err(409, "idempotency", "idempotency_key_in_use"))
    with pytest.raises(errors.IdempotencyKeyInUseError) as ei:
        client.payments.create(PIX)  # type: ignore[arg-type]
    assert ei.value.attempts == 3 and ei.value.retryable


@pytest.mark.parametrize(
    "status,type_,code,cls",
    [
        (400, "invalid_request", "invalid_amount", errors.InvalidRequestError),
        (401, "authentication", "unauthenticated", errors.AuthenticationError),
        (404, "not_found", "resource_missing", errors.NotFoundError),
        (409, "conflict", "other", errors.BadRequestError),
        (413, "invalid_request", "body_too_large", errors.InvalidRequestError),
        (422, "idempotency", "idempotency_key_reused", errors.IdempotencyKeyReusedError),
        (422, "invalid_request", "invalid_state", errors.InvalidStateError),
        (502, "gateway", "gateway_unavailable", errors.GatewayError),
    ],
)
def test_not_retried(mock: respx.MockRouter, client: Client, status: int, type_: str, code: str, cls: type) -> None:
    route = mock.post("/v1/payments").mock(return_value=err(status, type_, code, **{"request-id": "req_e"}))
    with pytest.raises(cls) as ei:
        client.payments.create(PIX)  # type: ignore[arg-type]
    assert len(route.calls) == 1
    e = ei.value
    assert e.status == status and e.code == code and e.request_id == "req_e"
    assert e.idempotency_key == keys_of(route)[0]
    assert e.body and json.loads(e.body)["error"]["code"] == code


@pytest.mark.parametrize("status", [408, 429, 500, 503, 504])
def test_retried_statuses(mock: respx.MockRouter, client: Client, status: int) -> None:
    route = mock.get("/v1/payments/pay_1").mock(
        side_effect=[httpx.Response(status, text="busy"), httpx.Response(200, json=payment_json())]
    )
    assert client.payments.retrieve("pay_1").id == "pay_1"
    assert len(route.calls) == 2


def test_429_maps_to_rate_limit(mock: respx.MockRouter, client: Client) -> None:
    mock.get("/v1/gateways").mock(return_value=httpx.Response(429, json={"error": {"message": "slow down"}}))
    with pytest.raises(errors.RateLimitError):
        client.gateways.list()


def test_retry_after_above_cap_is_raised_not_slept(mock: respx.MockRouter, client: Client, sleeps: list[float]) -> None:
    route = mock.post("/v1/payments").mock(return_value=err(503, "internal", "dependency_unavailable", **{"Retry-After": "3600"}))
    with pytest.raises(errors.ServiceUnavailableError):
        client.payments.create(PIX)  # type: ignore[arg-type]
    assert len(route.calls) == 1 and sleeps == []


def test_max_retries_zero_and_with_options(mock: respx.MockRouter, client: Client) -> None:
    route = mock.post("/v1/payments").mock(return_value=err(503, "internal", "dependency_unavailable"))
    with pytest.raises(errors.ServiceUnavailableError):
        client.with_options(max_retries=0).payments.create(PIX)  # type: ignore[arg-type]
    assert len(route.calls) == 1
    assert client.max_retries == 2


def test_get_put_no_key_and_resend_has_key(mock: respx.MockRouter, client: Client) -> None:
    g = mock.get("/v1/payments/pay_1").mock(return_value=httpx.Response(200, json=payment_json()))
    r = mock.put("/v1/routing").mock(return_value=httpx.Response(200, json={"routing": {"pix": ["asaas", "efi"]}}))
    ev = {"id": "evt_1", "object": "event", "type": "payment.pending", "created_at": "t", "payment_id": "pay_1",
          "refund_id": None, "payment_version": 1, "delivery": {"state": "delivered", "attempts": [
              {"at": "t", "http_status": 204, "duration_ms": 3, "error": None, "response_excerpt": None}]},
          "data": payment_json()}
    s = mock.post("/v1/events/evt_1/resend").mock(return_value=httpx.Response(202, json=ev))
    client.payments.retrieve("pay_1")
    routing = client.routing.update({"pix": ["asaas", "efi"]})
    assert routing.routing == {"pix": ["asaas", "efi"]}
    assert json.loads(r.calls.last.request.content) == {"pix": ["asaas", "efi"]}
    e = client.events.resend("evt_1")
    assert "idempotency-key" not in g.calls.last.request.headers
    assert "idempotency-key" not in r.calls.last.request.headers
    assert s.calls.last.request.headers["idempotency-key"] == e.idempotency_key
    assert e.delivery.attempts[0].http_status == 204
    assert e.payment is not None and e.payment.id == "pay_1" and e.refund is None


def test_refresh_and_path_escaping(mock: respx.MockRouter, client: Client) -> None:
    route = mock.get("/v1/payments/pay_1").mock(return_value=httpx.Response(200, json=payment_json()))
    client.payments.refresh("pay_1")
    assert route.calls.last.request.url.params["refresh"] == "true"
    esc = mock.get(url__regex=r".*/v1/payments/a%2Fb$").mock(return_value=httpx.Response(404, json={}))
    with pytest.raises(errors.NotFoundError):
        client.payments.retrieve("a/b")
    assert esc.called


def test_refund_create(mock: respx.MockRouter, client: Client) -> None:
    route = mock.post("/v1/payments/pay_1/refunds").mock(return_value=httpx.Response(201, json={
        "id": "ref_1", "object": "refund", "payment_id": "pay_1", "amount": 300, "currency": "BRL",
        "status": "succeeded", "gateway_refund_id": "gr", "reason": None, "created_at": "t",
        "payment": payment_json(status="partially_refunded", refunded_amount=300)}))
    r = client.refunds.create("pay_1", {"amount": 300}, idempotency_key="rf-1")
    assert json.loads(route.calls.last.request.content) == {"amount": 300}
    assert r.idempotency_key == "rf-1" and r.payment is not None and r.payment.refunded_amount == 300


def _paged(request: httpx.Request) -> httpx.Response:
    ids = [f"pay_{i}" for i in range(7, 0, -1)]
    limit = int(request.url.params.get("limit", "20"))
    after = request.url.params.get("starting_after")
    start = ids.index(after) + 1 if after else 0
    chunk = ids[start:start + limit]
    more = start + limit < len(ids)
    return httpx.Response(200, json={"object": "list", "data": [payment_json(i) for i in chunk],
                                     "has_more": more, "next_cursor": chunk[-1] if more else None})


def test_pagination_iterates_all_pages(mock: respx.MockRouter, client: Client) -> None:
    route = mock.get("/v1/payments").mock(side_effect=_paged)
    page = client.payments.list(limit=3, reference="r")
    assert [p.id for p in page.data] == ["pay_7", "pay_6", "pay_5"]
    assert page.has_more and page.next_cursor == "pay_5" and page.has_next_page()
    assert [p.id for p in page] == [f"pay_{i}" for i in range(7, 0, -1)]
    assert all(c.request.url.params["limit"] == "3" for c in route.calls)
    assert all(c.request.url.params["reference"] == "r" for c in route.calls)
    assert [len(p.data) for p in page.iter_pages()] == [3, 3, 1]
    assert [p.id for p in page.auto_paging_iter(max_items=4)] == ["pay_7", "pay_6", "pay_5", "pay_4"]
    last = page.get_next_page().get_next_page()
    assert not last.has_next_page()
    with pytest.raises(RuntimeError):
        last.get_next_page()


def test_events_list_params(mock: respx.MockRouter, client: Client) -> None:
    route = mock.get("/v1/events").mock(return_value=httpx.Response(200, json={"object": "list", "data": [], "has_more": False, "next_cursor": None}))
    assert list(client.events.list(type="payment.succeeded", payment_id="pay_1", limit=5)) == []
    params = route.calls.last.request.url.params
    assert params["type"] == "payment.succeeded" and params["payment_id"] == "pay_1" and params["limit"] == "5"


def test_non_json_success_is_unexpected(mock: respx.MockRouter, client: Client) -> None:
    mock.get("/v1/gateways").mock(return_value=httpx.Response(200, text="<html>"))
    with pytest.raises(errors.UnexpectedResponseError):
        client.gateways.list()


def test_gateways_and_routing_view(mock: respx.MockRouter, client: Client) -> None:
    mock.get("/v1/gateways").mock(return_value=httpx.Response(200, json={"data": [
        {"gateway": "asaas", "state": "closed", "failure_rate": 0.0, "calls": 0, "failures": 0, "window_seconds": 60,
         "open_until": None, "consecutive_opens": 0, "methods": ["pix", "card"], "priority": {"pix": 2, "card": 1}, "live": False},
        {"gateway": "efi", "state": "open", "failure_rate": 1, "calls": 10, "failures": 10, "window_seconds": 60,
         "open_until": "t", "consecutive_opens": 1, "methods": ["pix"], "priority": {"pix": 1}, "live": False}]}))
    gl = client.gateways.list()
    assert len(gl) == 2 and gl.data[1].failure_rate == 1.0
    assert gl.routing() == {"pix": ["efi", "asaas"], "card": ["asaas"]}


def test_key_never_in_repr_vars_errors_or_logs(mock: respx.MockRouter, client: Client, caplog: pytest.LogCaptureFixture) -> None:
    mock.post("/v1/payments").mock(side_effect=[err(503, "internal", "dependency_unavailable"), err(400, "invalid_request", "x")])
    caplog.set_level(logging.DEBUG)
    with pytest.raises(errors.InvalidRequestError) as ei:
        client.payments.create(PIX)  # type: ignore[arg-type]
    texts = [repr(client), str(vars(client)), repr(client._options), str(ei.value), repr(ei.value),
             str(vars(ei.value)), caplog.text, repr(client.with_options(timeout=5.0))]
    assert "retrying POST /v1/payments" in caplog.text
    for t in texts:
        assert KEY not in t and "0123456789" not in t


def test_api_key_from_env_and_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_API_KEY", "sk_env")
    monkeypatch.setenv("ORCHESTRATOR_BASE_URL", "http://env.test/")
    c = Client()
    assert c.base_url == "http://env.test" and c._api_key.reveal() == "sk_env"
    monkeypatch.delenv("ORCHESTRATOR_API_KEY")
    with pytest.raises(ValueError):
        Client()
    with pytest.raises(ValueError):
        Client(api_key="k", max_retries=-1)


def test_real_timeout_against_silent_server() -> None:
    """A local socket that accepts and never answers: each attempt times out, same key."""
    srv = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []
    conns: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conns.append(conn)
            got.append(conn.recv(65536))

    threading.Thread(target=accept, daemon=True).start()
    port = srv.getsockname()[1]
    c = Client(api_key=KEY, base_url=f"http://127.0.0.1:{port}", timeout=0.3, max_retries=1)
    c._sleep = lambda _d: None
    try:
        with pytest.raises(errors.APITimeoutError) as ei:
            c.payments.create(PIX)  # type: ignore[arg-type]
    finally:
        c.close()
        srv.close()
        for s in conns:
            s.close()
    keys = {line.split(b":", 1)[1].strip() for req in got for line in req.split(b"\r\n") if line.lower().startswith(b"idempotency-key:")}
    assert len(got) == 2 and len(keys) == 1
    assert ei.value.idempotency_key == keys.pop().decode()


def test_connection_refused_is_connection_error() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = Client(api_key=KEY, base_url=f"http://127.0.0.1:{port}", max_retries=1)
    c._sleep = lambda _d: None
    with pytest.raises(errors.APIConnectionError) as ei:
        c.gateways.list()
    assert ei.value.attempts == 2 and ei.value.status is None


# --- async ------------------------------------------------------------------------------------


async def test_async_retry_same_key_and_async_hook(mock: respx.MockRouter, sleeps: list[float]) -> None:
    seen: list[int] = []

    async def hook(info: RetryInfo) -> None:
        seen.append(info.attempt)

    c = AsyncClient(api_key=KEY, base_url=BASE, on_retry=hook)

    async def fake_sleep(d: float) -> None:
        sleeps.append(d)

    c._sleep = fake_sleep
    route = mock.post("/v1/payments").mock(
        side_effect=[httpx.ConnectError("reset"), err(503, "internal", "dependency_unavailable", **{"retry-after": "0"}),
                     httpx.Response(201, json=payment_json())]
    )
    async with c:
        p = await c.payments.create(PIX)  # type: ignore[arg-type]
    assert len(route.calls) == 3 and set(keys_of(route)) == {p.idempotency_key}
    assert seen == [1, 2] and sleeps[1] == 0.0


async def test_async_errors(mock: respx.MockRouter, aclient: AsyncClient) -> None:
    mock.post("/v1/payments/pay_1/refunds").mock(return_value=err(422, "invalid_request", "invalid_state"))
    with pytest.raises(errors.InvalidStateError) as ei:
        await aclient.refunds.create("pay_1", idempotency_key="rk")
    assert ei.value.idempotency_key == "rk"
    mock.get("/v1/events/evt_x").mock(side_effect=httpx.ReadTimeout("t"))
    with pytest.raises(errors.APITimeoutError):
        await aclient.events.retrieve("evt_x")


async def test_async_pagination_both_forms(mock: respx.MockRouter, aclient: AsyncClient) -> None:
    mock.get("/v1/payments").mock(side_effect=_paged)
    page = await aclient.payments.list(limit=2)
    assert [p.id for p in page.data] == ["pay_7", "pay_6"] and page.has_more
    assert [p.id async for p in page] == [f"pay_{i}" for i in range(7, 0, -1)]
    assert [p.id async for p in aclient.payments.list(limit=3)] == [f"pay_{i}" for i in range(7, 0, -1)]
    assert [len(p.data) async for p in page.iter_pages()] == [2, 2, 2, 1]
    assert [p.id async for p in page.auto_paging_iter(max_items=3)] == ["pay_7", "pay_6", "pay_5"]


async def test_async_repr_hides_key(aclient: AsyncClient) -> None:
    assert KEY not in repr(aclient) and KEY not in str(vars(aclient))
