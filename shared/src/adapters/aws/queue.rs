//! The pipeline's queues on SQS (intake and delivery, each with its dead-letter queue), and
//! the redrive of a dead-letter queue.

use crate::ports::{
    DeliveryMessage, QueueKind, StoreError, WebhookEnvelope, WebhookQueue, MAX_QUEUE_DELAY,
};
use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::Client;
use std::time::Duration;

/// SQS, as the receiver's and relay's output and the worker's retry control.
#[derive(Debug, Clone)]
pub struct SqsWebhookQueue {
    client: Client,
    intake_url: String,
    delivery_url: String,
    intake_dlq_url: Option<String>,
    delivery_dlq_url: Option<String>,
}

fn unavailable<
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
>(
    e: aws_sdk_sqs::error::SdkError<E, R>,
) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

impl SqsWebhookQueue {
    /// Uses an existing client (built once per Lambda instance); one queue for both kinds
    /// until [`Self::with_delivery_queue`] names the delivery queue.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        let url = queue_url.into();
        Self {
            client,
            delivery_url: url.clone(),
            intake_url: url,
            intake_dlq_url: None,
            delivery_dlq_url: None,
        }
    }

    /// The merchant deliveries' own queue.
    pub fn with_delivery_queue(mut self, url: impl Into<String>) -> Self {
        self.delivery_url = url.into();
        self
    }

    /// The dead-letter queues the worker moves poison and spent messages to (without them,
    /// such a message is left to SQS's redrive policy: `maxReceiveCount` receives).
    pub fn with_dead_letter_queues(
        mut self,
        intake: Option<String>,
        delivery: Option<String>,
    ) -> Self {
        self.intake_dlq_url = intake;
        self.delivery_dlq_url = delivery;
        self
    }

    fn url(&self, kind: QueueKind) -> &str {
        match kind {
            QueueKind::Intake => &self.intake_url,
            QueueKind::Delivery => &self.delivery_url,
        }
    }

    /// Sends one message; with a trace header, as its `AWSTraceHeader` system attribute, which
    /// links the consuming Lambda's trace to the producer's.
    async fn send_body(
        &self,
        url: &str,
        body: String,
        trace: Option<String>,
        delay: Duration,
    ) -> Result<(), StoreError> {
        let delay = i32::try_from(delay.min(MAX_QUEUE_DELAY).as_secs()).unwrap_or(0);
        let mut req = self.client.send_message().queue_url(url).message_body(body);
        if delay > 0 {
            req = req.delay_seconds(delay);
        }
        if let Some(t) = trace.filter(|t| crate::telemetry::valid_trace_header(t)) {
            let attr = aws_sdk_sqs::types::MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(t)
                .build()
                .map_err(|e| StoreError::Corrupt(format!("trace attribute: {e}")))?;
            req = req.message_system_attributes(
                aws_sdk_sqs::types::MessageSystemAttributeNameForSends::AwsTraceHeader,
                attr,
            );
        }
        req.send().await.map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl WebhookQueue for SqsWebhookQueue {
    async fn send(&self, envelope: &WebhookEnvelope) -> Result<(), StoreError> {
        let body =
            serde_json::to_string(envelope).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.send_body(
            &self.intake_url,
            body,
            crate::telemetry::trace_header(),
            Duration::ZERO,
        )
        .await
    }

    async fn send_delivery(&self, message: &DeliveryMessage) -> Result<(), StoreError> {
        let body =
            serde_json::to_string(message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let trace = message
            .trace_header
            .clone()
            .or_else(crate::telemetry::trace_header);
        self.send_body(&self.delivery_url, body, trace, Duration::ZERO)
            .await
    }

    async fn send_later(
        &self,
        queue: QueueKind,
        body: &str,
        delay: Duration,
        trace_header: Option<&str>,
    ) -> Result<(), StoreError> {
        self.send_body(
            self.url(queue),
            body.to_string(),
            trace_header.map(str::to_string),
            delay,
        )
        .await
    }

    async fn dead_letter(&self, queue: QueueKind, body: &str) -> Result<(), StoreError> {
        let dlq = match queue {
            QueueKind::Intake => self.intake_dlq_url.as_deref(),
            QueueKind::Delivery => self.delivery_dlq_url.as_deref(),
        }
        .ok_or_else(|| StoreError::Unavailable("no dead-letter queue configured".into()))?;
        self.send_body(dlq, body.to_string(), None, Duration::ZERO)
            .await
    }

    async fn retry_later(
        &self,
        queue: QueueKind,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), StoreError> {
        let secs = i32::try_from(delay.min(MAX_QUEUE_DELAY).as_secs()).unwrap_or(0);
        self.client
            .change_message_visibility()
            .queue_url(self.url(queue))
            .receipt_handle(receipt_handle)
            .visibility_timeout(secs)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// Moves every message of `dlq_url` back to `source_url` (send, then delete), and returns how
/// many moved. Works against AWS and local endpoints alike; bodies keep the event (so callbacks
/// keep their `webhook-id`) with the worker's attempt count reset (`ports::fresh_copy`). Stops after `max` messages or when the DLQ answers empty twice.
pub async fn redrive(
    client: &Client,
    dlq_url: &str,
    source_url: &str,
    max: usize,
) -> Result<usize, StoreError> {
    let mut moved = 0;
    let mut empty = 0;
    while moved < max && empty < 2 {
        let out = client
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(unavailable)?;
        let msgs = out.messages.unwrap_or_default();
        if msgs.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        for m in msgs {
            let (Some(body), Some(receipt)) = (m.body(), m.receipt_handle()) else {
                continue;
            };
            client
                .send_message()
                .queue_url(source_url)
                .message_body(crate::ports::fresh_copy(body))
                .send()
                .await
                .map_err(unavailable)?;
            client
                .delete_message()
                .queue_url(dlq_url)
                .receipt_handle(receipt)
                .send()
                .await
                .map_err(unavailable)?;
            moved += 1;
        }
    }
    Ok(moved)
}
