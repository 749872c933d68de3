//! The create path's durable steps (DESIGN §7): which gateways a payment's create has reached and
//! what each provably did, kept in the idempotency record so a takeover after a crash resumes
//! from them instead of re-running routing from scratch.
//!
//! Per gateway, the state machine is:
//!
//! | from | to | when | durable write |
//! |---|---|---|---|
//! | (absent) | `intent` | before the first call to the gateway | the claim (first gateway) or a step write (failover) |
//! | `intent` | `nothing` | the call provably created nothing (breaker open, unavailable, misconfigured) | with the next gateway's `intent`, one conditional write |
//! | `intent` | `canceled` | Pix/boleto: the ambiguous attempt's orphan was found and canceled | with the next gateway's `intent` |
//! | `nothing` | `intent` | routing reaches the gateway again (a takeover) | step write |
//! | `intent` | (stays) | a charge, a decline or an unknown outcome: the payment is committed naming it | the commit |
//!
//! The one invariant the money rests on: **at most one gateway is `intent` at a time**, and a
//! gateway may only be called while it is the `intent`. So every gateway that might hold a charge
//! is named durably before it is called, and no second gateway is called until the first is
//! durably shown to hold nothing payable.

use super::GatewayAccount;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What one gateway provably did for this payment's create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Called, or about to be: it may hold a charge.
    Intent,
    /// Provably created nothing.
    Nothing,
    /// Held an orphan (Pix/boleto) that was canceled: nothing payable there.
    Canceled,
}

impl StepState {
    /// The transition table above.
    pub fn can_move_to(self, to: StepState) -> bool {
        use StepState::*;
        matches!(
            (self, to),
            (Intent, Nothing) | (Intent, Canceled) | (Nothing, Intent)
        )
    }
}

/// One gateway's step. `at` is when the intent was recorded: how old a possible charge is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayStep {
    pub gateway: String,
    pub state: StepState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(with = "crate::time_format")]
    pub at: DateTime<Utc>,
    /// The account the gateway is (about to be) called at, recorded with the intent, so a
    /// takeover asks exactly that account (never another: a charge made under other credentials
    /// is invisible there, and a re-sent create would charge again). `None` in records written
    /// before accounts were pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<GatewayAccount>,
}

/// A move the table forbids; reaching one is a bug, and the create stops before calling anyone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error(
        "gateway `{blocking}` may hold a charge; `{wanted}` cannot be called before it is settled"
    )]
    AnotherIntent { blocking: String, wanted: String },
    #[error("gateway `{gateway}` cannot move from {from:?} to {to:?}")]
    Forbidden {
        gateway: String,
        from: StepState,
        to: StepState,
    },
    #[error("gateway `{0}` has no step")]
    Unknown(String),
}

/// Every gateway step of one create, in the order they were first reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CreateSteps(Vec<GatewayStep>);

impl CreateSteps {
    /// The steps of a claim that names its first gateway before calling it.
    pub fn first_intent(gateway: &str, at: DateTime<Utc>) -> Self {
        Self::first_intent_at(gateway, at, None)
    }

    /// [`Self::first_intent`] naming the account the gateway will be called at.
    pub fn first_intent_at(
        gateway: &str,
        at: DateTime<Utc>,
        account: Option<GatewayAccount>,
    ) -> Self {
        Self(vec![GatewayStep {
            gateway: gateway.to_string(),
            state: StepState::Intent,
            code: None,
            at,
            account,
        }])
    }

    /// Every step, in order.
    pub fn steps(&self) -> &[GatewayStep] {
        &self.0
    }

    /// The gateway that may hold a charge, if any (at most one, by construction).
    pub fn intent(&self) -> Option<&GatewayStep> {
        self.0.iter().find(|s| s.state == StepState::Intent)
    }

    /// The state of `gateway`, if it was reached.
    pub fn state_of(&self, gateway: &str) -> Option<StepState> {
        self.0
            .iter()
            .find(|s| s.gateway == gateway)
            .map(|s| s.state)
    }

    /// True when no gateway may hold a live charge under this payment id.
    pub fn nothing_live(&self) -> bool {
        self.intent().is_none()
    }

