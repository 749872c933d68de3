//! How the payer pays.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The payment methods of the public API. Pix and boleto create a payable document and move no
/// money by themselves; a card charge moves money at once, which is why failover treats them
/// differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Pix,
    Card,
    Boleto,
}

impl PaymentMethod {
    /// All methods, for iteration in routing and docs.
    pub const ALL: [PaymentMethod; 3] = [
        PaymentMethod::Pix,
        PaymentMethod::Card,
        PaymentMethod::Boleto,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Pix => "pix",
            PaymentMethod::Card => "card",
            PaymentMethod::Boleto => "boleto",
        }
    }
}

impl FromStr for PaymentMethod {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "pix" => Ok(PaymentMethod::Pix),
            "card" => Ok(PaymentMethod::Card),
            "boleto" => Ok(PaymentMethod::Boleto),
            _ => Err(()),
        }
    }
}

impl fmt::Display for PaymentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
