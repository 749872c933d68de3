//! Worker Lambda: an SQS batch in, `batchItemFailures` out (the event source mapping has
//! `ReportBatchItemFailures`). Failed messages were already rescheduled on the retry schedule.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shared::service::webhooks::{QueueMessage, WebhookWorker};

async fn serve(
    worker: &WebhookWorker,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let batch = event
        .payload
        .records
        .into_iter()
        .map(|r| QueueMessage {
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
    Ok(resp)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_json_logs();
    let worker = shared::bootstrap::lambda_worker().await?;
    run(service_fn(|ev| serve(&worker, ev))).await
}
