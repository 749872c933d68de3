//! Worker Lambda, with two event sources: the SQS queue (gateway webhooks and merchant event
//! deliveries; `batchItemFailures` out, failed messages already rescheduled on the retry
//! schedule) and the outbox table's DynamoDB stream (the relay: each new merchant event is
//! handed to the queue; on failure the stream retries from the first record not handed over).

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use metrics_cloudwatch_embedded::lambda::handler::run;
use serde_json::{json, Value};
use shared::service::webhooks::{parse_stream_event, QueueMessage, Relay, WebhookWorker};

async fn serve_sqs(worker: &WebhookWorker, event: SqsEvent) -> Result<Value, Error> {
    let batch = event
        .records
        .into_iter()
        .map(|r| QueueMessage {
            trace_header: r.attributes.get("AWSTraceHeader").cloned(),
            receive_count: r
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
            message_id: r.message_id.unwrap_or_default(),
            receipt_handle: r.receipt_handle.unwrap_or_default(),
            body: r.body.unwrap_or_default(),
        })
        .collect();
    let failed = worker.process_batch(batch).await?;
    let mut resp = SqsBatchResponse::default();
    for id in failed {
        let mut f = BatchItemFailure::default();
        f.item_identifier = id;
        resp.batch_item_failures.push(f);
    }
    Ok(serde_json::to_value(resp)?)
}

async fn serve_stream(relay: &Relay, event: &Value) -> Result<Value, Error> {
    let batch = parse_stream_event(event)?;
    if batch.malformed > 0 {
        tracing::error!(
            malformed = batch.malformed,
            "outbox stream records without event id or tenant skipped"
        );
    }
    let failures = match relay.forward(&batch.items).await {
        Ok(()) => vec![],
        Err((i, e)) => {
            tracing::warn!(error = %e, event_id = %batch.items[i].event_id, "relay stopped; the stream retries from this record");
            vec![json!({"itemIdentifier": batch.items[i].position})]
        }
    };
    Ok(json!({"batchItemFailures": failures}))
}

async fn serve(
    worker: &WebhookWorker,
    relay: &Relay,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let from_stream = event.payload["Records"][0]["eventSource"] == "aws:dynamodb";
    if from_stream {
        serve_stream(relay, &event.payload).await
    } else {
        serve_sqs(worker, serde_json::from_value(event.payload)?).await
    }
}

// One thread: a Lambda instance serves one invocation at a time, and a multi-thread runtime
// spent most of a warm invocation's CPU waking and parking its workers (docs/BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_json_logs();
    let metrics = shared::emf::lambda_recorder("worker")?;
    let (worker, relay) = shared::bootstrap::lambda_worker().await?;
    run(metrics, |ev| serve(&worker, &relay, ev)).await
}
