//! The worker's loops on the in-process queues: what the SQS event source mappings do in AWS
//! (per queue, `pollers` concurrent consumers — the mapping's maximum concurrency — each taking
//! batches of up to 10, deleting what the worker acknowledged).

use shared::adapters::aws::OutboxStreamPoller;
use shared::adapters::memory::{MemoryOutbox, MemoryQueue, MemoryQueues};
use shared::ports::QueueKind;
use shared::service::webhooks::{relay_memory_feed, QueueMessage, Relay, WebhookWorker};
use std::sync::Arc;
use std::time::Duration;

/// How long a received message stays invisible if the worker dies mid-batch.
const VISIBILITY: Duration = Duration::from_secs(60);

/// Starts `pollers` consumers of the `kind` queue; they poll until the process ends.
pub fn spawn(
    queues: Arc<MemoryQueues>,
    kind: QueueKind,
    pollers: usize,
    worker: Arc<WebhookWorker>,
) {
    for _ in 0..pollers.max(1) {
        tokio::spawn(run(queues.clone(), kind, worker.clone()));
    }
}

async fn run(queues: Arc<MemoryQueues>, kind: QueueKind, worker: Arc<WebhookWorker>) {
    let name = match kind {
        QueueKind::Intake => "intake",
        QueueKind::Delivery => "delivery",
    };
    let queue: &MemoryQueue = queues.of(kind);
    loop {
        // What a load run watches (`/metrics`): SQS's ApproximateNumberOfMessagesNotVisible.
        metrics::gauge!("queue_in_flight", "queue" => name).set(queue.in_flight() as f64);
        metrics::gauge!("queue_dead_letters", "queue" => name).set(queue.dlq_len() as f64);
        let batch: Vec<QueueMessage> = queue
            .receive(10, VISIBILITY)
            .into_iter()
            .map(|m| QueueMessage {
                trace_header: None,
                message_id: m.message_id,
                receipt_handle: m.receipt_handle,
                body: m.body,
                receive_count: m.receive_count,
            })
            .collect();
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        match worker.process_batch(batch.clone()).await {
            Ok(failed) => {
                for m in batch.iter().filter(|m| !failed.contains(&m.message_id)) {
                    queue.delete(&m.receipt_handle);
                }
            }
            Err(e) => tracing::error!(error = %e, "batch failed"),
        }
        if queue.dlq_len() > 0 {
            tracing::warn!(
                queue = name,
                dead_letters = queue.dlq_len(),
                "messages in the local dead-letter queue"
            );
        }
    }
}

/// The outbox relay on the in-memory feed: every event written is handed to the queue.
pub async fn relay_memory(outbox: Arc<MemoryOutbox>, relay: Relay) {
    loop {
        if let Err(e) = relay_memory_feed(&outbox, &relay).await {
            tracing::warn!(error = %e, "relay stopped; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        outbox.wait(Duration::from_millis(500)).await;
    }
}

/// The outbox relay on the DynamoDB table's stream (`--store dynamodb`).
pub async fn relay_stream(mut poller: OutboxStreamPoller, relay: Relay) {
    loop {
        match poller.poll_and_forward(&relay).await {
            Ok(0) => tokio::time::sleep(Duration::from_millis(300)).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "stream relay failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The sweeper on a timer (the Lambda's EventBridge schedule, locally): every `every`, one pass
/// over the create claims whose holder died without a retry (`Orchestrator::sweep_stale_claims`).
pub async fn sweep(svc: Arc<shared::service::Orchestrator>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = svc.sweep_stale_claims().await {
            tracing::warn!(error = %e, "sweeper pass failed; next pass retries");
        }
    }
}

/// The reconciliation schedule of the dev server: one pass every `every` (the deployment's
/// Lambda runs hourly), the first one period after start.
pub async fn reconcile(svc: Arc<shared::service::Orchestrator>, every: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match svc.reconcile_all(Duration::from_secs(100)).await {
            Ok(p) if p.findings > 0 || p.failed > 0 => {
                tracing::warn!(
                    runs = p.runs,
                    findings = p.findings,
                    failed = p.failed,
                    "reconciliation pass"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reconciliation pass failed; next pass retries"),
        }
    }
}

/// The relay audit of the dev server: every `every` (the deployment's Lambda runs hourly), the
/// events written 26 h to 25 h ago on the service clock that are still pending with no attempt
/// are handed to the queue (`Orchestrator::relay_audit`); the first pass one period after start.
pub async fn relay_audit(svc: Arc<shared::service::Orchestrator>, every: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match svc.relay_audit().await {
            Ok(r) if r.requeued > 0 || r.failed > 0 => tracing::warn!(
                examined = r.examined,
                requeued = r.requeued,
                failed = r.failed,
                "relay audit"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "relay audit failed; next pass retries"),
        }
    }
}
