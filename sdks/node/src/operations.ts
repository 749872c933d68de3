/**
 * Every API operation the SDK calls, by the `operationId` of docs/openapi.yaml, with its HTTP
 * method and path template. The resource methods build their requests from this table only, so
 * a test can hold it against the spec (and against the requests actually sent): an operation
 * the spec has and the SDK lacks, or a path that drifted, fails CI instead of a merchant's call.
 */

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface Operation {
  readonly method: HttpMethod;
  /** With `{name}` placeholders, exactly as in the spec. */
  readonly path: string;
}

export const OPERATIONS = {
  createPayment: { method: "POST", path: "/v1/payments" },
  listPayments: { method: "GET", path: "/v1/payments" },
  getPayment: { method: "GET", path: "/v1/payments/{id}" },
  cancelPayment: { method: "POST", path: "/v1/payments/{id}/cancel" },
  createRefund: { method: "POST", path: "/v1/payments/{id}/refunds" },
  updateRouting: { method: "PUT", path: "/v1/routing" },
  listGateways: { method: "GET", path: "/v1/gateways" },
  putGatewayCredentials: { method: "PUT", path: "/v1/gateways/{gateway}/credentials" },
  getGatewayCredentials: { method: "GET", path: "/v1/gateways/{gateway}/credentials" },
  deleteGatewayCredentials: { method: "DELETE", path: "/v1/gateways/{gateway}/credentials" },
  verifyGatewayCredentials: { method: "POST", path: "/v1/gateways/{gateway}/credentials/verify" },
  listEvents: { method: "GET", path: "/v1/events" },
  getEvent: { method: "GET", path: "/v1/events/{id}" },
  resendEvent: { method: "POST", path: "/v1/events/{id}/resend" },
  listUnmatchedWebhooks: { method: "GET", path: "/v1/webhooks/unmatched" },
  getUsage: { method: "GET", path: "/v1/usage" },
  createApiKey: { method: "POST", path: "/v1/api_keys" },
  listApiKeys: { method: "GET", path: "/v1/api_keys" },
  revokeApiKey: { method: "DELETE", path: "/v1/api_keys/{id}" },
  listWebhookSecrets: { method: "GET", path: "/v1/webhook_secrets" },
  rotateWebhookSecret: { method: "POST", path: "/v1/webhook_secrets/rotate" },
  getWebhookEndpoint: { method: "GET", path: "/v1/webhook_endpoint" },
  enableWebhookEndpoint: { method: "POST", path: "/v1/webhook_endpoint/enable" },
  sendTestWebhook: { method: "POST", path: "/v1/webhook_endpoint/test" },
  getSettings: { method: "GET", path: "/v1/settings" },
  updateSettings: { method: "PATCH", path: "/v1/settings" },
  listAudit: { method: "GET", path: "/v1/audit" },
  createReconciliationRuns: { method: "POST", path: "/v1/reconciliation/runs" },
  listReconciliationRuns: { method: "GET", path: "/v1/reconciliation/runs" },
  getReconciliationRun: { method: "GET", path: "/v1/reconciliation/runs/{id}" },
  adminCreateTenant: { method: "POST", path: "/v1/admin/tenants" },
  adminListTenants: { method: "GET", path: "/v1/admin/tenants" },
  adminUpdateTenant: { method: "PATCH", path: "/v1/admin/tenants/{id}" },
} as const satisfies Record<string, Operation>;

export type OperationId = keyof typeof OPERATIONS;

/**
 * The path of an operation with its placeholders filled in, each value percent-encoded (an id
 * like `pay/../x` stays one path segment). A missing or empty value is a TypeError: a request
 * to `/v1/payments/` would reach another route.
 */
export function pathOf(id: OperationId, params: Record<string, string> = {}): string {
  return OPERATIONS[id].path.replace(/\{([a-z_]+)\}/g, (_m, name: string) => {
    const v = params[name];
    if (typeof v !== "string" || v.length === 0) {
      throw new TypeError(`${name} must be a non-empty string`);
    }
    return encodeURIComponent(v);
  });
}
