//! Ports: the traits the service depends on. Each has an in-memory and a DynamoDB adapter (or,
//! for gateways, simulators and real clients).

mod breaker;
mod commit;
mod credentials;
mod gateway;
mod idempotency;
mod outbox;
mod payments;
mod store_error;
mod tenants;
mod webhooks;

pub use breaker::{BreakerKey, BreakerStore};
pub use commit::{CreateCommit, KeyCompletion};
pub use credentials::CredentialStore;
pub use gateway::{
    ChargeLookup, ChargeRequest, ErrorClass, Gateway, GatewayCharge, GatewayError, GatewayRefund,
    GatewayRegistry, RefundRequest,
};
pub use idempotency::{ClaimOutcome, ClaimRequest, IdempotencyStore, Lease, StoredResponse};
pub use outbox::{DeliveryMessage, EventFilter, EventPage, OutboxStore};
pub use payments::{PaymentFilter, PaymentPage, PaymentStore};
pub use store_error::StoreError;
pub use tenants::{
    hash_api_key, is_blank_secret, BlankSecretError, Tenant, TenantStore, WebhookSecrets,
};
pub use webhooks::{
    Callback, CallbackSender, DeliveryOutcome, DeliveryReport, EventStore, UnmatchedWebhook,
    WebhookEnvelope, WebhookQueue,
};
