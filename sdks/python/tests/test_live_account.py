"""The account-side operations against the dev server (skipped unless ORCH_API_URL is set), on
a fresh tenant made with the operator key so that rotating its secret or revoking its keys
touches no other test. The settings and test-event routes are those of issue 24."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from payment_orchestrator import AsyncClient, AsyncOperatorClient, Client, OperatorClient, Webhook, errors

from .conftest import PIX, CallbackServer, unique

OPERATOR_KEY = "op_dev_0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@dataclass
class FreshTenant:
    id: str
    test_key: str
    live_key: str
    secret: str


@pytest.fixture
def operator(api_url: str) -> Iterator[OperatorClient]:
    with OperatorClient(api_key=OPERATOR_KEY, base_url=api_url) as o:
        yield o


@pytest.fixture
def tenant(operator: OperatorClient, callback_server: CallbackServer) -> FreshTenant:
    t = operator.tenants.create({"name": unique("py-sdk"), "callback_url": callback_server.url})
    assert t.api_key.key.startswith("sk_live_") and t.test_api_key.key.startswith("sk_test_")
    assert t.callback_secret.startswith("whsec_") and t.callback_secret not in repr(t)
    return FreshTenant(t.id, t.test_api_key.key, t.api_key.key, t.callback_secret)


@pytest.fixture
def client(api_url: str, tenant: FreshTenant) -> Iterator[Client]:
    with Client(api_key=tenant.test_key, base_url=api_url) as c:
        yield c


def test_operator_tenants(operator: OperatorClient, tenant: FreshTenant) -> None:
    assert tenant.id in [t.id for t in operator.tenants.list()]
    renamed = operator.tenants.update(tenant.id, {"name": "renamed", "rate_limit_per_minute": 500})
    assert (renamed.name, renamed.rate_limit_per_minute, renamed.disabled) == ("renamed", 500, False)
    with pytest.raises(errors.NotFoundError):
        operator.tenants.update("ten_does_not_exist", {"disabled": True})


def test_cancel_and_expires_in(client: Client) -> None:
    p = client.payments.create({**PIX, "expires_in": 600})  # type: ignore[typeddict-item]
    assert p.status == "pending" and p.pix is not None and p.pix.expires_at
    c = client.payments.cancel(p.id)
    assert c.id == p.id and c.status == "canceled" and c.idempotency_key
    assert client.payments.cancel(p.id).status == "canceled"  # canceled already: answered as it is
    with pytest.raises(errors.InvalidRequestError) as e:
        client.payments.create({**PIX, "method": "card", "card": {"tokens": {"stripe": "pm_card_visa"}},  # type: ignore[typeddict-item]
                                "expires_in": 600})
    assert e.value.param == "expires_in"
    assert all(x.late_payment is None for x in client.payments.list(late_payment=False, limit=5).data)


def test_usage(client: Client) -> None:
    client.payments.create({**PIX})  # type: ignore[typeddict-item]
    month = client.usage.retrieve()
    assert month.object == "usage" and month.totals is not None and month.totals.payments.total >= 1
    assert month.period is not None and month.period.status == "open"
    day = month.as_of[:10]
    series = client.usage.retrieve({"from": day, "to": day, "granularity": "day"})
    assert series.object == "usage_series" and [d.date for d in series.days] == [day]
    assert series.days[0].payments.total >= 1


def test_api_keys_create_list_revoke(client: Client, api_url: str) -> None:
    new = client.api_keys.create({"expires_in_days": 1})
    assert new.key.startswith("sk_test_") and new.mode == "test" and new.key not in repr(new)
    listed = client.api_keys.list()
    assert new.id in [k.id for k in listed] and any(k.current for k in listed)
    with Client(api_key=new.key, base_url=api_url) as other:
        assert len(other.gateways.list()) >= 1
        assert client.api_keys.revoke(new.id).deleted
        with pytest.raises(errors.AuthenticationError):
            other.gateways.list()
    with pytest.raises(errors.InvalidRequestError) as e:  # a test key makes only test keys
        client.api_keys.create({"mode": "live"})
    assert e.value.code == "livemode_required"


def test_callback_secrets_rotate(client: Client, api_url: str, tenant: FreshTenant) -> None:
    before = client.webhook_secrets.list()
    assert len(before.data) >= 1 and before.data[0].current and before.secret is None
    with pytest.raises(errors.InvalidRequestError) as e:  # the secret signs live callbacks too
        client.webhook_secrets.rotate()
    assert e.value.code == "livemode_required"
    with Client(api_key=tenant.live_key, base_url=api_url) as live:
        rotated = live.webhook_secrets.rotate({"grace_hours": 1})
    assert rotated.secret and rotated.secret.startswith("whsec_")
    assert rotated.secret not in repr(rotated)
    assert len(rotated.data) == len(before.data) + 1 and rotated.data[0].current
    assert len(client.webhook_secrets.list().data) == len(rotated.data)


def test_audit_routing_and_credentials(client: Client, api_url: str, tenant: FreshTenant) -> None:
    client.routing.update({"pix": ["asaas", "efi"]})
    entries = client.audit.list(limit=5)
    assert entries.data and any("routing" in e.action for e in entries)
    with pytest.raises(errors.InvalidRequestError) as e:
        client.gateway_credentials.retrieve("stripe")
    assert e.value.code == "livemode_required"
    with pytest.raises(errors.InvalidStateError):  # no credentials: nothing to reconcile
        client.reconciliation.create()
    with Client(api_key=tenant.live_key, base_url=api_url) as live:
        with pytest.raises(errors.NotFoundError):
            live.gateway_credentials.retrieve("stripe")
        # a Stripe account at an address where nothing listens (the dev server allows it)
        put = live.gateway_credentials.put("stripe", {"secret_key": "sk_test_not_real_123", "base_url": "http://127.0.0.1:9"})
        assert put.live and put.version == 1 and "sk_test_not_real_123" not in str(put.raw)
        assert live.gateway_credentials.retrieve("stripe").fingerprint == put.fingerprint
        verdict = live.gateway_credentials.verify("stripe")
        assert not verdict.ok and verdict.error is not None and verdict.error.error_class == "unavailable"
        gone = live.gateway_credentials.delete("stripe")
        assert gone.deleted and gone.version == 2
        assert live.reconciliation.list(limit=5).has_more is False
        with pytest.raises(errors.NotFoundError):
            live.reconciliation.retrieve("recon_unknown")


def test_webhook_endpoint(client: Client, callback_server: CallbackServer) -> None:
    ep = client.webhook_endpoint.retrieve()
    assert ep.url == callback_server.url and ep.state == "healthy"
    again = client.webhook_endpoint.enable()
    assert again.state == "healthy" and again.resent == 0 and again.more_backlog is False
    own = client.webhook_endpoint.retrieve(url="https://never-used.example/hooks")
    assert own.url == "https://never-used.example/hooks" and own.failures == 0


def test_settings_and_test_event(
    client: Client, api_url: str, tenant: FreshTenant, callback_server: CallbackServer
) -> None:
    """Needs GET/PATCH /v1/settings and POST /v1/webhook_endpoint/test (issue 24)."""
    s = client.settings.retrieve()
    assert (s.tenant_id, s.livemode, s.callback_url) == (tenant.id, False, callback_server.url)
    sent = client.webhook_endpoint.test()
    assert sent.event.type == "webhook.test" and sent.delivery.delivered and sent.delivery.response_status == 204
    got = callback_server.inbox.get(timeout=5)
    ev = Webhook(tenant.secret).verify(got.body, got.headers)
    assert ev.type == "webhook.test" and ev.id == sent.event.id
    with pytest.raises(errors.InvalidRequestError) as bad:
        client.settings.update({"callback_url": "not a url"})
    assert (bad.value.code, bad.value.param) == ("invalid_callback_url", "callback_url")
    # Live events go to the same URL: a test key may not move it, a live key may.
    with pytest.raises(errors.InvalidRequestError) as test_key:
        client.settings.update({"callback_url": None})
    assert test_key.value.code == "livemode_required"
    with Client(api_key=tenant.live_key, base_url=api_url) as live:
        cleared = live.settings.update({"callback_url": None})
    assert cleared.callback_url is None and cleared.livemode is True
    with pytest.raises(errors.InvalidRequestError) as none:
        client.webhook_endpoint.test()
    assert (none.value.status, none.value.code) == (422, "no_callback_url")


async def test_async_account_operations(api_url: str, tenant: FreshTenant) -> None:
    async with AsyncOperatorClient(api_key=OPERATOR_KEY, base_url=api_url) as op:
        assert tenant.id in [t.id for t in await op.tenants.list()]
    async with AsyncClient(api_key=tenant.test_key, base_url=api_url) as c:
        p = await c.payments.create({**PIX})  # type: ignore[typeddict-item]
        assert (await c.payments.cancel(p.id)).status == "canceled"
        assert (await c.usage.retrieve()).totals is not None
        assert len(await c.api_keys.list()) >= 1
        assert (await c.webhook_endpoint.retrieve()).state == "healthy"
        assert (await c.audit.list()).has_more is False
