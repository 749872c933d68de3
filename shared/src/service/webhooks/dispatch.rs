//! What the worker does with each received queue message, as an explicit table:
//!
//! | message | → | queue action |
//! |---|---|---|
//! | unreadable (not JSON of either kind) | poison | dead-lettered at once (intake DLQ) |
//! | received [`CRASH_RECEIVES`] times without an answer (the worker died or timed out on it, or Lambda throttled or failed to start) | a failed attempt | sent again with `attempt + 1` (not processed now); dead-lettered only when that spends the attempts |
//! | `due_at_ms` more than a second away | hop | sent again, hidden `min(wait, 15 min)`, attempt unchanged |
//! | processed | done | deleted |
//! | failed, attempts left (the message's own `attempt`, never SQS's receive count) | retry | sent again with `attempt + 1`, due after the schedule's delay |
//! | failed, poison (unknown gateway, tenant or event, no signing secret, a body no gateway module reads) | poison | dead-lettered on its first attempt |
//! | failed, attempts spent | spent | dead-lettered (a delivery's event is marked `failed` first) |
//! | a delivery held by its endpoint's health or its tenant's share of the worker | wait | sent again, due then, attempt unchanged |
//!
//! Every wait is a new message with SQS's `DelaySeconds` (≤ 15 min): nothing waits *in
//! flight*, so a dead endpoint's schedule cannot fill SQS's in-flight limit (≈ 120,000) and
//! stall every tenant's webhooks. Only when that send fails is the received message hidden
//! instead (`ChangeMessageVisibility`, ≤ 15 min) and reported failed, so it comes back.

use super::worker::{QueueBody, QueueMessage, WebhookWorker, WorkerError};
use crate::ports::{QueueKind, MAX_QUEUE_DELAY};
use std::time::Duration;

/// A copy received this many times was never answered (the worker crashed or timed out on it
/// each time): it is dead-lettered before it can take the worker down again. The queues'
/// `maxReceiveCount` is one more, a backstop for a worker that dies while dead-lettering.
pub const CRASH_RECEIVES: u32 = 5;

/// The queues' `maxReceiveCount` (template, dev server).
pub const MAX_RECEIVE_COUNT: u32 = CRASH_RECEIVES + 1;

/// What becomes of one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Finished: delete it.
    Done,
    /// Send this body again, hidden for `delay`, then delete the received one.
    Later { body: String, delay: Duration },
    /// Move it to the dead-letter queue, then delete it.
    DeadLetter(String),
}

impl QueueBody {
    pub(crate) fn kind(&self) -> QueueKind {
        match self {
            QueueBody::Deliver(_) => QueueKind::Delivery,
            QueueBody::Webhook(_) => QueueKind::Intake,
        }
    }

    fn attempt(&self) -> u32 {
        match self {
            QueueBody::Deliver(d) => d.attempt,
            QueueBody::Webhook(w) => w.attempt,
        }
    }

    fn due_at_ms(&self) -> Option<i64> {
        match self {
            QueueBody::Deliver(d) => d.due_at_ms,
            QueueBody::Webhook(w) => w.due_at_ms,
        }
    }

    /// This message as the copy to send for a wait until `due_at_ms`, its `attempt` set.
    pub(crate) fn copy(&self, attempt: u32, due_at_ms: i64) -> String {
        let text = match self {
            QueueBody::Deliver(d) => {
                let mut d = d.clone();
                d.attempt = attempt;
                d.due_at_ms = Some(due_at_ms);
                serde_json::to_string(&d)
            }
            QueueBody::Webhook(w) => {
                let mut w = w.clone();
                w.attempt = attempt;
                w.due_at_ms = Some(due_at_ms);
                serde_json::to_string(&w)
            }
        };
        // Both serialize plain structs of strings and numbers.
        text.unwrap_or_default()
    }
}

impl WebhookWorker {
    /// Processes a batch concurrently; returns the ids of messages that must come back (each
    /// already hidden for its delay). A message without an id is reported through `Err`, which
    /// fails the whole batch, as SQS would anyway.
    pub async fn process_batch(&self, batch: Vec<QueueMessage>) -> Result<Vec<String>, String> {
        if batch.iter().any(|m| m.message_id.is_empty()) {
            return Err("a message has no id; failing the batch so SQS redelivers it".into());
        }
        let done = futures::future::join_all(batch.iter().map(|m| self.dispose(m))).await;
        Ok(batch
            .iter()
            .zip(done)
            .filter(|(_, acked)| !acked)
            .map(|(m, _)| m.message_id.clone())
            .collect())
    }

    /// Decides and carries out what becomes of one message; true when it may be deleted.
    async fn dispose(&self, m: &QueueMessage) -> bool {
        let (kind, action) = match serde_json::from_str::<QueueBody>(&m.body) {
            Err(e) => (
                QueueKind::Intake,
                Action::DeadLetter(format!("unreadable message: {e}")),
            ),
            Ok(body) => (body.kind(), self.decide(m, &body).await),
        };
        self.carry_out(kind, m, action).await
    }

