//! In-memory adapters: the dev server's defaults, held to the same contract as DynamoDB's.

mod audit;
mod breaker;
mod commit;
mod credentials;
mod endpoint_health;
mod events;
mod idempotency;
mod local_cipher;
mod outbox;
mod payments;
mod queue;
mod reconciliation;
mod sealed_credentials;
mod tenants;

pub use audit::MemoryAuditStore;
pub use breaker::MemoryBreakerStore;
pub use commit::MemoryCreateCommit;
pub use credentials::FileCredentials;
pub use endpoint_health::MemoryEndpointHealth;
pub use events::MemoryEventStore;
pub(crate) use idempotency::new_lease_token;
pub use idempotency::MemoryIdempotencyStore;
pub use local_cipher::{BadLocalKey, LocalKeyCipher};
pub use outbox::MemoryOutbox;
pub(crate) use outbox::{callback_count, event_matches};
pub(crate) use payments::matches as payment_matches;
pub use payments::MemoryPaymentStore;
pub use queue::{MemoryQueue, MemoryQueues, ReceivedMessage, SQS_INFLIGHT_CAP};
pub use reconciliation::MemoryReconciliationStore;
pub use sealed_credentials::MemorySealedCredentials;
pub use tenants::MemoryTenantStore;
