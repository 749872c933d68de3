//! Outbound HTTP adapters.

mod callback_sender;

pub use callback_sender::{is_public_ip, HttpCallbackSender};
