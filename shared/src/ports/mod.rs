//! Ports: the traits the service depends on. Each has an in-memory and a DynamoDB adapter (or,
//! for gateways, simulators and real clients).

mod audit;
mod breaker;
mod commit;
mod credentials;
mod endpoint_health;
mod gateway;
mod idempotency;
mod outbox;
mod payments;
mod reconciliation;
mod store_error;
mod tenants;
mod usage;
mod webhooks;

pub use audit::{AuditEntry, AuditStore, MAX_AUDIT_ENTRIES};
pub use breaker::{BreakerKey, BreakerStore};
pub use commit::{CreateCommit, KeyCompletion};
pub use credentials::{
    account_fingerprint, content_tag, CipherError, CredentialCipher, CredentialStore, DataKey,
    EncryptionContext, Envelope, SealedCredential, SealedCredentialStore,
};
pub use endpoint_health::{EndpointHealthStore, EndpointKey};
pub use gateway::{
    ChargeConfirmer, ChargeListing, ChargeLookup, ChargeRequest, ChargeWindow, ErrorClass, Gateway,
    GatewayCharge, GatewayError, GatewayRefund, GatewayRegistry, ListedCharge, RefundRequest,
    LISTING_UNSUPPORTED, MAX_LISTED_CHARGES,
};
pub use idempotency::{
    Adopted, ClaimOutcome, ClaimRequest, IdempotencyStore, Lease, RateCharge, StaleClaim,
    StoredResponse,
};
pub use outbox::{DeliveryMessage, EventFilter, EventPage, OutboxStore};
pub use payments::{Effects, PaymentFilter, PaymentPage, PaymentStore};
pub use reconciliation::{
    Finding, FindingKind, ReconciliationRun, ReconciliationStore, RunStatus, RunTrigger,
    MAX_LISTED_RUNS, MAX_RUN_FINDINGS,
};
pub use store_error::StoreError;
pub use tenants::{
    hash_api_key, is_blank_secret, refuse_twin, secret_fingerprint, ApiKeyInfo, Tenant,
    TenantStore, WeakSecret, WeakSecretError, WebhookSecrets, MIN_SHARED_SECRET_CHARS,
};
pub use usage::UsageStore;
pub use webhooks::{
    fresh_copy, Callback, CallbackSender, DeliveryOutcome, DeliveryReport, EventStore, QueueKind,
    UnmatchedWebhook, WebhookEnvelope, WebhookQueue, MAX_QUEUE_DELAY,
};

/// Splits a listing read with one item beyond `limit` (which says whether more exist) into the
/// page and its cursor: the last id kept, or `None` on the last page.
pub(crate) fn split_page<T, C>(
    mut items: Vec<T>,
    limit: usize,
    cursor: impl Fn(&T) -> C,
) -> (Vec<T>, Option<C>) {
    if items.len() > limit {
        items.truncate(limit);
        let next = items.last().map(cursor);
        (items, next)
    } else {
        (items, None)
    }
}
