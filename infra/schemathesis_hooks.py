"""Schemathesis hooks for infra/test.sh.

`not_a_server_error_but_gateway_502`: schemathesis's `not_a_server_error`, except for the one
documented 5xx answer that is a contract, not a fault: 502 with `error.type == "gateway"` — every
gateway failed and none holds a charge. The dev server's simulators produce it on purpose for
amounts ending in 53 or 56, which generated payments hit. Any other 5xx (500, 503, or a 502 of
another kind) fails exactly as the built-in check would.
"""

import json

import schemathesis


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
