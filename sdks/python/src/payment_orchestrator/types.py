"""Response objects (dataclasses) of payments, refunds, events, gateways and callbacks; the
request parameters live in :mod:`.params` (re-exported here for older imports) and the
account-side objects in :mod:`.account`.

Response objects are tolerant: a missing field becomes ``None`` (or an empty value), and every
object keeps the full JSON it was built from in ``raw``, so fields the server adds later are
readable before the SDK knows them (``payment.raw["new_field"]``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .literals import (
    AttemptOutcome,
    BreakerState,
    Currency,
    DeliveryState,
    EventType,
    GatewayName,
    LatePaymentSource,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
)
from .params import (
    CardParams,
    CustomerParams,
    EventListParams,
    PaymentCreateParams,
    PaymentListParams,
    RefundCreateParams,
    RoutingParams,
)

__all__ = [
    "PaymentMethod",
    "CustomerParams",
    "CardParams",
    "PaymentCreateParams",
    "PaymentListParams",
    "RefundCreateParams",
    "RoutingParams",
    "EventListParams",
    "ResponseMeta",
    "PixDetails",
    "BoletoDetails",
    "NextAction",
    "Failure",
    "Attempt",
    "LatePayment",
    "Refund",
    "Payment",
    "PaymentCustomer",
    "DeliveryAttempt",
    "Delivery",
    "Event",
    "Gateway",
    "GatewayList",
    "Routing",
    "UnmatchedWebhook",
    "WebhookEvent",
]

# --- tolerant readers ---------------------------------------------------------------------------


def _obj(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _str(d: Mapping[str, Any], k: str, default: str = "") -> str:
    v = d.get(k)
    return v if isinstance(v, str) else default


def _opt_str(d: Mapping[str, Any], k: str) -> str | None:
    v = d.get(k)
    return v if isinstance(v, str) else None


def _int(d: Mapping[str, Any], k: str, default: int = 0) -> int:
    v = d.get(k)
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _opt_int(d: Mapping[str, Any], k: str) -> int | None:
    v = d.get(k)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _float(d: Mapping[str, Any], k: str) -> float:
    v = d.get(k)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def _bool(d: Mapping[str, Any], k: str) -> bool:
    return d.get(k) is True


def _list(d: Mapping[str, Any], k: str) -> list[Any]:
    v = d.get(k)
    return v if isinstance(v, list) else []


def _lit(d: Mapping[str, Any], k: str) -> Any:
    """A ``Literal``-typed field. The value is passed through as received (a value the
    server adds later is kept, never replaced); the field's annotation gives the type."""
    v = d.get(k)
    return v if isinstance(v, str) else ""


def _opt_lit(d: Mapping[str, Any], k: str) -> Any:
    v = d.get(k)
    return v if isinstance(v, str) else None


def _as_lit(v: str) -> Any:
    """A string received where the spec has an enum, typed as that enum's ``Literal``."""
    return v


def _str_list(v: Any) -> list[Any]:
    """A list of enum strings (``Literal``-typed by the caller's annotation)."""
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def routing_map(r: Any) -> dict[Any, list[Any]]:
    """``{"pix": ["efi", ...], ...}`` as received; non-list entries are dropped."""
    if not isinstance(r, dict):
        return {}
    return {k: _str_list(v) for k, v in r.items() if isinstance(k, str) and isinstance(v, list)}


def _str_map(v: Any) -> dict[str, str]:
    return {str(k): str(x) for k, x in v.items()} if isinstance(v, dict) else {}


# --- response metadata --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ResponseMeta:
    """What the HTTP exchange said about a result."""

    status: int = 0
    request_id: str | None = None
    idempotency_key: str | None = None
    replayed: bool = False
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


_NO_META = ResponseMeta()


# --- objects --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PixDetails:
    copy_paste: str
    qr_code_png_base64: str | None
    expires_at: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PixDetails:
        return cls(
            copy_paste=_str(d, "copy_paste"),
            qr_code_png_base64=_opt_str(d, "qr_code_png_base64"),
            expires_at=_opt_str(d, "expires_at"),
            raw=dict(d),
        )


@dataclass(frozen=True, kw_only=True)
class BoletoDetails:
    url: str
    barcode: str
    due_date: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BoletoDetails:
        return cls(
            url=_str(d, "url"),
            barcode=_str(d, "barcode"),
            due_date=_opt_str(d, "due_date"),
            raw=dict(d),
        )


