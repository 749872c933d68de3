"""The account-side objects read from answers shaped as docs/openapi.yaml documents them, and
their tolerance of missing fields."""

from __future__ import annotations

from payment_orchestrator import (
    CredentialsVerification,
    GatewayCredentials,
    NewTenant,
    Payment,
    ReconciliationRun,
    Usage,
    WebhookEndpoint,
    WebhookSecrets,
)

COUNTS = {
    "payments": {"total": 3, "by_status": {"succeeded": 2, "pending": 1},
                 "by_gateway": {"efi": {"pix": 2}, "stripe": {"card": 1}}, "failovers": 1, "late_payments": 0},
    "volume": {"BRL": {"created": 5000, "succeeded": 3000, "refunded": 100, "late": 0}},
    "refunds": {"succeeded": 1},
    "webhooks": {"received": 4, "applied": 3, "unmatched": 1},
    "callbacks": {"delivered": 5, "failed": 1},
}


def test_usage_month_and_series() -> None:
    month = Usage.from_dict({"object": "usage", "tenant_id": "ten_1", "livemode": False, "as_of": "t", "basis": "b",
                             "period": {"month": "2026-01", "start": "s", "end": "e", "timezone": "UTC",
                                        "status": "closed"}, **COUNTS})
    assert month.totals is not None and month.totals.payments.by_gateway == {"efi": {"pix": 2}, "stripe": {"card": 1}}
    assert month.totals.volume["BRL"].succeeded == 3000 and month.totals.callbacks_failed == 1
    assert month.period is not None and month.period.status == "closed" and month.days == []
    series = Usage.from_dict({"object": "usage_series", "tenant_id": "ten_1", "livemode": True, "granularity": "day",
                              "from": "2026-01-01", "to": "2026-01-02", "as_of": "t", "basis": "b",
                              "data": [{"date": "2026-01-01", "livemode": True, **COUNTS},
                                       {"date": "2026-01-02", "livemode": True}]})
    assert series.totals is None and series.from_date == "2026-01-01"
    assert [d.date for d in series.days] == ["2026-01-01", "2026-01-02"]
    assert series.days[0].webhooks_unmatched == 1 and series.days[1].payments.total == 0


def test_reconciliation_run() -> None:
    r = ReconciliationRun.from_dict({
        "id": "recon_1", "object": "reconciliation_run", "gateway": "stripe", "from": "a", "to": "b",
        "trigger": "api", "started_at": "a", "finished_at": "b", "status": "partial", "error": None,
        "listed": 10, "foreign": 2, "counts": {"status_repaired": 1, "fees_recorded": 3},
        "findings": [{"kind": "status_repaired", "payment_id": "pay_1", "gateway_payment_id": "pi_1",
                      "detail": "pending -> succeeded", "repaired": True}],
        "findings_truncated": False,
    })
    assert (r.from_time, r.to_time, r.status, r.listed) == ("a", "b", "partial", 10)
    assert r.findings[0].kind == "status_repaired" and r.findings[0].repaired
    assert r.counts == {"status_repaired": 1, "fees_recorded": 3}


def test_credentials_objects() -> None:
    c = GatewayCredentials.from_dict({"object": "gateway_credentials", "gateway": "asaas", "version": 2,
                                      "updated_at": "t", "fingerprint": "ab12", "live": True,
                                      "credentials": {"api_key": "$a…9z", "base_url": "https://x"}})
    assert c.credentials["api_key"] == "$a…9z" and c.version == 2
    v = CredentialsVerification.from_dict({"ok": False, "gateway": "asaas", "version": 2,
                                           "error": {"class": "misconfigured", "code": "401", "message": "refused"}})
    assert v.error is not None and v.error.error_class == "misconfigured" and not v.ok
    assert CredentialsVerification.from_dict({"ok": True, "gateway": "efi", "version": None}).error is None


def test_endpoint_enable_and_secrets() -> None:
    e = WebhookEndpoint.from_dict({"object": "webhook_endpoint", "url": "https://x/h", "state": "failing",
                                   "failing_since": "t", "failures": 3, "next_attempt_at": "t2",
                                   "disabled_at": None, "last_error": "HTTP 500", "resent": 10000,
                                   "more_backlog": True, "next_cursor": "1:evt_X"})
    assert (e.state, e.resent, e.more_backlog, e.next_cursor) == ("failing", 10000, True, "1:evt_X")
    plain = WebhookEndpoint.from_dict({"url": "https://x/h", "state": "healthy"})
    assert plain.resent is None and plain.more_backlog is None
    s = WebhookSecrets.from_dict({"object": "webhook_secrets", "secret": "whsec_NEW",
                                  "data": [{"masked": "whsec_…W", "current": True, "expires_at": None},
                                           {"masked": "whsec_…O", "current": False, "expires_at": "t"}]})
    assert s.secret == "whsec_NEW" and [x.current for x in s.data] == [True, False]
    assert "whsec_NEW" not in repr(s)


def test_new_tenant_hides_its_secrets() -> None:
    t = NewTenant.from_dict({
        "id": "ten_1", "object": "tenant", "name": "Shop", "disabled": False,
        "routing": {"pix": ["efi", "asaas"]}, "callback_url": None, "live_gateways": [], "mode": "test",
        "rate_limit_per_minute": None, "api_keys": 2,
        "api_key": {"id": "k1", "key": "sk_live_SECRETLIVE", "mode": "live", "prefix": "sk_live_", "last4": "LIVE"},
        "test_api_key": {"id": "k2", "key": "sk_test_SECRETTEST", "mode": "test", "prefix": "sk_test_", "last4": "TEST"},
        "callback_secret": "whsec_SECRETCB",
    })
    assert t.routing == {"pix": ["efi", "asaas"]} and t.api_key.key == "sk_live_SECRETLIVE"
    assert "SECRET" not in repr(t)


def test_payment_late_payment_fee_net() -> None:
    p = Payment.from_dict({"id": "pay_1", "status": "expired", "currency": "BRL", "fee": 45, "net": 1945,
                           "late_payment": {"amount": 1990, "currency": "BRL", "gateway_payment_id": "g",
                                            "source": "webhook", "received_at": "t"}})
    assert p.late_payment is not None and p.late_payment.source == "webhook" and (p.fee, p.net) == (45, 1945)
    old = Payment.from_dict({"id": "pay_2"})  # stored before these fields existed
    assert old.late_payment is None and old.fee is None and old.currency == ""
