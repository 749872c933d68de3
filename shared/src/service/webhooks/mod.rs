//! The webhook pipeline's use cases: receiver (verify + enqueue) and worker (normalize, dedupe,
//! apply, deliver).

mod receiver;
mod retry;
mod tenant_cache;
mod worker;

pub use receiver::WebhookReceiver;
pub use retry::RetrySchedule;
pub use tenant_cache::TenantCache;
pub use worker::{
    callback_event_id, QueueMessage, WebhookWorker, WorkerError, EVENT_RETENTION_DAYS,
};
