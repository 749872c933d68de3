//! Asaas: the payments client (`client`), its wire types and mappings (`transformers`), and
//! inbound webhooks (`webhook`).

pub mod client;
pub mod credentials;
pub mod transformers;
pub mod webhook;

pub use client::{AsaasClient, AsaasConfig};
