"""Not a test module: ci.sh runs ``mypy --strict`` on this file (against the source and against
the installed wheel). Each ``assert_type`` pins the precise type users get; it is never run."""

from __future__ import annotations

from typing import Literal

from typing_extensions import assert_type

from payment_orchestrator import (
    AsyncClient,
    AsyncOperatorClient,
    AsyncPageRequest,
    Client,
    ConfigurationError,
    Currency,
    CustomerParams,
    ErrorCode,
    ErrorType,
    Event,
    EventType,
    GatewayName,
    NewApiKey,
    ObjectList,
    OperatorClient,
    Page,
    Payment,
    PaymentCreateParams,
    PaymentMethod,
    PaymentStatus,
    ReconciliationRun,
    Settings,
    Tenant,
    UsageParams,
    WebhookEndpoint,
    WebhookTest,
    errors,
)


def sync_types(client: Client, operator: OperatorClient) -> None:
    customer: CustomerParams = {"name": "Maria", "document": "52998224725"}
    params: PaymentCreateParams = {
        "amount": 1990,
        "currency": "BRL",
        "method": "pix",
        "customer": customer,
        "expires_in": 3600,
    }
    p = client.payments.create(params)
    assert_type(p, Payment)
    assert_type(p.status, PaymentStatus)
    assert_type(p.method, PaymentMethod)
    assert_type(p.currency, Currency)
    assert_type(p.gateway, GatewayName | None)
    assert_type(client.payments.cancel(p.id), Payment)
    assert_type(client.payments.list(status="pending", late_payment=True), Page[Payment])
    ev = client.events.retrieve("evt_1")
    assert_type(ev.type, EventType)
    assert_type(ev.delivery.state, Literal["pending", "delivered", "failed", "no_endpoint"])
    g = client.gateways.list().data[0]
    assert_type(g.state, Literal["closed", "open", "half_open"])
    assert_type(g.gateway, GatewayName)
    assert_type(client.gateway_credentials.verify("stripe").ok, bool)
    assert_type(client.api_keys.create({"mode": "test"}), NewApiKey)
    usage: UsageParams = {"from": "2026-01-01", "to": "2026-01-31", "granularity": "day"}
    assert_type(client.usage.retrieve(usage).days[0].payments.total, int)
    assert_type(client.reconciliation.create({"gateway": "efi"}), ObjectList[ReconciliationRun])
    assert_type(client.webhook_endpoint.enable(url="https://x.example/h"), WebhookEndpoint)
    assert_type(client.webhook_endpoint.test(), WebhookTest)
    assert_type(client.settings.update({"callback_url": None}), Settings)
    assert_type(client.webhook_secrets.rotate({"grace_hours": 1}).secret, str | None)
    assert_type(operator.tenants.update("ten_1", {"disabled": True}), Tenant)
    try:
        client.refunds.create(p.id, {"amount": 100})
    except errors.APIError as e:
        assert_type(e.type, ErrorType | None)
        assert_type(e.code, ErrorCode | None)
        if e.code == "amount_exceeds_refundable":
            print(e.param)
    assert issubclass(ConfigurationError, ValueError)


async def async_types(client: AsyncClient, operator: AsyncOperatorClient) -> None:
    p = await client.payments.cancel("pay_1")
    assert_type(p.status, PaymentStatus)
    assert_type(client.events.list(type="payment.succeeded"), AsyncPageRequest[Event])
    assert_type(await client.settings.retrieve(), Settings)
    assert_type((await client.webhook_endpoint.test()).delivery.response_status, int | None)
    assert_type(await operator.tenants.list(), ObjectList[Tenant])
