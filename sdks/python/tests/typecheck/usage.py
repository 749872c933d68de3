"""Not a test module: ci.sh type-checks this file with mypy --strict against the source and the *installed*
wheel (PEP 561, py.typed) to prove that users get the types. It is never run."""

from __future__ import annotations

from payment_orchestrator import AsyncClient, Client, Page, Payment, RetryInfo, Webhook, errors
from payment_orchestrator.types import PaymentCreateParams, RefundCreateParams


def on_retry(info: RetryInfo) -> None:
    print(info.attempt, info.delay, info.idempotency_key, info.error.code)


def sync_usage() -> None:
    client = Client(api_key="k", base_url="http://x", max_retries=2, timeout=30.0, on_retry=on_retry)
    p: Payment = client.payments.create(
        {"amount": 1990, "currency": "BRL", "method": "pix",
         "customer": {"name": "Maria", "document": "52998224725"}},
        idempotency_key=None,
    )
    key: str | None = p.idempotency_key
    replayed: bool = p.replayed
    request_id: str | None = p.request_id
    print(key, replayed, request_id, p.raw.get("new_field"))
    page: Page[Payment] = client.payments.list(limit=10)
    for q in page:
        print(q.id.upper(), q.amount + 1, q.pix.copy_paste if q.pix else None)
    params: PaymentCreateParams = {"amount": 1, "currency": "BRL", "method": "card",
                                   "card": {"tokens": {"stripe": "pm_card_visa"}}}
    refund: RefundCreateParams = {"amount": 1}
    client.payments.create(params)
    r = client.refunds.create(p.id, refund)
    print(r.payment.refunded_amount if r.payment else 0)
    print(client.routing.update({"pix": ["asaas", "efi"]}).routing["pix"])
    print([g.state for g in client.gateways.list()])
    try:
        client.events.resend("evt_1")
    except errors.APIError as e:
        print(e.status, e.type, e.code, e.param, e.request_id, e.idempotency_key, e.headers, e.body)
    ev = Webhook(["whsec_a", "whsec_b"]).verify(b"{}", {"webhook-id": "x"}, tolerance=300)
    if ev.payment is not None:
        print(ev.payment.status, ev.payment.version)


async def async_usage() -> None:
    async with AsyncClient(api_key="k") as c:
        async for p in c.payments.list(limit=5):
            print(p.id)
        page = await c.payments.list()
        async for q in page:
            print(q.status)
        e = await c.events.retrieve("evt_1")
        print(e.delivery.state)
