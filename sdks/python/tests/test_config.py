"""Client settings: base_url checked at construction (sync, async and operator alike), the
defaults and environment variables, and the shape of the new account objects."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from payment_orchestrator import (
    DEFAULT_BASE_URL,
    AsyncClient,
    AsyncOperatorClient,
    Client,
    ConfigurationError,
    OperatorClient,
    PaymentOrchestratorError,
    Settings,
    WebhookTest,
)

CLIENTS: list[Any] = [Client, AsyncClient, OperatorClient, AsyncOperatorClient]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ORCHESTRATOR_API_KEY", "ORCHESTRATOR_BASE_URL", "ORCHESTRATOR_OPERATOR_KEY"):
        monkeypatch.delenv(name, raising=False)


BAD_URLS = [
    "127.0.0.1:8080",  # no scheme
    "ftp://example.com",
    "http://",  # no host
    "https://:8080",
    "http://example.com?x=1",
    "http://example.com/#frag",
    "http://example.com?",
    "http://user:pw@example.com",
    "http://example.com:99999",
    "http://example.com:port",
    " http://example.com",
    "http://exa mple.com",
    "http://example.com/\n",
]


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_base_url_fails_at_construction(cls: Any, url: str) -> None:
    with pytest.raises(ConfigurationError) as e:
        cls(api_key="k", base_url=url)
    assert isinstance(e.value, ValueError) and isinstance(e.value, PaymentOrchestratorError)
    assert "k" != str(e.value)


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_bad_base_url_from_env_names_the_variable(cls: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_BASE_URL", "localhost:8080")
    with pytest.raises(ConfigurationError, match="ORCHESTRATOR_BASE_URL"):
        cls(api_key="k")


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://pay.example.com/", "https://pay.example.com"),
        ("https://pay.example.com/api/", "https://pay.example.com/api"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_good_base_urls(url: str, kept: str) -> None:
    assert Client(api_key="k", base_url=url).base_url == kept
    assert AsyncClient(api_key="k", base_url=url).base_url == kept


def test_defaults_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert DEFAULT_BASE_URL == "http://127.0.0.1:8080"
    assert Client(api_key="k").base_url == DEFAULT_BASE_URL
    monkeypatch.setenv("ORCHESTRATOR_BASE_URL", "https://pay.example.com/")
    monkeypatch.setenv("ORCHESTRATOR_API_KEY", "sk_test_env")
    c = Client()
    assert c.base_url == "https://pay.example.com" and c._api_key.reveal() == "sk_test_env"
    assert Client(base_url="http://other:1").base_url == "http://other:1"  # the argument wins


def test_missing_keys_are_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="ORCHESTRATOR_API_KEY"):
        Client()
    with pytest.raises(ConfigurationError, match="ORCHESTRATOR_OPERATOR_KEY"):
        OperatorClient()
    monkeypatch.setenv("ORCHESTRATOR_API_KEY", "sk_test_tenant")
    with pytest.raises(ConfigurationError):  # a tenant key never stands in for the operator's
        AsyncOperatorClient()
    monkeypatch.setenv("ORCHESTRATOR_OPERATOR_KEY", "op_x")
    assert OperatorClient()._api_key.reveal() == "op_x"


def _answering(body: dict[str, Any], status: int = 200) -> tuple[Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return Client(api_key="k", base_url="http://t", http_client=http, max_retries=0), seen


def test_settings_objects() -> None:
    body = {"object": "settings", "tenant_id": "ten_demo_a", "name": "Demo A", "livemode": False,
            "callback_url": "https://shop.example/hooks"}
    c, seen = _answering(body)
    s = c.settings.update({"callback_url": None})
    assert isinstance(s, Settings) and s.callback_url == "https://shop.example/hooks" and s.livemode is False
    assert seen[0].method == "PATCH" and json.loads(seen[0].content) == {"callback_url": None}
    assert "idempotency-key" not in seen[0].headers


def test_webhook_test_object_and_no_callback_url() -> None:
    body = {"object": "webhook_test",
            "event": {"id": "evt_1", "object": "event", "type": "webhook.test", "created_at": "2026-01-01T00:00:00Z",
                      "livemode": False, "data": {"hello": "world"}},
            "delivery": {"url": "https://shop.example/hooks", "delivered": False, "response_status": 500,
                         "duration_ms": 12, "error": "HTTP 500"}}
    c, seen = _answering(body)
    t = c.webhook_endpoint.test()
    assert isinstance(t, WebhookTest)
    assert (t.event.type, t.delivery.delivered, t.delivery.response_status, t.delivery.error) == (
        "webhook.test", False, 500, "HTTP 500")
    assert seen[0].method == "POST" and seen[0].url.path == "/v1/webhook_endpoint/test"
    c, _ = _answering({"error": {"type": "invalid_request", "code": "no_callback_url", "message": "no URL"}}, 422)
    with pytest.raises(PaymentOrchestratorError) as e:
        c.webhook_endpoint.test()
    assert (e.value.status, e.value.code) == (422, "no_callback_url")


def test_new_api_key_repr_hides_the_key() -> None:
    c, _ = _answering({"id": "key_1", "object": "api_key", "key": "sk_test_SECRET123456", "mode": "test",
                       "prefix": "sk_test_", "last4": "3456", "created_at": "2026-01-01T00:00:00Z", "expires_at": None})
    k = c.api_keys.create({"mode": "test"})
    assert k.key == "sk_test_SECRET123456" and "SECRET" not in repr(k)