@dataclass(frozen=True, kw_only=True)
class NextAction:
    type: str
    url: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NextAction:
        return cls(type=_str(d, "type"), url=_str(d, "url"), raw=dict(d))


@dataclass(frozen=True, kw_only=True)
class Failure:
    code: str
    message: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Failure:
        return cls(code=_str(d, "code"), message=_str(d, "message"), raw=dict(d))


@dataclass(frozen=True, kw_only=True)
class LatePayment:
    amount: int
    currency: Currency
    gateway_payment_id: str
    source: LatePaymentSource
    received_at: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LatePayment:
        return cls(
            amount=_int(d, "amount"),
            currency=_lit(d, "currency"),
            gateway_payment_id=_str(d, "gateway_payment_id"),
            source=_lit(d, "source"),
            received_at=_str(d, "received_at"),
            raw=dict(d),
        )


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One gateway call made for a payment."""

    gateway: GatewayName
    outcome: AttemptOutcome
    code: str | None
    duration_ms: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Attempt:
        return cls(
            gateway=_lit(d, "gateway"),
            outcome=_lit(d, "outcome"),
            code=_opt_str(d, "code"),
            duration_ms=_int(d, "duration_ms"),
            raw=dict(d),
        )


@dataclass(frozen=True, kw_only=True)
class _Result:
    """Fields every top-level result carries: the raw JSON and the HTTP exchange's metadata."""

    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    meta: ResponseMeta = field(default=_NO_META, repr=False, compare=False)

    @property
    def request_id(self) -> str | None:
        return self.meta.request_id

    @property
    def idempotency_key(self) -> str | None:
        """The ``Idempotency-Key`` the request was sent with (POST only)."""
        return self.meta.idempotency_key

    @property
    def replayed(self) -> bool:
        """True when the server answered a stored response (``Idempotent-Replayed: true``)."""
        return self.meta.replayed


