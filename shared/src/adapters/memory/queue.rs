//! An in-process queue with SQS's semantics where they matter: a received message is invisible
//! for a while, comes back unless deleted, and moves to a dead-letter list once it has been
//! received `max_receive_count` times; a message can be sent with a delay; at most
//! `inflight_cap` messages are in flight. [`MemoryQueues`] is the pipeline's pair (intake and
//! delivery), as the dev server runs it; one `MemoryQueue` alone carries both kinds (tests).

use crate::ports::{
    DeliveryMessage, QueueKind, StoreError, WebhookEnvelope, WebhookQueue, MAX_QUEUE_DELAY,
};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Message {
    id: String,
    body: String,
    receive_count: u32,
    visible_at: Instant,
    receipt: Option<String>,
}

/// A message handed to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// 1 on first delivery, like SQS's `ApproximateReceiveCount`.
    pub receive_count: u32,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Message>,
    dlq: Vec<Message>,
}

/// The dev server's webhook queue.
#[derive(Debug)]
pub struct MemoryQueue {
    state: Mutex<State>,
    max_receive_count: u32,
    /// SQS's limit on in-flight messages (received, not yet deleted or visible again): ≈ 120,000
    /// for a standard queue. At the limit a receive gets nothing (SQS answers `OverLimit`).
    inflight_cap: usize,
}

/// SQS's in-flight limit for a standard queue.
pub const SQS_INFLIGHT_CAP: usize = 120_000;

impl MemoryQueue {
    /// A queue whose messages go to the DLQ after `max_receive_count` receives.
    pub fn new(max_receive_count: u32) -> Self {
        Self {
            state: Mutex::new(State::default()),
            max_receive_count,
            inflight_cap: SQS_INFLIGHT_CAP,
        }
    }

    /// Models a smaller in-flight limit (load runs scale SQS's 120,000 down to their size).
    pub fn with_inflight_cap(mut self, cap: usize) -> Self {
        self.inflight_cap = cap.max(1);
        self
    }

    /// Messages received and not yet deleted whose visibility timeout has not run out.
    pub fn in_flight(&self) -> usize {
        let now = Instant::now();
        self.lock()
            .queue
            .iter()
            .filter(|m| m.receipt.is_some() && m.visible_at > now)
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Up to `max` visible messages, each hidden for `visibility`.
    pub fn receive(&self, max: usize, visibility: Duration) -> Vec<ReceivedMessage> {
        let now = Instant::now();
        let mut st = self.lock();
        let mut out = Vec::new();
        let mut in_flight = st
            .queue
            .iter()
            .filter(|m| m.receipt.is_some() && m.visible_at > now)
            .count();
        let mut i = 0;
        while i < st.queue.len() && out.len() < max {
            if in_flight >= self.inflight_cap {
                break; // SQS: OverLimit, nothing received
            }
            if st.queue[i].visible_at > now {
                i += 1;
                continue;
            }
            if st.queue[i].receive_count >= self.max_receive_count {
                if let Some(m) = st.queue.remove(i) {
                    st.dlq.push(m);
                }
                continue;
            }
            in_flight += 1;
            let m = &mut st.queue[i];
            m.receive_count += 1;
            m.visible_at = now + visibility;
            let receipt = format!("{}-{}", m.id, m.receive_count);
            m.receipt = Some(receipt.clone());
            out.push(ReceivedMessage {
                message_id: m.id.clone(),
                receipt_handle: receipt,
                body: m.body.clone(),
                receive_count: m.receive_count,
            });
            i += 1;
        }
        out
    }

    /// Deletes a received message.
    pub fn delete(&self, receipt_handle: &str) {
        self.lock()
            .queue
            .retain(|m| m.receipt.as_deref() != Some(receipt_handle));
    }

    /// Messages waiting (visible or not).
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// True when no message waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages in the dead-letter list.
    pub fn dlq_len(&self) -> usize {
        self.lock().dlq.len()
    }

    /// How long each waiting (sent with a delay, not in flight) message is still hidden.
    pub fn hidden_for(&self) -> Vec<Duration> {
        let now = Instant::now();
        self.lock()
            .queue
            .iter()
            .filter(|m| m.receipt.is_none() && m.visible_at > now)
            .map(|m| m.visible_at - now)
            .collect()
    }

    /// Makes every waiting message visible now (tests: the queue's side of a controlled
    /// clock moved ahead; messages in flight stay in flight).
    pub fn reveal_waiting(&self) {
        let now = Instant::now();
        for m in self.lock().queue.iter_mut().filter(|m| m.receipt.is_none()) {
            m.visible_at = now;
        }
    }

    /// The bodies in the dead-letter list, oldest first.
    pub fn dead_letters(&self) -> Vec<String> {
        self.lock().dlq.iter().map(|m| m.body.clone()).collect()
    }

    /// Moves every dead-lettered message back, receive count and the worker's attempt count
    /// reset (`crate::ports::fresh_copy`); returns how many moved.
    pub fn redrive(&self) -> usize {
        let mut st = self.lock();
        let moved: Vec<Message> = st.dlq.drain(..).collect();
        let n = moved.len();
        let now = Instant::now();
        for mut m in moved {
            m.receive_count = 0;
            m.visible_at = now;
            m.receipt = None;
            m.body = crate::ports::fresh_copy(&m.body);
            st.queue.push_back(m);
        }
        n
    }

    fn push(&self, body: String) {
        self.push_after(body, Duration::ZERO);
    }

    /// Enqueues `body`, invisible for `delay` (SQS `DelaySeconds`, at most 15 min).
    pub fn push_after(&self, body: String, delay: Duration) {
        self.lock().queue.push_back(Message {
            id: ulid::Ulid::new().to_string(),
            body,
            receive_count: 0,
            visible_at: Instant::now() + delay.min(MAX_QUEUE_DELAY),
            receipt: None,
        });
    }

    fn push_dead(&self, body: String) {
        self.lock().dlq.push(Message {
            id: ulid::Ulid::new().to_string(),
            body,
            receive_count: 0,
            visible_at: Instant::now(),
            receipt: None,
        });
    }

    fn hide(&self, receipt_handle: &str, delay: Duration) -> Result<(), StoreError> {
        let mut st = self.lock();
        match st
            .queue
            .iter_mut()
            .find(|m| m.receipt.as_deref() == Some(receipt_handle))
        {
            Some(m) => {
                m.visible_at = Instant::now() + delay.min(MAX_QUEUE_DELAY);
                Ok(())
            }
            None => Err(StoreError::Conflict("unknown receipt handle".into())),
        }
    }
}

/// The pipeline's two in-process queues (the dev server's): gateway webhooks and merchant
/// deliveries apart, each with its dead-letter list and in-flight limit.
#[derive(Debug)]
pub struct MemoryQueues {
    pub intake: MemoryQueue,
    pub delivery: MemoryQueue,
}

impl MemoryQueues {
    /// Two queues with the same receive limit and in-flight cap.
    pub fn new(max_receive_count: u32, inflight_cap: usize) -> Self {
        Self {
            intake: MemoryQueue::new(max_receive_count).with_inflight_cap(inflight_cap),
            delivery: MemoryQueue::new(max_receive_count).with_inflight_cap(inflight_cap),
        }
    }