    /// The table above, for a readable message.
    async fn decide(&self, m: &QueueMessage, body: &QueueBody) -> Action {
        let now_ms = self.clock.now().timestamp_millis();
        if m.receive_count >= CRASH_RECEIVES {
            // The worker died or timed out on this copy each time — or Lambda throttled, or an
            // outage kept it from starting. It is not processed now (it may be what kills the
            // worker): it costs one of its own attempts, like any failure, and comes back later
            // as a fresh copy; only spent attempts send it to the DLQ.
            let why = format!(
                "received {} times without an answer (the worker crashed, timed out or was throttled)",
                m.receive_count
            );
            return self.retry_or_spend(m, body, now_ms, why).await;
        }
        if let Some(due) = body.due_at_ms().filter(|d| *d > now_ms + 1_000) {
            return Action::Later {
                body: m.body.clone(),
                delay: Duration::from_millis(u64::try_from(due - now_ms).unwrap_or(0)),
            };
        }
        let outcome = match body {
            QueueBody::Deliver(d) => self.deliver_step(d, m).await,
            QueueBody::Webhook(env) => match self.process_envelope(env, m).await {
                Ok(()) => Step::Done,
                Err(e) => Step::Failed(e),
            },
        };
        match outcome {
            Step::Done => Action::Done,
            // A wait is re-decided on every hop (the endpoint may heal, the tenant's slots free
            // up), so its copy is due at the hop, never later.
            Step::Wait(delay) => {
                let hop = delay.min(MAX_QUEUE_DELAY);
                Action::Later {
                    body: body.copy(body.attempt(), now_ms + millis(hop)),
                    delay: hop,
                }
            }
            Step::Failed(e) if e.is_poison() => Action::DeadLetter(e.to_string()),
            Step::Failed(e) => self.retry_or_spend(m, body, now_ms, e.to_string()).await,
            Step::Spent(why) => Action::DeadLetter(why),
        }
    }

    /// One more of the message's own attempts is spent (`why`): a copy due after the
    /// schedule's delay, or — the last one — the DLQ, a delivery's event marked `failed` first.
    async fn retry_or_spend(
        &self,
        m: &QueueMessage,
        body: &QueueBody,
        now_ms: i64,
        why: String,
    ) -> Action {
        let attempt = body.attempt() + 1;
        if attempt >= self.schedule.max_attempts() {
            if let QueueBody::Deliver(d) = body {
                self.mark_failed(d, &why).await;
            }
            return Action::DeadLetter(format!("{attempt} attempts failed; last: {why}"));
        }
        let delay = self.schedule.delay_after(attempt);
        tracing::warn!(message_id = %m.message_id, attempt, retry_in_s = delay.as_secs(), error = %why, "queue message failed");
        Action::Later {
            body: body.copy(attempt, now_ms + millis(delay)),
            delay,
        }
    }

    /// Carries out `action`; true when the received message may be deleted.
    async fn carry_out(&self, kind: QueueKind, m: &QueueMessage, action: Action) -> bool {
        match action {
            Action::Done => true,
            Action::Later { body, delay } => {
                let hop = delay.min(MAX_QUEUE_DELAY);
                match self
                    .queue
                    .send_later(kind, &body, hop, m.trace_header.as_deref())
                    .await
                {
                    Ok(()) => true,
                    Err(e) => {
                        // The copy could not be sent: the received message must come back.
                        tracing::warn!(message_id = %m.message_id, error = %e, "could not send the retry; the message comes back instead");
                        if let Err(e) = self.queue.retry_later(kind, &m.receipt_handle, hop).await {
                            tracing::warn!(message_id = %m.message_id, error = %e, "could not reschedule; the visibility timeout applies");
                        }
                        false
                    }
                }
            }
            Action::DeadLetter(why) => {
                crate::telemetry::count(crate::telemetry::QUEUE_DEAD_LETTERED, None);
                tracing::error!(message_id = %m.message_id, queue = ?kind, why, "message dead-lettered");
                match self.queue.dead_letter(kind, &m.body).await {
                    Ok(()) => true,
                    Err(e) => {
                        // SQS's redrive policy moves it after `maxReceiveCount` receives.
                        tracing::warn!(message_id = %m.message_id, error = %e, "could not dead-letter; left to the queue's redrive policy");
                        false
                    }
                }
            }
        }
    }
}

/// How one processing step ended.
pub(crate) enum Step {
    Done,
    /// Not attempted: wait this long, attempt unchanged.
    Wait(Duration),
    /// Attempted and failed (a retry, or poison).
    Failed(WorkerError),
    /// Attempts spent (the event already marked `failed`): to the dead-letter queue.
    Spent(String),
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

impl WorkerError {
    /// Retrying cannot help: the message names something that does not exist, or cannot be
    /// read or signed. Dead-lettered on its first attempt (a redrive tries again once fixed).
    pub fn is_poison(&self) -> bool {
        matches!(
            self,
            WorkerError::BadEnvelope(_)
                | WorkerError::UnknownSource(..)
                | WorkerError::Normalize(_)
                | WorkerError::EventNotFound(_)
                | WorkerError::NoSigningSecret
        )
    }
}
