"""SDK <-> spec parity, read from docs/openapi.yaml.

* every operation of the spec (but ``health`` and the gateways' webhook intake) is in the SDK's
  table with the same method and path, and the table has nothing the spec lacks (beyond the
  operations of issue 24 the spec has not got yet, listed in ``NEW_OPERATIONS``);
* every SDK method, sync and async, called through a recording ``httpx.MockTransport``, sends
  the method and path the spec gives for its operation, and every public resource method is
  exercised here;
* every documented query parameter and body property is a key of the SDK's ``TypedDict`` for
  that operation, and is sent when given to the method.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from payment_orchestrator import AsyncClient, AsyncOperatorClient, Client, OperatorClient
from payment_orchestrator._operations import NOT_IN_SDK, OPERATIONS

from . import spec

PATH_VALUES = {"id": "id_1", "gateway": "stripe"}
"""What the cases below pass for each path parameter."""

NEW_OPERATIONS = {
    "getSettings": ("GET", "/v1/settings"),
    "updateSettings": ("PATCH", "/v1/settings"),
    "sendTestWebhook": ("POST", "/v1/webhook_endpoint/test"),
}
"""Operations agreed for issue 24 that the spec of this branch may not have yet."""

Invoke = Callable[[Any, dict[str, Any], dict[str, Any]], Any]

# operationId -> [(resource.method, how to call it with the query kwargs q and body b)]
CASES: dict[str, list[tuple[str, Invoke]]] = {
    "createPayment": [("payments.create", lambda m, q, b: m(b))],
    "listPayments": [("payments.list", lambda m, q, b: m(**q))],
    "getPayment": [
        ("payments.retrieve", lambda m, q, b: m("id_1")),
        ("payments.retrieve", lambda m, q, b: m("id_1", expand="customer")),
        ("payments.refresh", lambda m, q, b: m("id_1")),
    ],
    "cancelPayment": [("payments.cancel", lambda m, q, b: m("id_1"))],
    "createRefund": [("refunds.create", lambda m, q, b: m("id_1", b))],
    "updateRouting": [("routing.update", lambda m, q, b: m(b))],
    "listGateways": [("gateways.list", lambda m, q, b: m())],
    "putGatewayCredentials": [("gateway_credentials.put", lambda m, q, b: m("stripe", b))],
    "getGatewayCredentials": [("gateway_credentials.retrieve", lambda m, q, b: m("stripe"))],
    "deleteGatewayCredentials": [("gateway_credentials.delete", lambda m, q, b: m("stripe"))],
    "verifyGatewayCredentials": [("gateway_credentials.verify", lambda m, q, b: m("stripe"))],
    "listEvents": [("events.list", lambda m, q, b: m(**q))],
    "getEvent": [("events.retrieve", lambda m, q, b: m("id_1"))],
    "resendEvent": [("events.resend", lambda m, q, b: m("id_1"))],
    "listUnmatchedWebhooks": [("unmatched_webhooks.list", lambda m, q, b: m(**q))],
    "getUsage": [("usage.retrieve", lambda m, q, b: m(q))],
    "createApiKey": [("api_keys.create", lambda m, q, b: m(b))],
    "listApiKeys": [("api_keys.list", lambda m, q, b: m())],
    "revokeApiKey": [("api_keys.revoke", lambda m, q, b: m("id_1"))],
    "listWebhookSecrets": [("webhook_secrets.list", lambda m, q, b: m())],
    "rotateWebhookSecret": [("webhook_secrets.rotate", lambda m, q, b: m(b))],
    "getWebhookEndpoint": [("webhook_endpoint.retrieve", lambda m, q, b: m(**q))],
    "enableWebhookEndpoint": [("webhook_endpoint.enable", lambda m, q, b: m(**q))],
    "sendTestWebhook": [("webhook_endpoint.test", lambda m, q, b: m())],
    "listAudit": [("audit.list", lambda m, q, b: m(**q))],
    "createReconciliationRuns": [("reconciliation.create", lambda m, q, b: m(b))],
    "listReconciliationRuns": [("reconciliation.list", lambda m, q, b: m(**q))],
    "getReconciliationRun": [("reconciliation.retrieve", lambda m, q, b: m("id_1"))],
    "getSettings": [("settings.retrieve", lambda m, q, b: m())],
    "updateSettings": [("settings.update", lambda m, q, b: m(b))],
    "adminCreateTenant": [("tenants.create", lambda m, q, b: m(b))],
    "adminListTenants": [("tenants.list", lambda m, q, b: m())],
    "adminUpdateTenant": [("tenants.update", lambda m, q, b: m("id_1", b))],
}


def spec_ops() -> dict[str, spec.SpecOperation]:
    return {k: v for k, v in spec.operations().items() if k not in NOT_IN_SDK}


def expected(op_id: str) -> tuple[str, str]:
    """The (method, path) the spec gives, else the agreed one of a new operation."""
    ops = spec_ops()
    if op_id in ops:
        return ops[op_id].method, ops[op_id].path
    return NEW_OPERATIONS[op_id]


def filled(template: str) -> str:
    out = template
    for name, value in PATH_VALUES.items():
        out = out.replace("{" + name + "}", value)
    assert "{" not in out, f"no test value for a path parameter of {template}"
    return out


def sample(schema: dict[str, Any]) -> Any:
    """A value of the schema's kind (the transport is fake: only the name matters)."""
    enum = schema.get("enum")
    if enum == ["true", "false"]:
        return True
    if isinstance(enum, list) and enum:
        return enum[0]
    t = schema.get("type")
    t = next((x for x in t if x != "null"), "string") if isinstance(t, list) else t
    return {"integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}.get(str(t), "x")


# --- the table against the spec ------------------------------------------------------------------


def test_every_spec_operation_is_in_the_sdk_table() -> None:
    ops = spec_ops()
    missing = sorted(set(ops) - set(OPERATIONS))
    assert not missing, f"operations of docs/openapi.yaml without an SDK method: {missing}"


def test_table_matches_the_spec_method_and_path() -> None:
    ops = spec_ops()
    wrong = {
        k: ((o.method, o.template), (ops[k].method, ops[k].path))
        for k, o in OPERATIONS.items()
        if k in ops and (o.method, o.template) != (ops[k].method, ops[k].path)
    }
    assert not wrong, f"SDK (method, path) != spec: {wrong}"


def test_table_has_nothing_the_spec_lacks_but_the_agreed_new_operations() -> None:
    extra = set(OPERATIONS) - set(spec_ops()) - set(NEW_OPERATIONS)
    assert not extra, f"SDK operations that docs/openapi.yaml does not have: {sorted(extra)}"
    for k, (method, path) in NEW_OPERATIONS.items():
        assert (OPERATIONS[k].method, OPERATIONS[k].template) == (method, path)


def test_the_new_operations_of_issue_24_are_in_the_spec() -> None:
    """Fails until the settings and test-event operations are documented (same ids)."""
    absent = sorted(set(NEW_OPERATIONS) - set(spec_ops()))
    assert not absent, f"docs/openapi.yaml lacks {absent} (or names them otherwise)"


def test_operator_operations_are_the_admin_ones() -> None:
    for k, o in OPERATIONS.items():
        assert o.operator == o.template.startswith("/v1/admin/"), k


def _keys(typed_dicts: tuple[Any, ...]) -> set[str]:
    out: set[str] = set()
    for td in typed_dicts:
        out |= set(td.__required_keys__) | set(td.__optional_keys__)
    return out


@pytest.mark.parametrize("op_id", sorted(spec.operations()))
def test_param_types_hold_every_documented_name(op_id: str) -> None:
    if op_id in NOT_IN_SDK:
        return
    s = spec.operations()[op_id]
    o = OPERATIONS.get(op_id)
    assert o is not None, f"{op_id} has no SDK method"
    missing_q = sorted(set(s.query) - _keys(o.query))
    missing_b = sorted(set(s.body) - _keys(o.body))
    assert not missing_q, f"{op_id}: query parameters the SDK's params type lacks: {missing_q}"
    assert not missing_b, f"{op_id}: body properties the SDK's params type lacks: {missing_b}"


# --- the methods, through a recording transport ----------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"data": [], "has_more": False})


def _clients(rec: Recorder) -> tuple[Client, OperatorClient, AsyncClient, AsyncOperatorClient]:
    sync_http = httpx.Client(transport=httpx.MockTransport(rec))
    async_http = httpx.AsyncClient(transport=httpx.MockTransport(rec))
    kw: dict[str, Any] = {"base_url": "http://sdk.test", "max_retries": 0}
    return (
        Client("sk_test_x", http_client=sync_http, **kw),
        OperatorClient("op_x", http_client=sync_http, **kw),
        AsyncClient("sk_test_x", http_client=async_http, **kw),
        AsyncOperatorClient("op_x", http_client=async_http, **kw),
    )


def _bound(client: Any, dotted: str) -> Any:
    resource, method = dotted.split(".")
    return getattr(getattr(client, resource), method)


def _sample_inputs(op_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    s = spec_ops().get(op_id)
    if s is None:
        return {}, {}
    return {k: sample(v) for k, v in s.query.items()}, {k: sample(v) for k, v in s.body.items()}


def _check(op_id: str, dotted: str, req: httpx.Request, q: dict[str, Any], b: dict[str, Any]) -> set[str]:
    method, template = expected(op_id)
    assert req.method == method, f"{dotted} sent {req.method}, spec says {method} ({op_id})"
    assert req.url.raw_path.decode().split("?")[0] == filled(template), (
        f"{dotted} sent {req.url.path}, spec says {template} ({op_id})"
    )
    if b:
        sent = json.loads(req.content)
        assert set(b) <= set(sent), f"{dotted} dropped body properties {sorted(set(b) - set(sent))}"
    return set(parse_qs(urlsplit(str(req.url)).query))


@pytest.mark.parametrize("op_id", sorted(CASES))
def test_sync_methods_send_the_spec_method_path_and_params(op_id: str) -> None:
    rec = Recorder()
    client, operator, _, _ = _clients(rec)
    q, b = _sample_inputs(op_id)
    sent_query: set[str] = set()
    for dotted, invoke in CASES[op_id]:
        target = operator if OPERATIONS[op_id].operator else client
        rec.requests.clear()
        invoke(_bound(target, dotted), q, b)
        assert len(rec.requests) == 1, f"{dotted} sent {len(rec.requests)} requests"
        sent_query |= _check(op_id, dotted, rec.requests[0], q, b)
    assert set(q) <= sent_query, f"{op_id}: query parameters never sent: {sorted(set(q) - sent_query)}"


@pytest.mark.parametrize("op_id", sorted(CASES))
async def test_async_methods_send_the_spec_method_path_and_params(op_id: str) -> None:
    rec = Recorder()
    _, _, client, operator = _clients(rec)
    q, b = _sample_inputs(op_id)
    sent_query: set[str] = set()
    for dotted, invoke in CASES[op_id]:
        target = operator if OPERATIONS[op_id].operator else client
        rec.requests.clear()
        result = invoke(_bound(target, dotted), q, b)
        assert inspect.isawaitable(result), f"async {dotted} returned {type(result).__name__}"
        await result
        assert len(rec.requests) == 1, f"async {dotted} sent {len(rec.requests)} requests"
        sent_query |= _check(op_id, dotted, rec.requests[0], q, b)
    assert set(q) <= sent_query, f"{op_id}: query parameters never sent: {sorted(set(q) - sent_query)}"


def test_every_operation_has_a_case() -> None:
    assert set(CASES) == set(OPERATIONS), sorted(set(CASES) ^ set(OPERATIONS))


def _public_methods(client: Any) -> set[str]:
    out: set[str] = set()
    for rname, resource in vars(client).items():
        if rname.startswith("_"):
            continue
        for mname, member in inspect.getmembers(resource, callable):
            if not mname.startswith("_"):
                out.add(f"{rname}.{mname}")
    return out


def test_every_public_resource_method_is_exercised() -> None:
    rec = Recorder()
    client, operator, aclient, aoperator = _clients(rec)
    cased = {dotted for cases in CASES.values() for dotted, _ in cases}
    for c in (client, operator, aclient, aoperator):
        untested = _public_methods(c) - cased
        assert not untested, f"{type(c).__name__} methods no parity case calls: {sorted(untested)}"
    for sync_c, async_c in ((client, aclient), (operator, aoperator)):
        assert _public_methods(sync_c) == _public_methods(async_c), "sync and async differ"
        for dotted in _public_methods(sync_c):
            s_sig = inspect.signature(_bound(sync_c, dotted)).parameters
            a_sig = inspect.signature(_bound(async_c, dotted)).parameters
            assert [(p.name, p.kind, p.default) for p in s_sig.values()] == [
                (p.name, p.kind, p.default) for p in a_sig.values()
            ], f"{dotted}: the sync and async signatures differ"
