//! The webhook queue on SQS, and the redrive of its dead-letter queue.

use crate::ports::{DeliveryMessage, StoreError, WebhookEnvelope, WebhookQueue};
use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::Client;
use std::time::Duration;

/// SQS, as the receiver's output and the worker's retry control.
#[derive(Debug, Clone)]
pub struct SqsWebhookQueue {
    client: Client,
    queue_url: String,
}

fn unavailable<
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
>(
    e: aws_sdk_sqs::error::SdkError<E, R>,
) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

/// Longest visibility SQS accepts (12 h).
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

impl SqsWebhookQueue {
    /// Uses an existing client (built once per Lambda instance).
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// Sends one message; with a trace header, as its `AWSTraceHeader` system attribute, which
    /// links the consuming Lambda's trace to the producer's.
    async fn send_body(&self, body: String, trace: Option<String>) -> Result<(), StoreError> {
        let mut req = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body);
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
        self.send_body(body, crate::telemetry::trace_header()).await
    }

    async fn send_delivery(&self, message: &DeliveryMessage) -> Result<(), StoreError> {
        let body =
            serde_json::to_string(message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let trace = message
            .trace_header
            .clone()
            .or_else(crate::telemetry::trace_header);
        self.send_body(body, trace).await
    }

    async fn retry_later(&self, receipt_handle: &str, delay: Duration) -> Result<(), StoreError> {
        let secs = i32::try_from(delay.min(MAX_VISIBILITY).as_secs()).unwrap_or(i32::MAX);
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(secs)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// Moves every message of `dlq_url` back to `source_url` (send, then delete), and returns how
/// many moved. Works against AWS and local endpoints alike; bodies are unchanged, so callbacks
/// keep their `webhook-id`. Stops after `max` messages or when the DLQ answers empty twice.
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
                .message_body(body)
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
