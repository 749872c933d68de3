//! EFI (Pix API): the mTLS + OAuth2 client (`client`), its wire types and mappings
//! (`transformers`), and inbound webhooks (`webhook`).

pub mod client;
pub mod credentials;
pub mod transformers;
pub mod webhook;

pub use client::{EfiClient, EfiConfig};
