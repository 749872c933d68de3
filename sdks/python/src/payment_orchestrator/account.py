"""Response objects of the account-side operations: API keys, callback secrets and endpoint,
settings, audit, usage, reconciliation, gateway credentials and (operator) tenants.

Like :mod:`payment_orchestrator.types`, every reader is tolerant (a missing field becomes
``None`` or an empty value) and keeps the full JSON in ``raw``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .literals import (
    EndpointState,
    EventType,
    FindingKind,
    GatewayName,
    Mode,
    PaymentMethod,
    ReconciliationStatus,
    ReconciliationTrigger,
    UsagePeriodStatus,
    VerificationErrorClass,
)
from .types import (
    _NO_META,
    ResponseMeta,
    _bool,
    _int,
    _list,
    _lit,
    _obj,
    _opt_int,
    _opt_lit,
    _opt_str,
    _Result,
    _str,
    _str_list,
    routing_map,
)

__all__ = [
    "ObjectList",
    "ApiKey",
    "NewApiKey",
    "DeletedApiKey",
    "WebhookSecret",
    "WebhookSecrets",
    "WebhookEndpoint",
    "AuditEntry",
    "UsagePayments",
    "UsageVolume",
    "UsageCounts",
    "UsagePeriod",
    "UsageDay",
    "Usage",
    "ReconciliationFinding",
    "ReconciliationRun",
    "GatewayCredentials",
    "DeletedGatewayCredentials",
    "CredentialsVerificationError",
    "CredentialsVerification",
    "Settings",
    "WebhookTestEvent",
    "WebhookTestDelivery",
    "WebhookTest",
    "Tenant",
    "NewTenantKey",
    "NewTenant",
]

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class ObjectList(_Result, Generic[T]):
    """A whole (uncursored) list: ``data`` and ``has_more``. Iterable and sized."""

    data: list[T]
    has_more: bool

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @staticmethod
    def parser(item: Callable[[Mapping[str, Any]], T]) -> Callable[[Any, ResponseMeta], ObjectList[T]]:
        def parse(body: Any, meta: ResponseMeta) -> ObjectList[T]:
            d = _obj(body)
            return ObjectList(
                data=[item(x) for x in _list(d, "data") if isinstance(x, dict)],
                has_more=_bool(d, "has_more"),
                raw=dict(d),
                meta=meta,
            )

        return parse


# --- API keys ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    """An active key as listed: never the key itself."""

    id: str
    mode: Mode | None
    """``None`` for a key from a tenants file (it keeps the tenant's own mode)."""
    prefix: str | None
    last4: str | None
    masked: str | None
    created_at: str | None
    expires_at: str | None
    last_used: str | None
    current: bool
    """The key this request was made with."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ApiKey:
        return cls(
            id=_str(d, "id"),
            mode=_opt_lit(d, "mode"),
            prefix=_opt_str(d, "prefix"),
            last4=_opt_str(d, "last4"),
            masked=_opt_str(d, "masked"),
            created_at=_opt_str(d, "created_at"),
            expires_at=_opt_str(d, "expires_at"),
            last_used=_opt_str(d, "last_used"),
            current=_bool(d, "current"),
            raw=dict(d),
        )


@dataclass(frozen=True, kw_only=True)
class NewApiKey(_Result):
    """A key just created: ``key`` is shown this once."""

    id: str
    key: str
    mode: Mode
    prefix: str
    last4: str
    created_at: str
    expires_at: str | None

    def __repr__(self) -> str:  # the key is a credential: never in a repr or a log line
        return f"NewApiKey(id={self.id!r}, mode={self.mode!r}, key='{self.prefix}…{self.last4}')"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> NewApiKey:
        return cls(
            id=_str(d, "id"),
            key=_str(d, "key"),
            mode=_lit(d, "mode"),
            prefix=_str(d, "prefix"),
            last4=_str(d, "last4"),
            created_at=_str(d, "created_at"),
            expires_at=_opt_str(d, "expires_at"),
            raw=dict(d),
            meta=meta,
        )


@dataclass(frozen=True, kw_only=True)
class DeletedApiKey(_Result):
    id: str
    deleted: bool

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> DeletedApiKey:
        return cls(id=_str(d, "id"), deleted=_bool(d, "deleted"), raw=dict(d), meta=meta)


# --- callback secrets and endpoint ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class WebhookSecret:
    masked: str
    current: bool
    expires_at: str | None
    """When a previous secret stops signing (``None`` for the current one)."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WebhookSecret:
        return cls(
            masked=_str(d, "masked"), current=_bool(d, "current"), expires_at=_opt_str(d, "expires_at")
        )


@dataclass(frozen=True, kw_only=True)
class WebhookSecrets(_Result):
    """The callback signing secrets in use, current first. After ``rotate()``, ``secret``
    holds the new secret (shown this once); otherwise ``None``."""

    data: list[WebhookSecret]
    secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> WebhookSecrets:
        return cls(
            data=[WebhookSecret.from_dict(x) for x in _list(d, "data") if isinstance(x, dict)],
            secret=_opt_str(d, "secret"),
            raw=dict(d),
            meta=meta,
        )


@dataclass(frozen=True, kw_only=True)
class WebhookEndpoint(_Result):
    """A callback endpoint as the delivery worker sees it. ``enable()`` adds how many events
    it queued again (``resent``) and a cursor when the backlog was longer than one pass."""

    url: str
    state: EndpointState
    failing_since: str | None
    failures: int
    next_attempt_at: str | None
    disabled_at: str | None
    last_error: str | None
    resent: int | None = None
    more_backlog: bool | None = None
    next_cursor: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> WebhookEndpoint:
        more = d.get("more_backlog")
        return cls(
            url=_str(d, "url"),
            state=_lit(d, "state"),
            failing_since=_opt_str(d, "failing_since"),
            failures=_int(d, "failures"),
            next_attempt_at=_opt_str(d, "next_attempt_at"),
            disabled_at=_opt_str(d, "disabled_at"),
            last_error=_opt_str(d, "last_error"),
            resent=_opt_int(d, "resent"),
            more_backlog=more if isinstance(more, bool) else None,
            next_cursor=_opt_str(d, "next_cursor"),
            raw=dict(d),
            meta=meta,
        )


# --- audit ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    id: str
    livemode: bool
    at: str
    actor: str
    action: str
    """e.g. ``routing.update``, ``api_key.create``, ``settings.callback_url``."""
    before: Any
    after: Any
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AuditEntry:
        return cls(
            id=_str(d, "id"),
            livemode=_bool(d, "livemode"),
            at=_str(d, "at"),
            actor=_str(d, "actor"),
            action=_str(d, "action"),
            before=d.get("before"),
            after=d.get("after"),
            raw=dict(d),
        )


# --- usage ---------------------------------------------------------------------------------------


def _int_map(v: Any) -> dict[str, int]:
    return (
        {str(k): x for k, x in v.items() if isinstance(x, int) and not isinstance(x, bool)}
        if isinstance(v, dict)
        else {}
    )


@dataclass(frozen=True, kw_only=True)
class UsagePayments:
    total: int
    by_status: dict[str, int]
    by_gateway: dict[str, dict[str, int]]
    """Gateway -> method -> count."""
    failovers: int
    late_payments: int
    refused: int
    """Creates refused because no gateway could take them (the 502s): not in ``total``."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> UsagePayments:
        bg = d.get("by_gateway")
        return cls(
            total=_int(d, "total"),
            by_status=_int_map(d.get("by_status")),
            by_gateway={str(k): _int_map(v) for k, v in bg.items()} if isinstance(bg, dict) else {},
            failovers=_int(d, "failovers"),
            late_payments=_int(d, "late_payments"),
            refused=_int(d, "refused"),
        )


@dataclass(frozen=True, kw_only=True)
class UsageVolume:
    """Minor units of one currency."""

    created: int
    succeeded: int
    refunded: int
    late: int

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> UsageVolume:
        return cls(
            created=_int(d, "created"),
            succeeded=_int(d, "succeeded"),
            refunded=_int(d, "refunded"),
            late=_int(d, "late"),
        )


@dataclass(frozen=True, kw_only=True)
class UsageCounts:
    payments: UsagePayments
    volume: dict[str, UsageVolume]
    """ISO currency -> volume."""
    refunds_succeeded: int
    webhooks_received: int
    webhooks_applied: int
    webhooks_unmatched: int
    callbacks_delivered: int
    callbacks_failed: int

    @classmethod
    def counts_from(cls, d: Mapping[str, Any]) -> dict[str, Any]:
        vol = d.get("volume")
        wh, cb = _obj(d.get("webhooks")), _obj(d.get("callbacks"))
        return {
            "payments": UsagePayments.from_dict(_obj(d.get("payments"))),
            "volume": (
                {str(k): UsageVolume.from_dict(v) for k, v in vol.items() if isinstance(v, dict)}
                if isinstance(vol, dict)
                else {}
            ),
            "refunds_succeeded": _int(_obj(d.get("refunds")), "succeeded"),
            "webhooks_received": _int(wh, "received"),
            "webhooks_applied": _int(wh, "applied"),
            "webhooks_unmatched": _int(wh, "unmatched"),
            "callbacks_delivered": _int(cb, "delivered"),
            "callbacks_failed": _int(cb, "failed"),
        }


@dataclass(frozen=True, kw_only=True)
class UsagePeriod:
    month: str
    start: str
    end: str
    status: UsagePeriodStatus


@dataclass(frozen=True, kw_only=True)
class UsageDay(UsageCounts):
    date: str


@dataclass(frozen=True, kw_only=True)
class Usage(_Result):
    """``object == "usage"``: a month's totals (the counts and ``period``);
    ``object == "usage_series"``: ``days``, one entry per UTC day from ``from_date`` to
    ``to_date``."""

    object: str
    tenant_id: str
    livemode: bool
    as_of: str
    basis: str
    totals: UsageCounts | None
    period: UsagePeriod | None
    days: list[UsageDay]
    from_date: str | None
    to_date: str | None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> Usage:
        kind = _str(d, "object")
        p = d.get("period")
        return cls(
            object=kind,
            tenant_id=_str(d, "tenant_id"),
            livemode=_bool(d, "livemode"),
            as_of=_str(d, "as_of"),
            basis=_str(d, "basis"),
            totals=UsageCounts(**UsageCounts.counts_from(d)) if kind == "usage" else None,
            period=(
                UsagePeriod(
                    month=_str(p, "month"),
                    start=_str(p, "start"),
                    end=_str(p, "end"),
                    status=_lit(p, "status"),
                )
                if isinstance(p, dict)
                else None
            ),
            days=[
                UsageDay(date=_str(x, "date"), **UsageCounts.counts_from(x))
                for x in _list(d, "data")
                if isinstance(x, dict)
            ],
            from_date=_opt_str(d, "from"),
            to_date=_opt_str(d, "to"),
            raw=dict(d),
            meta=meta,
        )


# --- reconciliation ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReconciliationFinding:
    kind: FindingKind
    payment_id: str | None
    gateway_payment_id: str
    detail: str
    repaired: bool

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReconciliationFinding:
        return cls(
            kind=_lit(d, "kind"),
            payment_id=_opt_str(d, "payment_id"),
            gateway_payment_id=_str(d, "gateway_payment_id"),
            detail=_str(d, "detail"),
            repaired=_bool(d, "repaired"),
        )


@dataclass(frozen=True, kw_only=True)
class ReconciliationRun(_Result):
    id: str
    gateway: GatewayName
    from_time: str
    """The window's start (``from`` in the JSON)."""
    to_time: str
    trigger: ReconciliationTrigger
    started_at: str
    finished_at: str
    status: ReconciliationStatus
    error: str | None
    listed: int
    foreign: int
    counts: dict[str, int]
    findings: list[ReconciliationFinding]
    """Empty in listings; at most 500 in a run read by id."""
    findings_truncated: bool

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> ReconciliationRun:
        return cls(
            id=_str(d, "id"),
            gateway=_lit(d, "gateway"),
            from_time=_str(d, "from"),
            to_time=_str(d, "to"),
            trigger=_lit(d, "trigger"),
            started_at=_str(d, "started_at"),
            finished_at=_str(d, "finished_at"),
            status=_lit(d, "status"),
            error=_opt_str(d, "error"),
            listed=_int(d, "listed"),
            foreign=_int(d, "foreign"),
            counts=_int_map(d.get("counts")),
            findings=[
                ReconciliationFinding.from_dict(x) for x in _list(d, "findings") if isinstance(x, dict)
            ],
            findings_truncated=_bool(d, "findings_truncated"),
            raw=dict(d),
            meta=meta,
        )


# --- gateway credentials -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GatewayCredentials(_Result):
    """The registered credentials, masked (never a whole value)."""

    gateway: GatewayName
    version: int
    updated_at: str
    fingerprint: str
    credentials: dict[str, str]
    live: bool

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> GatewayCredentials:
        c = d.get("credentials")
        return cls(
            gateway=_lit(d, "gateway"),
            version=_int(d, "version"),
            updated_at=_str(d, "updated_at"),
            fingerprint=_str(d, "fingerprint"),
            credentials=(
                {str(k): v for k, v in c.items() if isinstance(v, str)} if isinstance(c, dict) else {}
            ),
            live=_bool(d, "live"),
            raw=dict(d),
            meta=meta,
        )


@dataclass(frozen=True, kw_only=True)
class DeletedGatewayCredentials(_Result):
    gateway: GatewayName
    deleted: bool
    version: int
    updated_at: str

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META
    ) -> DeletedGatewayCredentials:
        return cls(
            gateway=_lit(d, "gateway"),
            deleted=_bool(d, "deleted"),
            version=_int(d, "version"),
            updated_at=_str(d, "updated_at"),
            raw=dict(d),
            meta=meta,
        )


