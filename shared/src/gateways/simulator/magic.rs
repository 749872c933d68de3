//! The simulators' magic values: the last two digits of the amount (in minor units) pick the
//! outcome, so every API path can be shown locally without a network. Documented in the README.

use crate::ports::ErrorClass;
use std::time::Duration;

/// What a simulator does for a given amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Pix/boleto issued (`pending`); card `succeeded`.
    Approve,
    /// Fails with this class after creating nothing (or, for `Ambiguous`, after creating the
    /// charge, as a real timeout after send would).
    Fail(ErrorClass),
    /// Card needs 3DS (`requires_action`); Pix/boleto as `Approve`.
    RequiresAction,
    /// Approves after a delay, to show latency.
    Slow(Duration),
}

/// Cents ending in 51: declined (`insufficient_funds`).
pub const DECLINE: i64 = 51;
/// Cents ending in 52: the gateway rejects the request (`invalid`).
pub const INVALID: i64 = 52;
/// Cents ending in 53: HTTP 503, nothing created (`unavailable`).
pub const UNAVAILABLE: i64 = 53;
/// Cents ending in 54: timeout after send; the charge exists (`ambiguous`).
pub const TIMEOUT: i64 = 54;
/// Cents ending in 55: succeeds after 2 seconds.
pub const SLOW: i64 = 55;
/// Cents ending in 56: credentials refused (`misconfigured`).
pub const MISCONFIGURED: i64 = 56;
/// Cents ending in 57: card requires 3DS.
pub const REQUIRES_ACTION: i64 = 57;

/// Refund amounts ending in 58: the refund is accepted as pending; the gateway's webhook
/// settles it later (succeeded or failed).
pub const PENDING_REFUND: i64 = 58;

/// The behaviour for an amount in minor units.
pub fn behaviour_for(amount_minor: i64) -> Behaviour {
    match amount_minor % 100 {
        DECLINE => Behaviour::Fail(ErrorClass::Declined),
        INVALID => Behaviour::Fail(ErrorClass::Invalid),
        UNAVAILABLE => Behaviour::Fail(ErrorClass::Unavailable),
        TIMEOUT => Behaviour::Fail(ErrorClass::Ambiguous),
        SLOW => Behaviour::Slow(Duration::from_secs(2)),
        MISCONFIGURED => Behaviour::Fail(ErrorClass::Misconfigured),
        REQUIRES_ACTION => Behaviour::RequiresAction,
        _ => Behaviour::Approve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_two_digits_select_the_behaviour() {
        assert_eq!(behaviour_for(1990), Behaviour::Approve);
        assert_eq!(behaviour_for(1051), Behaviour::Fail(ErrorClass::Declined));
        assert_eq!(behaviour_for(53), Behaviour::Fail(ErrorClass::Unavailable));
        assert_eq!(behaviour_for(10054), Behaviour::Fail(ErrorClass::Ambiguous));
        assert_eq!(behaviour_for(157), Behaviour::RequiresAction);
        assert!(matches!(behaviour_for(255), Behaviour::Slow(_)));
    }
}