@dataclass(frozen=True, kw_only=True)
class Refund(_Result):
    """A refund. In ``Payment.refunds`` it has no ``payment``; from ``refunds.create`` (and
    ``refund.*`` events) it embeds the payment as it stands after the refund."""

    id: str
    amount: int
    status: RefundStatus
    gateway_refund_id: str | None
    reason: str | None
    created_at: str
    payment_id: str | None = None
    currency: Currency | None = None
    payment: Payment | None = None
    livemode: bool | None = None
    """The refund's mode; ``None`` inside ``Payment.refunds`` (see the payment's)."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> Refund:
        p = d.get("payment")
        return cls(
            id=_str(d, "id"),
            amount=_int(d, "amount"),
            status=_lit(d, "status"),
            gateway_refund_id=_opt_str(d, "gateway_refund_id"),
            reason=_opt_str(d, "reason"),
            created_at=_str(d, "created_at"),
            payment_id=_opt_str(d, "payment_id"),
            currency=_opt_lit(d, "currency"),
            payment=Payment.from_dict(p) if isinstance(p, dict) else None,
            livemode=d["livemode"] if isinstance(d.get("livemode"), bool) else None,
            raw=dict(d),
            meta=meta,
        )


@dataclass(frozen=True, kw_only=True)
class Payment(_Result):
    id: str
    livemode: bool
    """True for a live-mode payment (an ``sk_live_`` key), False in test mode (``sk_test_``)."""
    status: PaymentStatus
    amount: int
    currency: Currency
    method: PaymentMethod
    gateway: GatewayName | None
    gateway_payment_id: str | None
    reference: str | None
    description: str | None
    metadata: dict[str, str]
    pix: PixDetails | None
    boleto: BoletoDetails | None
    next_action: NextAction | None
    failure: Failure | None
    refunded_amount: int
    refunds: list[Refund]
    overdue_at: str | None
    late_payment: LatePayment | None
    """Money a gateway confirmed after the payment failed, was canceled or expired: refund
    or settle it (the status stays final)."""
    fee: int | None
    """The gateway's fee (minor units) once a reconciliation run read it; else ``None``."""
    net: int | None
    attempts: list[Attempt]
    created_at: str
    updated_at: str
    version: int
    """Incremented on every change: of two views of one payment, the higher version is newer."""
    customer: PaymentCustomer | None = None
    """Whose payment it is: only ``payments.retrieve(id, expand="customer")`` carries it."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> Payment:
        pix, boleto, na, fail = d.get("pix"), d.get("boleto"), d.get("next_action"), d.get("failure")
        late = d.get("late_payment")
        cust = d.get("customer")
        return cls(
            id=_str(d, "id"),
            livemode=_bool(d, "livemode"),
            status=_lit(d, "status"),
            amount=_int(d, "amount"),
            currency=_lit(d, "currency"),
            method=_lit(d, "method"),
            gateway=_opt_lit(d, "gateway"),
            gateway_payment_id=_opt_str(d, "gateway_payment_id"),
            reference=_opt_str(d, "reference"),
            description=_opt_str(d, "description"),
            metadata=_str_map(d.get("metadata")),
            pix=PixDetails.from_dict(pix) if isinstance(pix, dict) else None,
            boleto=BoletoDetails.from_dict(boleto) if isinstance(boleto, dict) else None,
            next_action=NextAction.from_dict(na) if isinstance(na, dict) else None,
            failure=Failure.from_dict(fail) if isinstance(fail, dict) else None,
            refunded_amount=_int(d, "refunded_amount"),
            refunds=[Refund.from_dict(r) for r in _list(d, "refunds") if isinstance(r, dict)],
            overdue_at=_opt_str(d, "overdue_at"),
            late_payment=LatePayment.from_dict(late) if isinstance(late, dict) else None,
            fee=_opt_int(d, "fee"),
            net=_opt_int(d, "net"),
            attempts=[Attempt.from_dict(a) for a in _list(d, "attempts") if isinstance(a, dict)],
            created_at=_str(d, "created_at"),
            updated_at=_str(d, "updated_at"),
            version=_int(d, "version"),
            customer=PaymentCustomer.from_dict(cust) if isinstance(cust, dict) else None,
            raw=dict(d),
            meta=meta,
        )


@dataclass(frozen=True, kw_only=True)
class PaymentCustomer:
    """The customer of one payment as ``payments.retrieve`` shows it: the document masked."""

    name: str
    email: str | None
    document_type: Literal["cpf", "cnpj"] | None
    document_masked: str | None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PaymentCustomer:
        kind = d.get("document_type")
        return cls(
            name=_str(d, "name"),
            email=_opt_str(d, "email"),
            document_type="cpf" if kind == "cpf" else "cnpj" if kind == "cnpj" else None,
            document_masked=_opt_str(d, "document_masked"),
        )


@dataclass(frozen=True, kw_only=True)
class DeliveryAttempt:
    at: str
    http_status: int | None
    duration_ms: int
    error: str | None
    response_excerpt: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DeliveryAttempt:
        return cls(
            at=_str(d, "at"),
            http_status=_opt_int(d, "http_status"),
            duration_ms=_int(d, "duration_ms"),
            error=_opt_str(d, "error"),
            response_excerpt=_opt_str(d, "response_excerpt"),
            raw=dict(d),
        )


@dataclass(frozen=True, kw_only=True)
class Delivery:
    state: DeliveryState
    attempts: list[DeliveryAttempt]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Delivery:
        return cls(
            state=_lit(d, "state"),
            attempts=[
                DeliveryAttempt.from_dict(a) for a in _list(d, "attempts") if isinstance(a, dict)
            ],
        )


@dataclass(frozen=True, kw_only=True)
class Event(_Result):
    """A merchant event as the events API shows it (with its delivery log)."""

    id: str
    type: EventType
    livemode: bool
    created_at: str
    payment_id: str
    refund_id: str | None
    payment_version: int
    delivery: Delivery
    data: dict[str, Any]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> Event:
        return cls(
            id=_str(d, "id"),
            type=_lit(d, "type"),
            livemode=_bool(d, "livemode"),
            created_at=_str(d, "created_at"),
            payment_id=_str(d, "payment_id"),
            refund_id=_opt_str(d, "refund_id"),
            payment_version=_int(d, "payment_version"),
            delivery=Delivery.from_dict(_obj(d.get("delivery"))),
            data=_obj(d.get("data")),
            raw=dict(d),
            meta=meta,
        )

    @property
    def payment(self) -> Payment | None:
        return _event_payment(self.type, self.data)

    @property
    def refund(self) -> Refund | None:
        return _event_refund(self.type, self.data)


@dataclass(frozen=True, kw_only=True)
class Gateway:
    """One gateway as ``GET /v1/gateways`` shows it: breaker state and routing position."""

    gateway: GatewayName
    state: BreakerState
    failure_rate: float
    calls: int
    failures: int
    window_seconds: int
    open_until: str | None
    consecutive_opens: int
    methods: list[PaymentMethod]
    priority: dict[PaymentMethod, int]
    live: bool
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Gateway:
        prio = d.get("priority")
        return cls(
            gateway=_lit(d, "gateway"),
            state=_lit(d, "state"),
            failure_rate=_float(d, "failure_rate"),
            calls=_int(d, "calls"),
            failures=_int(d, "failures"),
            window_seconds=_int(d, "window_seconds"),
            open_until=_opt_str(d, "open_until"),
            consecutive_opens=_int(d, "consecutive_opens"),
            methods=_str_list(d.get("methods")),
            priority=(
                {_as_lit(k): v for k, v in prio.items() if isinstance(k, str) and isinstance(v, int)}
                if isinstance(prio, dict)
                else {}
            ),
            live=_bool(d, "live"),
            raw=dict(d),
        )


@dataclass(frozen=True, kw_only=True)
class GatewayList(_Result):
    data: list[Gateway]

    def __iter__(self) -> Iterator[Gateway]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def routing(self) -> dict[PaymentMethod, list[GatewayName]]:
        """The tenant's routing as it stands, rebuilt from each gateway's ``priority``."""
        out: dict[PaymentMethod, list[tuple[int, GatewayName]]] = {}
        for g in self.data:
            for method, pos in g.priority.items():
                out.setdefault(method, []).append((pos, g.gateway))
        return {m: [name for _, name in sorted(v)] for m, v in out.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> GatewayList:
        return cls(
            data=[Gateway.from_dict(g) for g in _list(d, "data") if isinstance(g, dict)],
            raw=dict(d),
            meta=meta,
        )


@dataclass(frozen=True, kw_only=True)
class Routing(_Result):
    """The tenant's whole routing after a change: method -> gateways, primary first."""

    routing: dict[PaymentMethod, list[GatewayName]]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], meta: ResponseMeta = _NO_META) -> Routing:
        return cls(routing=routing_map(d.get("routing")), raw=dict(d), meta=meta)


