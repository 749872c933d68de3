"""Against the real dev server (skipped unless ORCH_API_URL is set)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import pytest
import standardwebhooks

from payment_orchestrator import AsyncClient, Client, Webhook, errors

from .conftest import ASAAS_TOKEN_A, CARD, KEY_A, PIX, SECRET_A, CallbackServer, unique

TEST_KEY_A = "sk_test_demo_tenant_a_4f9c2b7e1d8a6350"
LIVE_KEY_A = "sk_live_demo_tenant_a_4f9c2b7e1d8a6350"


@pytest.fixture
def client(api_url: str) -> Iterator[Client]:
    with Client(api_key=KEY_A, base_url=api_url) as c:
        yield c


def test_create_replay_retrieve_list_refresh(client: Client) -> None:
    ref = unique("py-life")
    p = client.payments.create({**PIX, "reference": ref})  # type: ignore[typeddict-item]
    assert p.id.startswith("pay_") and p.status == "pending" and p.reference == ref
    assert p.livemode is False  # tenant A has no credentials: its own mode is test
    assert p.idempotency_key and not p.replayed
    assert p.pix is not None and p.pix.copy_paste

    again = client.payments.create({**PIX, "reference": ref}, idempotency_key=p.idempotency_key)  # type: ignore[typeddict-item]
    assert again.replayed and again.id == p.id and again.idempotency_key == p.idempotency_key

    got = client.payments.retrieve(p.id)
    assert got.id == p.id and got.amount == 1990 and got.version >= 1 and not got.replayed

    # five payments with one reference, pages of two: auto-pagination walks three pages
    ids = {p.id}
    for _ in range(4):
        ids.add(client.payments.create({**PIX, "reference": ref}).id)  # type: ignore[typeddict-item]
    page = client.payments.list(reference=ref, limit=2)
    assert len(page.data) == 2 and page.has_more and page.next_cursor
    assert [len(pg.data) for pg in page.iter_pages()] == [2, 2, 1]
    listed = [x.id for x in page]
    assert len(listed) == 5 and set(listed) == ids
    assert listed == sorted(listed, reverse=True)  # newest first (ULIDs)

    refreshed = client.payments.refresh(p.id)
    assert refreshed.id == p.id


def test_test_and_live_keys_are_separate(api_url: str) -> None:
    with Client(api_key=TEST_KEY_A, base_url=api_url) as test, Client(
        api_key=LIVE_KEY_A, base_url=api_url
    ) as live:
        p = test.payments.create({**PIX, "reference": unique("py-test")})  # type: ignore[typeddict-item]
        assert p.livemode is False
        with pytest.raises(errors.NotFoundError):
            live.payments.retrieve(p.id)
        # No live credentials on the demo tenant: 422, never a simulator.
        with pytest.raises(errors.APIError) as e:
            live.payments.create({**PIX, "reference": unique("py-live")})  # type: ignore[typeddict-item]
        assert e.value.status == 422 and e.value.code == "gateway_not_configured"


def test_card_refund_and_replay(client: Client) -> None:
    p = client.payments.create({**CARD, "reference": unique("py-card")})  # type: ignore[typeddict-item]
    assert p.status == "succeeded"
    r = client.refunds.create(p.id, {"amount": 300, "reason": "requested_by_customer"})
    assert r.status == "succeeded" and r.amount == 300 and r.payment_id == p.id
    assert r.payment is not None and r.payment.refunded_amount == 300 and r.payment.status == "partially_refunded"
    again = client.refunds.create(p.id, {"amount": 300, "reason": "requested_by_customer"}, idempotency_key=r.idempotency_key)
    assert again.replayed and again.id == r.id
    rest = client.refunds.create(p.id)
    assert rest.amount == 700 and rest.payment is not None and rest.payment.status == "refunded"
    with pytest.raises(errors.InvalidRequestError) as ei:
        client.refunds.create(p.id, {"amount": 1})
    assert ei.value.status in (400, 422) and ei.value.idempotency_key


def test_errors_from_the_server(client: Client, api_url: str) -> None:
    with pytest.raises(errors.NotFoundError) as nf:
        client.payments.retrieve("pay_01J00000000000000000000000")
    assert nf.value.code == "resource_missing" and nf.value.status == 404
    with pytest.raises(errors.InvalidRequestError) as bad:
        client.payments.create({**PIX, "amount": -5})  # type: ignore[typeddict-item]
    assert bad.value.param == "amount" and bad.value.idempotency_key
    with Client(api_key="sk_wrong", base_url=api_url) as wrong:
        with pytest.raises(errors.AuthenticationError):
            wrong.gateways.list()
    key = unique("py-reuse")
    client.payments.create(PIX, idempotency_key=key)  # type: ignore[arg-type]
    with pytest.raises(errors.IdempotencyKeyReusedError) as reused:
        client.payments.create({**PIX, "amount": 2990}, idempotency_key=key)  # type: ignore[typeddict-item]
    assert reused.value.idempotency_key == key and reused.value.attempts == 1
    pending = client.payments.create(PIX)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidStateError):
        client.refunds.create(pending.id, {"amount": 100})
    # 502: every gateway unavailable (amount ending in 53) - not retried
    with pytest.raises(errors.GatewayError) as gw:
        client.payments.create({**PIX, "amount": 1053, "gateway": "asaas"})  # type: ignore[typeddict-item]
    assert gw.value.attempts == 1 and gw.value.type == "gateway"


def test_routing_switch_and_back(client: Client) -> None:
    before = client.gateways.list().routing()
    assert before.get("pix")
    try:
        r = client.routing.update({"pix": ["asaas", "efi"]})
        assert r.routing["pix"] == ["asaas", "efi"] and r.idempotency_key is None
        assert client.gateways.list().routing()["pix"] == ["asaas", "efi"]
        p = client.payments.create(PIX)  # type: ignore[arg-type]
        assert p.gateway == "asaas"
        with pytest.raises(errors.InvalidRequestError):
            client.routing.update({"pix": ["nope"]})
    finally:
        back = client.routing.update({"pix": before["pix"]})
    assert back.routing["pix"] == before["pix"]
    assert client.gateways.list().routing()["pix"] == before["pix"]


def _succeed_via_asaas(api_url: str, gateway_payment_id: str, payment_id: str) -> None:
    r = httpx.post(
        f"{api_url}/webhooks/asaas/ten_demo_a",
        headers={"asaas-access-token": ASAAS_TOKEN_A},
        json={"id": unique("evt_py"), "event": "PAYMENT_RECEIVED",
              "payment": {"id": gateway_payment_id, "status": "RECEIVED", "externalReference": payment_id}},
    )
    assert r.status_code == 200, r.text


def test_callbacks_verified_by_sdk_and_official_package(
    client: Client, api_url: str, callback_server: CallbackServer
) -> None:
    p = client.payments.create({**PIX, "gateway": "asaas", "callback_url": callback_server.url})  # type: ignore[typeddict-item]
    assert p.gateway_payment_id
    hook = Webhook(SECRET_A)

    pending = callback_server.wait_for("payment.pending", p.id)
    ev = hook.verify(pending.body, pending.headers)
    assert ev.type == "payment.pending" and ev.payment is not None and ev.payment.id == p.id
    assert ev.webhook_id == pending.headers["webhook-id"] == ev.id

    _succeed_via_asaas(api_url, p.gateway_payment_id, p.id)
    got = callback_server.wait_for("payment.succeeded", p.id)
    ev2 = hook.verify(got.body, got.headers)
    assert ev2.payment is not None and ev2.payment.status == "succeeded"
    assert ev2.payment.version > ev.payment.version
    assert standardwebhooks.Webhook(SECRET_A).verify(got.body, got.headers)["type"] == "payment.succeeded"

    ts = int(got.headers["webhook-timestamp"])
    tampered = got.body.replace(b'"succeeded"', b'"refunded"', 1)
    assert tampered != got.body
    with pytest.raises(errors.WebhookSignatureError):
        hook.verify(tampered, got.headers)
    with pytest.raises(errors.WebhookTimestampTooOldError):  # the same delivery replayed 6 minutes later
        hook.verify(got.body, got.headers, now=ts + 360)
    with pytest.raises(errors.WebhookSignatureError):
        Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").verify(got.body, got.headers)
    with pytest.raises(errors.WebhookRawBodyError):
        hook.verify(json.loads(got.body), got.headers)
    for body, headers in (
        (tampered, got.headers),
        (got.body, {**got.headers, "webhook-timestamp": str(ts - 360)}),
    ):
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            standardwebhooks.Webhook(SECRET_A).verify(body, headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").verify(got.body, got.headers)
    # the official package signs the same bytes the same way
    when = datetime.fromtimestamp(ts, tz=timezone.utc)
    assert standardwebhooks.Webhook(SECRET_A).sign(got.headers["webhook-id"], when, got.body.decode()) == got.headers["webhook-signature"].split(" ")[0]

    # events API: list by payment, retrieve, resend (same webhook-id again)
    events = list(client.events.list(payment_id=p.id, limit=1))
    assert [e.type for e in events][:2] == ["payment.succeeded", "payment.pending"]
    one = client.events.retrieve(ev2.id)
    assert one.payment_id == p.id and one.delivery.state in ("delivered", "pending")
    resent = client.events.resend(ev2.id)
    assert resent.id == ev2.id and resent.idempotency_key
    again = callback_server.wait_for("payment.succeeded", p.id)
    assert again.headers["webhook-id"] == got.headers["webhook-id"]
    assert hook.verify(again.body, again.headers).id == ev2.id


async def test_async_client_end_to_end(api_url: str) -> None:
    ref = unique("py-async")
    async with AsyncClient(api_key=KEY_A, base_url=api_url) as c:
        p = await c.payments.create({**PIX, "reference": ref})  # type: ignore[typeddict-item]
        again = await c.payments.create({**PIX, "reference": ref}, idempotency_key=p.idempotency_key)  # type: ignore[typeddict-item]
        assert again.replayed and again.id == p.id
        for _ in range(2):
            await c.payments.create({**PIX, "reference": ref})  # type: ignore[typeddict-item]
        page = await c.payments.list(reference=ref, limit=2)
        assert page.has_more
        assert len([x async for x in page]) == 3
        assert len([x async for x in c.payments.list(reference=ref, limit=1)]) == 3
        assert (await c.payments.retrieve(p.id)).id == p.id
        assert len(await c.gateways.list()) >= 3
        with pytest.raises(errors.NotFoundError):
            await c.events.retrieve("evt_01J00000000000000000000000")
