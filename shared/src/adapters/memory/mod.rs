//! In-memory adapters: the dev server's defaults, held to the same contract as DynamoDB's.

mod idempotency;
mod payments;
mod tenants;

pub(crate) use idempotency::new_lease_token;
pub use idempotency::MemoryIdempotencyStore;
pub(crate) use payments::matches as payment_matches;
pub use payments::MemoryPaymentStore;
pub use tenants::MemoryTenantStore;
