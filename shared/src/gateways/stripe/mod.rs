//! Stripe. The HTTP client lands with the real-gateway-clients work; webhooks live here now.

pub mod webhook;