    /// Names `gateway` as the one about to be called. Refused while another gateway may hold a
    /// charge; a no-op if it already is the intent.
    pub fn begin(&mut self, gateway: &str, at: DateTime<Utc>) -> Result<(), StepError> {
        self.begin_at(gateway, at, None)
    }

    /// [`Self::begin`] naming the account the gateway will be called at.
    pub fn begin_at(
        &mut self,
        gateway: &str,
        at: DateTime<Utc>,
        account: Option<GatewayAccount>,
    ) -> Result<(), StepError> {
        if let Some(other) = self.intent() {
            if other.gateway == gateway {
                return Ok(());
            }
            return Err(StepError::AnotherIntent {
                blocking: other.gateway.clone(),
                wanted: gateway.to_string(),
            });
        }
        match self.0.iter_mut().find(|s| s.gateway == gateway) {
            Some(s) => {
                if !s.state.can_move_to(StepState::Intent) {
                    return Err(StepError::Forbidden {
                        gateway: gateway.to_string(),
                        from: s.state,
                        to: StepState::Intent,
                    });
                }
                s.state = StepState::Intent;
                s.code = None;
                s.at = at;
                s.account = account;
            }
            None => self.0.push(GatewayStep {
                gateway: gateway.to_string(),
                state: StepState::Intent,
                code: None,
                at,
                account,
            }),
        }
        Ok(())
    }

    /// Settles the intent `gateway` as `nothing` or `canceled`, with the attempt's code.
    pub fn settle(
        &mut self,
        gateway: &str,
        to: StepState,
        code: Option<String>,
    ) -> Result<(), StepError> {
        let s = self
            .0
            .iter_mut()
            .find(|s| s.gateway == gateway)
            .ok_or_else(|| StepError::Unknown(gateway.to_string()))?;
        if !s.state.can_move_to(to) {
            return Err(StepError::Forbidden {
                gateway: gateway.to_string(),
                from: s.state,
                to,
            });
        }
        s.state = to;
        s.code = code;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    #[test]
    fn the_transition_table_is_exactly_the_documented_one() {
        use StepState::*;
        let all = [Intent, Nothing, Canceled];
        let allowed: Vec<_> = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_move_to(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![(Intent, Nothing), (Intent, Canceled), (Nothing, Intent)]
        );
    }

    #[test]
    fn a_second_gateway_waits_until_the_first_is_settled() {
        let mut s = CreateSteps::first_intent("efi", t());
        assert_eq!(
            s.begin("asaas", t()),
            Err(StepError::AnotherIntent {
                blocking: "efi".into(),
                wanted: "asaas".into()
            })
        );
        assert!(!s.nothing_live());
        s.settle("efi", StepState::Nothing, Some("http_503".into()))
            .unwrap();
        assert!(s.nothing_live());
        s.begin("asaas", t()).unwrap();
        assert_eq!(s.intent().map(|i| i.gateway.as_str()), Some("asaas"));
        assert_eq!(s.begin("asaas", t()), Ok(()), "already the intent");
    }

    #[test]
    fn a_canceled_orphan_is_never_called_again_but_nothing_may_be() {
        let mut s = CreateSteps::first_intent("efi", t());
        s.settle("efi", StepState::Canceled, None).unwrap();
        assert!(matches!(
            s.begin("efi", t()),
            Err(StepError::Forbidden { .. })
        ));
        s.begin("asaas", t()).unwrap();
        s.settle("asaas", StepState::Nothing, None).unwrap();
        s.begin("asaas", t()).unwrap();
        assert_eq!(s.state_of("asaas"), Some(StepState::Intent));
        assert_eq!(s.state_of("efi"), Some(StepState::Canceled));
    }

    #[test]
    fn settling_needs_an_intent() {
        let mut s = CreateSteps::first_intent("efi", t());
        s.settle("efi", StepState::Nothing, None).unwrap();
        assert!(s.settle("efi", StepState::Canceled, None).is_err());
        assert!(matches!(
            s.settle("stripe", StepState::Nothing, None),
            Err(StepError::Unknown(_))
        ));
    }

    #[test]
    fn steps_round_trip_as_json() {
        let mut s = CreateSteps::first_intent("efi", t());
        s.settle("efi", StepState::Nothing, Some("breaker_open".into()))
            .unwrap();
        s.begin("asaas", t()).unwrap();
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<CreateSteps>(&text).unwrap(), s);
    }
}
