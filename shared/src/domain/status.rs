//! The payment state machine.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a payment stands. See [`PaymentStatus::can_move_to`] for the allowed moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Awaiting the payer (Pix or boleto issued).
    Pending,
    /// The payer must act (3DS, redirect).
    RequiresAction,
    /// The outcome is not known yet (ambiguous gateway answer); reconciliation settles it.
    Processing,
    Succeeded,
    Failed,
    Canceled,
    Expired,
    Refunded,
    PartiallyRefunded,
}

impl PaymentStatus {
    /// Every status, for exhaustive tests and docs.
    pub const ALL: [PaymentStatus; 9] = [
        PaymentStatus::Pending,
        PaymentStatus::RequiresAction,
        PaymentStatus::Processing,
        PaymentStatus::Succeeded,
        PaymentStatus::Failed,
        PaymentStatus::Canceled,
        PaymentStatus::Expired,
        PaymentStatus::Refunded,
        PaymentStatus::PartiallyRefunded,
    ];

    /// Final statuses never change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PaymentStatus::Failed
                | PaymentStatus::Canceled
                | PaymentStatus::Expired
                | PaymentStatus::Refunded
        )
    }

    /// Not paid yet, and a success may still come (a refund reported now may fit later).
    pub fn may_still_succeed(self) -> bool {
        self.can_move_to(PaymentStatus::Succeeded)
    }

    /// The transition table. A late or duplicated event asking for a move not listed here is
    /// ignored by the caller, which is what keeps a payment from ever going backwards.
    pub fn can_move_to(self, to: PaymentStatus) -> bool {
        use PaymentStatus::*;
        match self {
            Processing => matches!(
                to,
                Pending | RequiresAction | Succeeded | Failed | Canceled | Expired
            ),
            Pending => matches!(to, Processing | Succeeded | Failed | Canceled | Expired),
            RequiresAction => matches!(to, Processing | Succeeded | Failed | Canceled),
            Succeeded => matches!(to, PartiallyRefunded | Refunded),
            PartiallyRefunded => matches!(to, PartiallyRefunded | Refunded),
            Failed | Canceled | Expired | Refunded => false,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::RequiresAction => "requires_action",
            PaymentStatus::Processing => "processing",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
        }
    }
}

impl FromStr for PaymentStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        PaymentStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or(())
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentStatus::*;
    use super::*;

    #[test]
    fn final_states_never_move() {
        for from in PaymentStatus::ALL.into_iter().filter(|s| s.is_final()) {
            for to in PaymentStatus::ALL {
                assert!(!from.can_move_to(to), "{from} -> {to} must be refused");
            }
        }
    }

    #[test]
    fn succeeded_only_moves_to_refund_states() {
        for to in PaymentStatus::ALL {
            let allowed = matches!(to, Refunded | PartiallyRefunded);
            assert_eq!(Succeeded.can_move_to(to), allowed, "succeeded -> {to}");
        }
    }

    #[test]
    fn late_pending_after_success_is_refused() {
        assert!(!Succeeded.can_move_to(Pending));
        assert!(!Succeeded.can_move_to(Processing));
        assert!(Pending.can_move_to(Succeeded));
        assert!(Processing.can_move_to(Pending));
    }

    #[test]
    fn wire_names_round_trip() {
        for s in PaymentStatus::ALL {
            assert_eq!(s.as_str().parse::<PaymentStatus>(), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("paid".parse::<PaymentStatus>().is_err());
    }
}