@dataclass(frozen=True, kw_only=True)
class UnmatchedWebhook:
    """A verified gateway webhook that matched no payment."""

    gateway: GatewayName
    gateway_event_id: str
    gateway_payment_id: str
    payment_id: str | None
    reported: str
    received_at: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> UnmatchedWebhook:
        return cls(
            gateway=_lit(d, "gateway"),
            gateway_event_id=_str(d, "gateway_event_id"),
            gateway_payment_id=_str(d, "gateway_payment_id"),
            payment_id=_opt_str(d, "payment_id"),
            reported=_str(d, "reported"),
            received_at=_str(d, "received_at"),
            raw=dict(d),
        )


def _event_payment(kind: str, data: dict[str, Any]) -> Payment | None:
    if kind.startswith("payment."):
        return Payment.from_dict(data)
    return None


def _event_refund(kind: str, data: dict[str, Any]) -> Refund | None:
    if kind.startswith("refund."):
        return Refund.from_dict(data)
    return None


@dataclass(frozen=True, kw_only=True)
class WebhookEvent:
    """A verified callback: ``{"id", "type", "livemode", "created_at", "data"}``.

    ``webhook_id`` is the ``webhook-id`` header (the same on every retry and resend: dedupe on
    it); ``timestamp`` the verified ``webhook-timestamp``.
    """

    id: str
    type: EventType
    livemode: bool
    created_at: str
    data: dict[str, Any]
    webhook_id: str
    timestamp: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def payment(self) -> Payment | None:
        """The payment, for ``payment.*`` events (for ``refund.*`` see ``refund.payment``)."""
        return _event_payment(self.type, self.data)

    @property
    def refund(self) -> Refund | None:
        """The refund (with its payment embedded), for ``refund.*`` events."""
        return _event_refund(self.type, self.data)