    /// The queue of `kind`.
    pub fn of(&self, kind: QueueKind) -> &MemoryQueue {
        match kind {
            QueueKind::Intake => &self.intake,
            QueueKind::Delivery => &self.delivery,
        }
    }
}

#[async_trait]
impl WebhookQueue for MemoryQueues {
    async fn send(&self, envelope: &WebhookEnvelope) -> Result<(), StoreError> {
        self.intake.send(envelope).await
    }

    async fn send_delivery(&self, message: &DeliveryMessage) -> Result<(), StoreError> {
        self.delivery.send_delivery(message).await
    }

    async fn send_later(
        &self,
        queue: QueueKind,
        body: &str,
        delay: Duration,
        _trace_header: Option<&str>,
    ) -> Result<(), StoreError> {
        self.of(queue).push_after(body.to_string(), delay);
        Ok(())
    }

    async fn retry_later(
        &self,
        queue: QueueKind,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), StoreError> {
        self.of(queue).hide(receipt_handle, delay)
    }

    async fn dead_letter(&self, queue: QueueKind, body: &str) -> Result<(), StoreError> {
        self.of(queue).push_dead(body.to_string());
        Ok(())
    }
}

#[async_trait]
impl WebhookQueue for MemoryQueue {
    async fn send(&self, envelope: &WebhookEnvelope) -> Result<(), StoreError> {
        self.push(serde_json::to_string(envelope).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        Ok(())
    }

    async fn send_delivery(&self, message: &DeliveryMessage) -> Result<(), StoreError> {
        self.push(serde_json::to_string(message).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        Ok(())
    }

    async fn send_later(
        &self,
        _queue: QueueKind,
        body: &str,
        delay: Duration,
        _trace_header: Option<&str>,
    ) -> Result<(), StoreError> {
        self.push_after(body.to_string(), delay);
        Ok(())
    }

    async fn retry_later(
        &self,
        _queue: QueueKind,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), StoreError> {
        self.hide(receipt_handle, delay)
    }

    async fn dead_letter(&self, _queue: QueueKind, body: &str) -> Result<(), StoreError> {
        self.push_dead(body.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_retry_and_dead_letter() {
        let q = MemoryQueue::new(2);
        q.push("a".into());
        let first = q.receive(10, Duration::from_secs(60));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].receive_count, 1);
        assert!(
            q.receive(10, Duration::from_secs(60)).is_empty(),
            "invisible while in flight"
        );
        // Retry now: visible again.
        futures_lite_block(q.retry_later(
            QueueKind::Delivery,
            &first[0].receipt_handle,
            Duration::ZERO,
        ))
        .unwrap();
        let second = q.receive(10, Duration::ZERO);
        assert_eq!(second[0].receive_count, 2);
        // Received twice already: the next receive dead-letters it.
        assert!(q.receive(10, Duration::ZERO).is_empty());
        assert_eq!((q.len(), q.dlq_len()), (0, 1));
        assert_eq!(q.redrive(), 1);
        let again = q.receive(10, Duration::ZERO);
        assert_eq!(
            (again[0].message_id.clone(), again[0].receive_count),
            (first[0].message_id.clone(), 1)
        );
        q.delete(&again[0].receipt_handle);
        assert!(q.is_empty());
    }

    #[test]
    fn at_the_in_flight_cap_a_receive_gets_nothing() {
        let q = MemoryQueue::new(8).with_inflight_cap(2);
        for b in ["a", "b", "c"] {
            q.push(b.into());
        }
        let got = q.receive(10, Duration::from_secs(60));
        assert_eq!(got.len(), 2, "two in flight at most");
        assert_eq!(q.in_flight(), 2);
        assert!(
            q.receive(10, Duration::from_secs(60)).is_empty(),
            "over the limit"
        );
        q.delete(&got[0].receipt_handle);
        assert_eq!(q.receive(10, Duration::from_secs(60)).len(), 1);
    }

    fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
}
