//! Gateway credentials registered by API: the encrypted store ([`CredentialVault`]), the
//! layering over the existing sources ([`LayeredCredentials`]), and the endpoints
//! (`PUT|GET|DELETE /v1/gateways/{gateway}/credentials`, `POST …/verify`).

mod api;
mod vault;

pub use vault::{CredentialVault, LayeredCredentials};
