//! The webhook pipeline's use cases: receiver (verify + enqueue) and worker (normalize, dedupe,
//! apply, deliver).

mod delivery;
mod dispatch;
mod receiver;
mod relay;
mod relay_audit;
mod retry;
mod tenant_cache;
mod worker;

pub(crate) use worker::late_payment_alarm;

pub use delivery::DEFAULT_TENANT_SHARE;
pub use dispatch::{CRASH_RECEIVES, MAX_RECEIVE_COUNT};
pub use receiver::{RequestOrigin, WebhookReceiver};
pub use relay::{parse_stream_event, relay_memory_feed, Relay, RelayItem, StreamBatch};
pub use relay_audit::{
    AuditWindow, RelayAudit, RelayAuditReport, RELAY_AUDIT_LAG, RELAY_AUDIT_SPAN,
};
pub use retry::RetrySchedule;
pub use tenant_cache::TenantCache;
pub use worker::{
    QueueMessage, WebhookWorker, WorkerError, WorkerStores, DEFAULT_UNMATCHED_GRACE,
    EVENT_RETENTION_DAYS, PAID_ORPHAN,
};
