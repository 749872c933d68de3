"""Faults between the SDK and the real dev server: one logical call = one key = one payment.

A local TCP proxy sits in front of the dev server and misbehaves on its first connection only
(see ``FaultProxy`` in conftest); later connections are piped through untouched.
"""

from __future__ import annotations

from typing import Any

import pytest

from payment_orchestrator import AsyncClient, Client, RetryInfo, errors

from .conftest import KEY_A, PIX, unique


def _key_in(raw_request: bytes) -> str:
    for line in raw_request.split(b"\r\n"):
        if line.lower().startswith(b"idempotency-key:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError("no Idempotency-Key in the faulted request")


def _exactly_one(api_url: str, ref: str) -> str:
    with Client(api_key=KEY_A, base_url=api_url) as direct:
        found = list(direct.payments.list(reference=ref, limit=10))
    assert len(found) == 1, [p.id for p in found]
    return found[0].id


@pytest.mark.parametrize(
    "fault,replayed,error_cls",
    [
        # reset before the server saw anything: the retry creates the payment
        ("reset", False, errors.APIConnectionError),
        # the server created it, the answer was lost: the retry (same key) gets the stored answer
        ("forward_then_reset", True, errors.APIConnectionError),
        # 503 first: the retry creates the payment
        ("503", False, errors.ServiceUnavailableError),
    ],
)
def test_one_call_one_key_one_payment(
    api_url: str, fault_proxy: Any, fault: str, replayed: bool, error_cls: type
) -> None:
    proxy = fault_proxy(api_url, fault)
    retries: list[RetryInfo] = []
    ref = unique(f"py-fault-{fault}")
    with Client(api_key=KEY_A, base_url=proxy.url, on_retry=retries.append) as c:
        p = c.payments.create({**PIX, "reference": ref})  # type: ignore[typeddict-item]
    assert len(proxy.faulted_requests) == 1
    assert _key_in(proxy.faulted_requests[0]) == p.idempotency_key
    assert len(retries) == 1 and isinstance(retries[0].error, error_cls)
    assert retries[0].idempotency_key == p.idempotency_key
    assert p.replayed is replayed
    assert _exactly_one(api_url, ref) == p.id
    with Client(api_key=KEY_A, base_url=api_url) as direct:
        assert direct.payments.retrieve(p.id).reference == ref


async def test_async_lost_answer_is_replayed(api_url: str, fault_proxy: Any) -> None:
    proxy = fault_proxy(api_url, "forward_then_reset")
    ref = unique("py-fault-async")
    async with AsyncClient(api_key=KEY_A, base_url=proxy.url) as c:
        p = await c.payments.create({**PIX, "reference": ref})  # type: ignore[typeddict-item]
    assert p.replayed and _key_in(proxy.faulted_requests[0]) == p.idempotency_key
    assert _exactly_one(api_url, ref) == p.id


def test_no_retries_surfaces_the_key_for_a_later_retry(api_url: str, fault_proxy: Any) -> None:
    """With retries off the caller gets the key on the error and can finish the call later."""
    proxy = fault_proxy(api_url, "forward_then_reset")
    ref = unique("py-fault-manual")
    with Client(api_key=KEY_A, base_url=proxy.url, max_retries=0) as c:
        with pytest.raises(errors.APIConnectionError) as ei:
            c.payments.create({**PIX, "reference": ref})  # type: ignore[typeddict-item]
        key = ei.value.idempotency_key
        assert key and ei.value.attempts == 1
        p = c.payments.create({**PIX, "reference": ref}, idempotency_key=key)  # type: ignore[typeddict-item]
    assert p.replayed and p.idempotency_key == key
    assert _exactly_one(api_url, ref) == p.id


def test_hanging_first_connection_times_out_then_retry_succeeds(api_url: str, fault_proxy: Any) -> None:
    proxy = fault_proxy(api_url, "hang")
    ref = unique("py-fault-hang")
    retries: list[RetryInfo] = []
    with Client(api_key=KEY_A, base_url=proxy.url, timeout=1.0, on_retry=retries.append) as c:
        p = c.payments.create({**PIX, "reference": ref})  # type: ignore[typeddict-item]
    assert isinstance(retries[0].error, errors.APITimeoutError)
    assert _key_in(proxy.faulted_requests[0]) == p.idempotency_key
    assert _exactly_one(api_url, ref) == p.id
