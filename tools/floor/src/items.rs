//! The two `TransactWriteItems` bodies of a create, shaped and sized like the proxy's (the claim:
//! idempotency `Put` + rate-window `ADD`; the commit: payment, outbox event, usage `ADD` and the
//! completed idempotency record — 1,170 / 1,500 / 124 / 1,133 B, `coldstart.py --item-sizes`).

use serde_json::{json, Value};

/// The table names the proxy uses, from the same environment variables.
pub struct Tables {
    idempotency: String,
    payments: String,
    outbox: String,
    usage: String,
}

impl Tables {
    /// `IDEMPOTENCY_TABLE`, `PAYMENTS_TABLE`, `OUTBOX_TABLE`, `USAGE_TABLE`.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).unwrap_or_else(|_| format!("floor-{k}"));
        Self {
            idempotency: var("IDEMPOTENCY_TABLE"),
            payments: var("PAYMENTS_TABLE"),
            outbox: var("OUTBOX_TABLE"),
            usage: var("USAGE_TABLE"),
        }
    }
}

/// What one create writes, computed once from the request.
pub struct Create<'a> {
    /// The idempotency record's key (tenant and the client's key).
    pub pk: String,
    /// SHA-256 of the request body, hex.
    pub fingerprint: String,
    /// The new payment's id.
    pub payment_id: String,
    /// A fresh ULID: the two transactions' client request tokens derive from it.
    pub token: String,
    /// The answer the client gets, stored with the completed record for replays.
    pub answer: String,
    /// The request body, as parsed.
    pub body: &'a Value,
    /// Unix time, ms.
    pub now_ms: i64,
}

fn s(v: &str) -> Value {
    json!({ "S": v })
}

fn n(v: i64) -> Value {
    json!({ "N": v.to_string() })
}

impl Create<'_> {
    /// The claim: the in-flight record unless the key exists (then its old image comes back in
    /// the cancellation reason), and the tenant's rate-window counter.
    pub fn claim(&self, t: &Tables) -> Value {
        json!({
            "ClientRequestToken": format!("claim-{}", self.token),
            "TransactItems": [
                { "Put": {
                    "TableName": t.idempotency,
                    "Item": {
                        "pk": s(&self.pk), "status": s("IN_PROGRESS"), "fp": s(&self.fingerprint),
                        "payment_id": s(&self.payment_id), "lease": s(&self.payment_id),
                        "in_flight_until": n(self.now_ms + 30_000),
                        "expires_at": n(self.now_ms + 86_400_000),
                        "ttl": n(self.now_ms / 1000 + 86_400), "steps": s("efi")
                    },
                    "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                    "ExpressionAttributeValues": { ":now": n(self.now_ms) },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"
                }},
                { "Update": {
                    "TableName": t.idempotency,
                    "Key": { "pk": s(&format!("#rl#floor#{}", self.now_ms / 60_000 * 60)) },
                    "UpdateExpression": "ADD #n :one SET #ttl = :ttl",
                    "ConditionExpression": "attribute_not_exists(#n) OR #n < :limit",
                    "ExpressionAttributeNames": { "#n": "n", "#ttl": "ttl" },
                    "ExpressionAttributeValues": {
                        ":one": n(1), ":limit": n(1_000_000), ":ttl": n(self.now_ms / 1000 + 3660)
                    }
                }}
            ]
        })
    }

    /// The commit: the payment, its `payment.created` event, the usage counter and the
    /// completed idempotency record (conditional on the claim still being ours), in one write.
    pub fn commit(&self, t: &Tables) -> Value {
        let pad = |len: usize| "x".repeat(len);
        let day = self.now_ms / 86_400_000;
        json!({
            "ClientRequestToken": format!("commit-{}", self.token),
            "TransactItems": [
                { "Put": {
                    "TableName": t.payments,
                    "Item": {
                        "id": s(&self.payment_id), "tenant_id": s("floor"),
                        "tenant_ref": s("floor#order-42"), "gw_ref": s(&format!("efi#{}", self.payment_id)),
                        "status": s("pending"), "amount": n(1990), "currency": s("BRL"),
                        "request": s(&self.body.to_string()), "answer": s(&self.answer),
                        "created_at": n(self.now_ms), "filler": s(&pad(400))
                    },
                    "ConditionExpression": "attribute_not_exists(id)"
                }},
                { "Put": {
                    "TableName": t.outbox,
                    "Item": {
                        "id": s(&format!("evt_{}", self.payment_id)), "tenant_id": s("floor"),
                        "payment_id": s(&self.payment_id), "type": s("payment.created"),
                        "data": s(&self.answer), "attempts": s("[]"), "state": s("pending"),
                        "ttl": n(self.now_ms / 1000 + 30 * 86_400), "filler": s(&pad(965))
                    }
                }},
                { "Update": {
                    "TableName": t.usage,
                    "Key": { "pk": s("floor"), "sk": s(&format!("{day}#7")) },
                    "UpdateExpression": "ADD payments_created :one, amount_created :amt SET filler = :pad",
                    "ExpressionAttributeValues": { ":one": n(1), ":amt": n(1990), ":pad": s(&pad(70)) }
                }},
                { "Update": {
                    "TableName": t.idempotency,
                    "Key": { "pk": s(&self.pk) },
                    "UpdateExpression": "SET #status = :done, resp_status = :code, resp_body = :body, filler = :pad",
                    "ConditionExpression": "#status = :flight AND #lease = :lease",
                    "ExpressionAttributeNames": { "#status": "status", "#lease": "lease" },
                    "ExpressionAttributeValues": {
                        ":done": s("COMPLETED"), ":code": n(201), ":body": s(&self.answer),
                        ":flight": s("IN_PROGRESS"), ":lease": s(&self.payment_id),
                        ":pad": s(&pad(450))
                    }
                }}
            ]
        })
    }
}

/// The stored answer of an existing key, from the claim's cancellation reasons, if the key's
/// record is complete.
pub fn replayed_answer(cancel: &Value) -> Option<String> {
    let item = cancel.get("CancellationReasons")?.get(0)?.get("Item")?;
    (item.get("status")?.get("S")?.as_str()? == "COMPLETED")
        .then(|| item.get("resp_body")?.get("S")?.as_str().map(str::to_owned))
        .flatten()
}
