//! DynamoDB error answers for tests, at the HTTP level of the real SDK: an HTTP client that
//! wraps the real one and, for the requests a rule picks, either answers in DynamoDB's place
//! (the request never reaches moto: e.g. a `TransactionCanceledException` with
//! `TransactionConflict`, which moto never sends) or forwards the request and replaces its answer
//! (the write happened, the answer was lost: the SDK then retries it).

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use std::sync::Arc;

/// What to do with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and JSON body instead of DynamoDB.
    Answer(u16, String),
    /// Let DynamoDB apply it, then answer this instead of what it said.
    LoseAnswer(u16, String),
}

/// Picks the fault for a request from its operation (`TransactWriteItems`, `PutItem`, …) and
/// its JSON body; `None` passes it through.
pub type Rule = Arc<dyn Fn(&str, &str) -> Option<Fault> + Send + Sync>;

/// A `TransactionCanceledException` whose reasons are `None` except `TransactionConflict` at
/// the positions given, out of `items`.
pub fn transaction_conflict(items: usize, conflicts: &[usize]) -> Fault {
    let reasons: Vec<serde_json::Value> = (0..items)
        .map(|i| {
            if conflicts.contains(&i) {
                serde_json::json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
            } else {
                serde_json::json!({"Code": "None"})
            }
        })
        .collect();
    Fault::Answer(
        400,
        serde_json::json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
            "CancellationReasons": reasons,
        })
        .to_string(),
    )
}

/// An answer the SDK retries (a 500 `InternalServerError`).
pub fn internal_error() -> Fault {
    Fault::LoseAnswer(
        500,
        serde_json::json!({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
            "message": "Internal server error"})
        .to_string(),
    )
}

#[derive(Debug, Clone)]
struct Faulty {
    inner: SharedHttpConnector,
    rule: RuleBox,
}

#[derive(Clone)]
struct RuleBox(Rule);

impl std::fmt::Debug for RuleBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rule")
    }
}

fn answer(status: u16, body: String) -> Result<HttpResponse, String> {
    let status = StatusCode::try_from(status).map_err(|e| e.to_string())?;
    let mut resp = HttpResponse::new(status, SdkBody::from(body));
    resp.headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    Ok(resp)
}

impl HttpConnector for Faulty {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let op = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("")
            .to_string();
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let fault = (self.rule.0)(&op, &body);
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            match fault {
                None => inner.call(request).await,
                Some(Fault::Answer(status, body)) => answer(status, body).map_err(|e| {
                    aws_smithy_runtime_api::client::result::ConnectorError::other(e.into(), None)
                }),
                Some(Fault::LoseAnswer(status, body)) => {
                    inner.call(request).await?;
                    answer(status, body).map_err(|e| {
                        aws_smithy_runtime_api::client::result::ConnectorError::other(
                            e.into(),
                            None,
                        )
                    })
                }
            }
        })
    }
}

/// A DynamoDB client on moto whose requests go through `rule`.
pub fn faulty_client(rule: Rule) -> Client {
    let real = shared::adapters::aws::http_client();
    let client = http_client_fn(move |settings, components| {
        use aws_smithy_runtime_api::client::http::HttpClient;
        SharedHttpConnector::new(Faulty {
            inner: real.http_connector(settings, components),
            rule: RuleBox(rule.clone()),
        })
    });
    let conf = aws_sdk_dynamodb::Config::builder()
        .http_client(client)
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(crate::moto_endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    Client::from_conf(conf)
}
