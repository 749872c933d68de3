//! Gateway calls bounded by the invocation's remaining time (DESIGN §7): every call must end
//! `reserve` before the deadline, so the outcome is always recorded (and the breaker told of a
//! timeout) before the Lambda could be killed. A call cut short is `ambiguous`: the request may
//! have reached the gateway.

use crate::ports::{ErrorClass, GatewayError};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Attempt code of a call stopped by the invocation's deadline.
pub const DEADLINE_EXCEEDED: &str = "deadline_exceeded";
/// Attempt code of a gateway not called because too little time was left.
pub const NO_TIME_LEFT: &str = "no_time_left";

/// Below this much time a gateway is not called at all (it provably creates nothing then).
const MIN_CALL: Duration = Duration::from_millis(250);

/// The time gateway calls may use in one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallBudget {
    until: Instant,
}

impl CallBudget {
    /// Calls must end by `deadline - reserve`, measured against `now` on the service clock and
    /// run on the monotonic clock.
    pub(crate) fn new(deadline: DateTime<Utc>, now: DateTime<Utc>, reserve: Duration) -> Self {
        let left = (deadline - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .saturating_sub(reserve);
        Self {
            until: Instant::now() + left,
        }
    }

    /// Time left for calls.
    pub(crate) fn left(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
    }

    /// Too little time to start a call: not calling provably creates nothing.
    pub(crate) fn exhausted(&self) -> bool {
        self.left() < MIN_CALL
    }

    /// The error of a call that was not started for lack of time (`unavailable`).
    pub(crate) fn no_time_left() -> GatewayError {
        GatewayError {
            class: ErrorClass::Unavailable,
            code: NO_TIME_LEFT.into(),
            message: "too little of the request's time was left to call the gateway".into(),
        }
    }

    /// Runs a gateway call; past the budget it is dropped and reported `ambiguous`. Every call
    /// is measured: `GatewayLatency` and one `gateway_call` log line (gateway, operation,
    /// outcome class, duration) — the span of the call in the JSON logs.
    pub(crate) async fn run<T, F>(
        &self,
        gateway: &str,
        op: &'static str,
        call: F,
    ) -> Result<T, GatewayError>
    where
        F: Future<Output = Result<T, GatewayError>>,
    {
        let started = std::time::Instant::now();
        let result = match tokio::time::timeout_at(self.until, call).await {
            Ok(r) => r,
            Err(_) => Err(GatewayError {
                class: ErrorClass::Ambiguous,
                code: DEADLINE_EXCEEDED.into(),
                message: "the gateway did not answer before the request's deadline".into(),
            }),
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        crate::telemetry::gateway_call(gateway, op, result.as_ref().err().map(|e| e.class), ms);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_past_the_budget_is_ambiguous_and_a_spent_budget_calls_nobody() {
        let now = Utc::now();
        let b = CallBudget::new(
            now + chrono::Duration::milliseconds(400),
            now,
            Duration::from_millis(100),
        );
        assert!(!b.exhausted());
        let slow = b
            .run("test", "create", async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok::<_, GatewayError>(())
            })
            .await;
        assert_eq!(
            slow.map_err(|e| (e.class, e.code)),
            Err((ErrorClass::Ambiguous, DEADLINE_EXCEEDED.to_string()))
        );
        assert!(b.exhausted());
        let past = CallBudget::new(now, now + chrono::Duration::seconds(1), Duration::ZERO);
        assert!(past.exhausted());
        assert_eq!(past.left(), Duration::ZERO);
    }
}