@dataclass(frozen=True, kw_only=True)
class CredentialsVerificationError:
    error_class: VerificationErrorClass
    """``class`` in the JSON; ``misconfigured`` for refused credentials."""
    code: str
    message: str


@dataclass(frozen=True, kw_only=True)
class CredentialsVerification(_Result):
    ok: bool
    gateway: GatewayName
    version: int | None
    error: CredentialsVerificationError | None

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META
    ) -> CredentialsVerification:
        e = d.get("error")
        return cls(
            ok=_bool(d, "ok"),
            gateway=_lit(d, "gateway"),
            version=_opt_int(d, "version"),
            error=(
                CredentialsVerificationError(
                    error_class=_lit(e, "class"), code=_str(e, "code"), message=_str(e, "message")
                )
                if isinstance(e, dict)
                else None
            ),
            raw=dict(d),
            meta=meta,
        )


# --- settings and the test event ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Settings(_Result):
    tenant_id: str
    name: str | None
    livemode: bool
    """The mode of the key used to read them."""
    callback_url: str | None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> Settings:
        return cls(
            tenant_id=_str(d, "tenant_id"),
            name=_opt_str(d, "name"),
            livemode=_bool(d, "livemode"),
            callback_url=_opt_str(d, "callback_url"),
            raw=dict(d),
            meta=meta,
        )


