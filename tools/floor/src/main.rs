//! The CPU floor of a warm create under `infra/coldstart.py`: a Lambda binary that makes the same
//! round trips as the proxy with the same bytes — `GET …/invocation/next`, the claim and the
//! commit `TransactWriteItems` (SigV4-signed, items of the proxy's sizes), one JSON log line,
//! `POST …/response` — over one kept-alive connection per peer, and nothing else: no AWS SDK
//! pipeline (no retries, no interceptors), no lambda_runtime, no API, no gateway, no metrics.
//!
//! It is a measuring stick, not a design: what it costs per invocation is what the loopback
//! TCP of those round trips and the least user-space work around them cost on the machine, so
//! it shows how far the proxy's CPU per warm create can fall there at all (docs/BENCHMARKS.md,
//! "CPU per warm create"). It answers `/health`, `POST /v1/payments` (fresh key: 201; a
//! completed key: its stored answer with `idempotent-replayed: true`) and nothing else.

mod conn;
mod dynamo;
mod items;

use bytes::Bytes;
use conn::{Conn, Error};
use dynamo::Dynamo;
use http_body_util::Full;
use items::{replayed_answer, Create, Tables};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::Write as _;

/// An answer to API Gateway: status, body, whether it is a replay.
type Answer = (u16, String, bool);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn bad(msg: &str) -> Answer {
    (
        400,
        json!({ "error": { "code": "bad_request", "message": msg } }).to_string(),
        false,
    )
}

async fn create(db: &mut Dynamo, tables: &Tables, event: &Value) -> Result<Answer, Error> {
    let headers = &event["headers"];
    let (Some(key), Some(_auth)) = (
        headers["idempotency-key"].as_str(),
        headers["authorization"].as_str(),
    ) else {
        return Ok(bad("idempotency-key and authorization are required"));
    };
    let raw = event["body"].as_str().unwrap_or_default();
    let Ok(body) = serde_json::from_str::<Value>(raw) else {
        return Ok(bad("the body is not JSON"));
    };
    let Some(amount) = body["amount"].as_u64() else {
        return Ok(bad("amount: a whole number of cents"));
    };
    let mut fingerprint = String::with_capacity(64);
    for b in Sha256::digest(raw.as_bytes()) {
        let _ = write!(fingerprint, "{b:02x}");
    }
    let token = ulid::Ulid::new().to_string();
    let payment_id = format!("pay_{token}");
    let now = now_ms();
    let answer = json!({
        "id": payment_id, "status": "pending", "amount": amount,
        "currency": body["currency"], "method": body["method"], "gateway": "efi",
        "reference": body["reference"], "metadata": body["metadata"],
        "pix": { "qr_code": format!("00020101021226830014br.gov.bcb.pix2561qrcodes.example.com/v2/{token}5204000053039865802BR5913Floor6008SaoPaulo62070503***6304ABCD"),
                 "expires_at": now / 1000 + 3600 },
        "created_at": now,
    })
    .to_string();
    let c = Create {
        pk: format!("floor#{key}"),
        fingerprint,
        payment_id,
        token,
        answer,
        body: &body,
        now_ms: now,
    };
    let (status, out) = db
        .call("TransactWriteItems", serde_json::to_vec(&c.claim(tables))?)
        .await?;
    if status != 200 {
        return match replayed_answer(&out) {
            Some(stored) => Ok((201, stored, true)),
            None => Err(format!("claim: {status} {out}").into()),
        };
    }
    let (status, out) = db
        .call("TransactWriteItems", serde_json::to_vec(&c.commit(tables))?)
        .await?;
    if status != 200 {
        return Err(format!("commit: {status} {out}").into());
    }
    let line = json!({ "level": "INFO", "message": "payment created",
                       "payment_id": c.payment_id, "gateway": "efi" });
    let _ = writeln!(std::io::stdout().lock(), "{line}");
    Ok((201, c.answer, false))
}

async fn handle(db: &mut Dynamo, tables: &Tables, event: &[u8]) -> Result<Answer, Error> {
    let Ok(event) = serde_json::from_slice::<Value>(event) else {
        return Ok(bad("the event is not JSON"));
    };
    match (
        event["requestContext"]["http"]["method"].as_str(),
        event["rawPath"].as_str(),
    ) {
        (Some("GET"), Some("/health")) => Ok((200, json!({ "status": "ok" }).to_string(), false)),
        (Some("POST"), Some("/v1/payments")) => create(db, tables, &event).await,
        _ => Ok((
            404,
            json!({ "error": { "code": "not_found" } }).to_string(),
            false,
        )),
    }
}

fn request(
    conn: &Conn,
    method: &str,
    path: &str,
    body: Bytes,
) -> Result<http::Request<Full<Bytes>>, Error> {
    Ok(http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", conn.host())
        .body(Full::new(body))?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut runtime = Conn::new(std::env::var("AWS_LAMBDA_RUNTIME_API")?);
    let mut db = Dynamo::from_env()?;
    let tables = Tables::from_env();
    loop {
        let next = request(
            &runtime,
            "GET",
            "/2018-06-01/runtime/invocation/next",
            Bytes::new(),
        )?;
        let (parts, event) = runtime.send(next).await?;
        let id = parts
            .headers
            .get("lambda-runtime-aws-request-id")
            .and_then(|v| v.to_str().ok())
            .ok_or("the Runtime API sent no request id")?
            .to_string();
        let (status, body, replayed) = handle(&mut db, &tables, &event).await.unwrap_or_else(|e| {
            (
                500,
                json!({ "error": { "message": e.to_string() } }).to_string(),
                false,
            )
        });
        let mut headers = json!({ "content-type": "application/json" });
        if replayed {
            headers["idempotent-replayed"] = json!("true");
        }
        let response = json!({ "statusCode": status, "headers": headers, "body": body });
        let post = request(
            &runtime,
            "POST",
            &format!("/2018-06-01/runtime/invocation/{id}/response"),
            Bytes::from(serde_json::to_vec(&response)?),
        )?;
        runtime.send(post).await?;
    }
}
