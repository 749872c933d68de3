"""Every API operation the SDK calls, by the spec's ``operationId``: its HTTP method, its path
template and the ``TypedDict``s of its query and body.

The calls in ``_calls.py`` build their requests from this table only (``Operation.path``), and
``tests/test_parity.py`` checks it against ``docs/openapi.yaml`` in both directions: every
operation of the spec is here with the same method and path, every documented query parameter
and body property is a key of the declared ``TypedDict``, and every SDK method, called through
a recording transport, sends exactly this method and path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from . import params as p

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: HttpMethod
    template: str
    """The spec's path, e.g. ``/v1/payments/{id}/refunds``."""
    query: tuple[Any, ...] = ()
    """``TypedDict`` classes whose keys are the operation's query parameters."""
    body: tuple[Any, ...] = ()
    """``TypedDict`` classes whose keys are the body's properties (several: a union)."""
    operator: bool = False
    """Called with the operator key (``OperatorClient``), not a tenant key."""

    def path(self, **segments: str) -> str:
        """The template with each ``{name}`` replaced by its percent-encoded value."""
        out = self.template
        for name, value in segments.items():
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string")
            token = "{" + name + "}"
            if token not in out:
                raise KeyError(f"{self.operation_id} has no path parameter {name!r}")
            out = out.replace(token, quote(value, safe=""))
        if "{" in out:
            raise KeyError(f"{self.operation_id}: a path parameter is missing in {out}")
        return out


def _op(
    operation_id: str,
    method: HttpMethod,
    template: str,
    *,
    query: tuple[Any, ...] = (),
    body: tuple[Any, ...] = (),
    operator: bool = False,
) -> Operation:
    return Operation(operation_id, method, template, query, body, operator)


OPERATIONS: dict[str, Operation] = {
    o.operation_id: o
    for o in (
        _op("createPayment", "POST", "/v1/payments", body=(p.PaymentCreateParams,)),
        _op("listPayments", "GET", "/v1/payments", query=(p.PaymentListParams,)),
        _op("getPayment", "GET", "/v1/payments/{id}", query=(p.PaymentRetrieveQuery,)),
        _op("cancelPayment", "POST", "/v1/payments/{id}/cancel", body=(p.PaymentCancelParams,)),
        _op("createRefund", "POST", "/v1/payments/{id}/refunds", body=(p.RefundCreateParams,)),
        _op("updateRouting", "PUT", "/v1/routing", body=(p.RoutingParams,)),
        _op("listGateways", "GET", "/v1/gateways"),
        _op(
            "putGatewayCredentials",
            "PUT",
            "/v1/gateways/{gateway}/credentials",
            body=(p.StripeCredentialsParams, p.AsaasCredentialsParams, p.EfiCredentialsParams),
        ),
        _op("getGatewayCredentials", "GET", "/v1/gateways/{gateway}/credentials"),
        _op("deleteGatewayCredentials", "DELETE", "/v1/gateways/{gateway}/credentials"),
        _op("verifyGatewayCredentials", "POST", "/v1/gateways/{gateway}/credentials/verify"),
        _op("listEvents", "GET", "/v1/events", query=(p.EventListParams,)),
        _op("getEvent", "GET", "/v1/events/{id}"),
        _op("resendEvent", "POST", "/v1/events/{id}/resend"),
        _op(
            "listUnmatchedWebhooks", "GET", "/v1/webhooks/unmatched", query=(p.UnmatchedWebhookListParams,)
        ),
        _op("getUsage", "GET", "/v1/usage", query=(p.UsageParams,)),
        _op("createApiKey", "POST", "/v1/api_keys", body=(p.ApiKeyCreateParams,)),
        _op("listApiKeys", "GET", "/v1/api_keys"),
        _op("revokeApiKey", "DELETE", "/v1/api_keys/{id}"),
        _op("listWebhookSecrets", "GET", "/v1/webhook_secrets"),
        _op("rotateWebhookSecret", "POST", "/v1/webhook_secrets/rotate", body=(p.WebhookSecretRotateParams,)),
        _op("getWebhookEndpoint", "GET", "/v1/webhook_endpoint", query=(p.WebhookEndpointParams,)),
        _op(
            "enableWebhookEndpoint",
            "POST",
            "/v1/webhook_endpoint/enable",
            query=(p.WebhookEndpointEnableParams,),
        ),
        _op("sendTestWebhook", "POST", "/v1/webhook_endpoint/test", body=(p.WebhookTestParams,)),
        _op("listAudit", "GET", "/v1/audit", query=(p.AuditListParams,)),
        _op(
            "createReconciliationRuns",
            "POST",
            "/v1/reconciliation/runs",
            body=(p.ReconciliationCreateParams,),
        ),
        _op(
            "listReconciliationRuns", "GET", "/v1/reconciliation/runs", query=(p.ReconciliationListParams,)
        ),
        _op("getReconciliationRun", "GET", "/v1/reconciliation/runs/{id}"),
        _op("getSettings", "GET", "/v1/settings"),
        _op("updateSettings", "PATCH", "/v1/settings", body=(p.SettingsUpdateParams,)),
        _op("adminCreateTenant", "POST", "/v1/admin/tenants", body=(p.TenantCreateParams,), operator=True),
        _op("adminListTenants", "GET", "/v1/admin/tenants", operator=True),
        _op(
            "adminUpdateTenant",
            "PATCH",
            "/v1/admin/tenants/{id}",
            body=(p.TenantUpdateParams,),
            operator=True,
        ),
    )
}

NOT_IN_SDK = frozenset({"health", "receiveGatewayWebhook"})
"""Operations of the spec a client has no use for: liveness, and the gateways' own intake."""


def op(operation_id: str) -> Operation:
    return OPERATIONS[operation_id]
