//! SQS on moto: a queue with its DLQ, and a poller that does what Lambda's event source mapping
//! does (receive a batch, call the worker, delete what succeeded).

use aws_sdk_sqs::config::{Credentials, Region};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;
use shared::service::webhooks::{QueueMessage, WebhookWorker};

/// An SQS client pointed at moto.
pub fn sqs_client() -> Client {
    let conf = aws_sdk_sqs::Config::builder()
        .http_client(shared::adapters::aws::http_client())
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(crate::moto_endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    Client::from_conf(conf)
}

/// A source queue and its DLQ, `maxReceiveCount` as given.
pub struct Queues {
    pub client: Client,
    pub url: String,
    pub dlq_url: String,
}

impl Queues {
    /// Creates both queues with fresh names.
    pub async fn create(max_receive_count: u32) -> Self {
        let client = sqs_client();
        let name = format!("q{}", ulid::Ulid::new().to_string().to_lowercase());
        let dlq_url = client
            .create_queue()
            .queue_name(format!("{name}-dlq"))
            .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
            .send()
            .await
            .expect("create dlq")
            .queue_url
            .expect("dlq url");
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("dlq attrs")
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .expect("dlq arn");
        let policy = format!(
            r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":{max_receive_count}}}"#
        );
        let url = client
            .create_queue()
            .queue_name(&name)
            .attributes(QueueAttributeName::RedrivePolicy, policy)
            .attributes(QueueAttributeName::VisibilityTimeout, "60")
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url");
        Queues {
            client,
            url,
            dlq_url,
        }
    }

    /// Messages currently in a queue (visible or in flight).
    pub async fn depth(&self, url: &str) -> usize {
        let a = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("attrs")
            .attributes
            .unwrap_or_default();
        let n =
            |k: QueueAttributeName| a.get(&k).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        n(QueueAttributeName::ApproximateNumberOfMessages)
            + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
    }

    /// One batch (up to 10) as Lambda would receive it.
    pub async fn receive(&self) -> Vec<QueueMessage> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::AwsTraceHeader)
            .send()
            .await
            .expect("receive");
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| QueueMessage {
                trace_header: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::AwsTraceHeader))
                    .cloned(),
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
                message_id: m.message_id.unwrap_or_default(),
                receipt_handle: m.receipt_handle.unwrap_or_default(),
                body: m.body.unwrap_or_default(),
            })
            .collect()
    }

    /// Receive one batch, run the worker, delete the messages it did not report failed.
    /// Returns (batch size, failed ids).
    pub async fn poll_once(&self, worker: &WebhookWorker) -> (usize, Vec<String>) {
        let batch = self.receive().await;
        let n = batch.len();
        if n == 0 {
            return (0, vec![]);
        }
        let failed = worker.process_batch(batch.clone()).await.expect("batch");
        for m in batch.iter().filter(|m| !failed.contains(&m.message_id)) {
            self.client
                .delete_message()
                .queue_url(&self.url)
                .receipt_handle(&m.receipt_handle)
                .send()
                .await
                .expect("delete");
        }
        (n, failed)
    }
}
