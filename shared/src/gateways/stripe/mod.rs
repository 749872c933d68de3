//! Stripe: the PaymentIntents client (`client`), its wire types and mappings
//! (`transformers`), and inbound webhooks (`webhook`).

pub mod client;
pub mod credentials;
pub mod transformers;
pub mod webhook;

pub use client::{StripeClient, StripeConfig, STRIPE_VERSION};
