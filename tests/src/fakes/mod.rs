//! Fake gateway servers that speak the documented wire formats, started inside tests.

pub mod asaas;
pub mod efi;
pub mod stripe;
