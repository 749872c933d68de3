"""Schemathesis hooks for infra/test.sh, which runs every check (`--checks all`).

`not_a_server_error_but_gateway_502`: schemathesis's `not_a_server_error`, except for the one
documented 5xx answer that is a contract, not a fault: 502 with `error.type == "gateway"` — every
gateway failed and none holds a charge. The dev server's simulators produce it on purpose for
amounts ending in 53 or 56, which generated payments hit. Any other 5xx (500, 503, or a 502 of
another kind) fails exactly as the built-in check would. test.sh excludes the built-in one.

`br-tax-id`: the format of `customer.document` in docs/openapi.yaml — a CPF whose two check
digits are right. A schema cannot compute check digits, so the format is named there and
generated here; without it every generated document would be refused (400
`invalid_document`) and the positive-data check would report the schema, not the server.

`before_call` on `GET /v1/usage` and `POST /v1/reconciliation/runs`: OpenAPI cannot say that
parameters exclude or need each other, or that a window is bounded by the clock; each
operation's description says it (usage: `month` or `from`+`to`, `granularity` only with them,
`to` not before `from`, at most 92 days; reconciliation: `from` before `to`, `to` not in the
future, at most 31 days). The hook brings the requests meant to be valid within those rules
(in every phase, which a filter would not reach); a request meant to be invalid goes out as
generated, and a 400 for a valid one still fails.
"""

import datetime
import json

import schemathesis
from hypothesis import strategies as st


@schemathesis.check
def not_a_server_error_but_gateway_502(ctx, response, case):
    if response.status_code < 500:
        return None
    if response.status_code == 502:
        try:
            body = json.loads(response.text)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error", {}).get("type") == "gateway":
            return None
    raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")


def _check_digit(digits: list[int]) -> int:
    """The CPF rule: weights n+1 … 2 over the n digits so far, remainder of 11 (10 → 0)."""
    weight = len(digits) + 1
    total = sum(d * (weight - i) for i, d in enumerate(digits))
    return (total * 10 % 11) % 10


def _cpf(base: list[int]) -> str:
    first = _check_digit(base)
    second = _check_digit(base + [first])
    return "".join(str(d) for d in base + [first, second])


schemathesis.openapi.format(
    "br-tax-id",
    st.lists(st.integers(min_value=0, max_value=9), min_size=9, max_size=9)
    .filter(lambda d: len(set(d)) > 1)
    .map(_cpf),
)


def _day(value):
    try:
        return datetime.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def _instant(value):
    if not isinstance(value, str):
        return None
    try:
        t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else None


def _usage_query(query):
    """`GET /v1/usage`: `month`, or `from`+`to` (at most 92 days, `to` not before `from`), and
    `granularity` only with `from`+`to`."""
    if "month" in query:
        for k in ("from", "to", "granularity"):
            query.pop(k, None)
    elif ("from" in query) != ("to" in query):
        for k in ("from", "to", "granularity"):
            query.pop(k, None)
    elif "from" in query:
        a, b = _day(query["from"]), _day(query["to"])
        if a and b:
            a, b = min(a, b), max(a, b)
            b = min(b, a + datetime.timedelta(days=91))
            query["from"], query["to"] = a.isoformat(), b.isoformat()
    if "granularity" in query and "from" not in query:
        query.pop("granularity")


def _reconciliation_body(body):
    """`POST /v1/reconciliation/runs`: `from` before `to`, `to` not in the future, at most 31
    days; a window that breaks them is replaced by the default (the last 24 h)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = _instant(body.get("from")), _instant(body.get("to"))
    end_or_now = end or now
    start_or_default = start or end_or_now - datetime.timedelta(hours=24)
    ok = (
        start_or_default < end_or_now <= now
        and end_or_now - start_or_default <= datetime.timedelta(days=31)
    )
    if not ok:
        body.pop("from", None)
        body.pop("to", None)


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """The rules between fields that OpenAPI cannot state (each operation's description does)
    applied to the requests meant to be valid, in every phase; a request meant to be invalid
    goes out as generated."""
    meta = getattr(case, "meta", None)
    if meta is not None and not meta.generation.mode.is_positive:
        return
    label = case.operation.label
    if label == "GET /v1/usage" and isinstance(case.query, dict):
        _usage_query(case.query)
    elif label == "POST /v1/reconciliation/runs" and isinstance(case.body, dict):
        _reconciliation_body(case.body)
    elif label == "GET /v1/payments" and isinstance(case.query, dict):
        # A search (`customer_document`, `gateway_payment_id`) is one page and goes alone.
        if "customer_document" in case.query:
            case.query.pop("gateway_payment_id", None)
            case.query.pop("starting_after", None)
        elif "gateway_payment_id" in case.query:
            case.query.pop("starting_after", None)