@dataclass(frozen=True, kw_only=True)
class WebhookTestEvent:
    id: str
    type: EventType
    created_at: str
    livemode: bool
    data: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class WebhookTestDelivery:
    url: str
    delivered: bool
    response_status: int | None
    duration_ms: int
    error: str | None


@dataclass(frozen=True, kw_only=True)
class WebhookTest(_Result):
    """One signed ``webhook.test`` event sent to the callback URL, and how it went."""

    event: WebhookTestEvent
    delivery: WebhookTestDelivery

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> WebhookTest:
        ev, dl = _obj(d.get("event")), _obj(d.get("delivery"))
        return cls(
            event=WebhookTestEvent(
                id=_str(ev, "id"),
                type=_lit(ev, "type"),
                created_at=str(ev.get("created_at", "")),
                livemode=_bool(ev, "livemode"),
                data=_obj(ev.get("data")),
            ),
            delivery=WebhookTestDelivery(
                url=_str(dl, "url"),
                delivered=_bool(dl, "delivered"),
                response_status=_opt_int(dl, "response_status"),
                duration_ms=_int(dl, "duration_ms"),
                error=_opt_str(dl, "error"),
            ),
            raw=dict(d),
            meta=meta,
        )


# --- tenants (operator) --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Tenant(_Result):
    id: str
    name: str
    disabled: bool
    routing: dict[PaymentMethod, list[GatewayName]]
    callback_url: str | None
    live_gateways: list[GatewayName]
    mode: Mode
    rate_limit_per_minute: int | None
    api_keys: int

    @classmethod
    def fields_from(cls, d: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": _str(d, "id"),
            "name": _str(d, "name"),
            "disabled": _bool(d, "disabled"),
            "routing": routing_map(d.get("routing")),
            "callback_url": _opt_str(d, "callback_url"),
            "live_gateways": _str_list(d.get("live_gateways")),
            "mode": _lit(d, "mode"),
            "rate_limit_per_minute": _opt_int(d, "rate_limit_per_minute"),
            "api_keys": _int(d, "api_keys"),
            "raw": dict(d),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> Tenant:
        return cls(meta=meta, **cls.fields_from(d))


@dataclass(frozen=True, kw_only=True)
class NewTenantKey:
    id: str
    key: str = field(repr=False)
    mode: Mode
    prefix: str
    last4: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NewTenantKey:
        return cls(
            id=_str(d, "id"),
            key=_str(d, "key"),
            mode=_lit(d, "mode"),
            prefix=_str(d, "prefix"),
            last4=_str(d, "last4"),
        )


@dataclass(frozen=True, kw_only=True)
class NewTenant(Tenant):
    """A tenant just created: its first keys and callback secret are shown this once."""

    api_key: NewTenantKey
    """The live-mode key (``sk_live_…``)."""
    test_api_key: NewTenantKey
    """The test-mode key (``sk_test_…``)."""
    callback_secret: str = field(repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> NewTenant:
        return cls(
            meta=meta,
            api_key=NewTenantKey.from_dict(_obj(d.get("api_key"))),
            test_api_key=NewTenantKey.from_dict(_obj(d.get("test_api_key"))),
            callback_secret=_str(d, "callback_secret"),
            **cls.fields_from(d),
        )
