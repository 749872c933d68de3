"""Not a test module: deliberate typos that ``mypy --strict`` MUST reject. ci.sh runs mypy on
this file, requires a non-zero exit, and requires each ``# expect: <code>`` line to be reported
with that error code (and nothing else to be reported), so precise types cannot silently decay
to ``str``."""

from __future__ import annotations

from payment_orchestrator import Client, CustomerParams, PaymentCreateParams, errors


def typos(client: Client) -> None:
    p = client.payments.retrieve("pay_1")
    if p.status == "suceeded":  # expect: comparison-overlap
        pass
    if p.method == "piks":  # expect: comparison-overlap
        pass
    if p.currency == "R$":  # expect: comparison-overlap
        pass
    params: PaymentCreateParams = {"amount": 1, "currency": "BRL", "method": "piks"}  # expect: typeddict-item
    bad_currency: PaymentCreateParams = {"amount": 1, "currency": "BRLL", "method": "pix"}  # expect: typeddict-item
    customer: CustomerParams = {"nmae": "Maria"}  # expect: typeddict-unknown-key typeddict-item
    client.payments.list(status="paid")  # expect: arg-type
    client.events.list(type="payment.succeded")  # expect: arg-type
    client.gateway_credentials.verify("stripee")  # expect: arg-type
    client.routing.update({"pix": ["efi", "asas"]})  # expect: list-item
    client.api_keys.create({"mode": "production"})  # expect: arg-type
    g = client.gateways.list().data[0]
    if g.state == "half-open":  # expect: comparison-overlap
        pass
    try:
        client.payments.cancel(p.id)
    except errors.APIError as e:
        if e.code == "invalid_sate":  # expect: comparison-overlap
            pass
        if e.type == "rate_limit":  # expect: comparison-overlap
            pass
    print(params, bad_currency, customer)
