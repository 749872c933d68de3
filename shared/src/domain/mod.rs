//! The domain: pure types and rules, no I/O. Constructors reject invalid values, so code past
//! the API edge never re-checks them.

mod account;
mod breaker;
mod callback_url;
mod create_steps;
mod document;
mod endpoint_health;
mod idempotency_key;
mod ids;
mod merchant_event;
mod method;
mod money;
mod payment;
mod secret;
mod status;
mod usage;

pub use account::{AccountMode, GatewayAccount, LatePayment, LateSource};
pub use breaker::{
    BreakerConfig, BreakerConfigError, BreakerRecord, BreakerState, Phase, Transition, WindowSlot,
    MAX_PROBES, WINDOW_SLOTS,
};
pub use callback_url::{CallbackUrl, CallbackUrlError};
pub use create_steps::{CreateSteps, GatewayStep, StepError, StepState};
pub use document::{Document, DocumentError};
pub use endpoint_health::{EndpointHealth, EndpointPolicy, EndpointState, Gate};
pub use idempotency_key::{IdempotencyKey, IdempotencyKeyError, MAX_KEY_LEN};
pub use ids::{BadPaymentId, BadTenantId, PaymentId, TenantId, TEST_SUFFIX};
pub use merchant_event::{
    DeliveryAttempt, DeliveryState, EventType, MerchantEvent, StoredEvent, EVENT_TYPES,
    MAX_LOGGED_ATTEMPTS, RESPONSE_EXCERPT_CHARS,
};
pub use method::PaymentMethod;
pub use money::{
    format_decimal, parse_decimal, ChargeAmountError, Currency, Money, MoneyError, MAX_MINOR_UNITS,
};
pub use payment::{
    refund_can_move, Attempt, AttemptOutcome, BoletoDetails, Customer, Failure, NextAction,
    Payment, PixDetails, Refund, RefundStatus, MAX_APPLIED_EVENTS,
};
pub use secret::{mask, SecretJson, SecretString, FULLY_MASKED_UP_TO};
pub use status::PaymentStatus;
pub use usage::{
    contribution, minted_at, names as usage_names, ulid_time, Counters, UsageBucket, UsageDelta,
    USAGE_SHARDS,
};
