//! The callback retry schedule (DESIGN §4), applied per SQS message with
//! `ChangeMessageVisibility`; after the last attempt SQS moves the message to the DLQ.

use rand::Rng;
use std::time::Duration;

/// Delays after each failed attempt, with ±`jitter` (a fraction).
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    pub delays: Vec<Duration>,
    pub jitter: f64,
}

impl Default for RetrySchedule {
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, ±20 %: eight attempts over about 27.6 h, each
    /// delay within SQS's 12 h visibility limit even with jitter.
    fn default() -> Self {
        let s = Duration::from_secs;
        Self {
            delays: vec![s(5), s(300), s(1800), s(7200), s(18000), s(36000), s(36000)],
            jitter: 0.2,
        }
    }
}

impl RetrySchedule {
    /// No waiting at all (tests control time by receiving again).
    pub fn immediate(attempts: usize) -> Self {
        Self {
            delays: vec![Duration::ZERO; attempts.saturating_sub(1)],
            jitter: 0.0,
        }
    }

    /// Total attempts; the queue's `maxReceiveCount` must equal it.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len() + 1).unwrap_or(u32::MAX)
    }

    /// How long to hide a message whose `attempt`-th delivery (1-based) just failed. After the
    /// last attempt: zero, so the next receive dead-letters it at once.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let Some(base) = self.delays.get(attempt.saturating_sub(1) as usize) else {
            return Duration::ZERO;
        };
        if self.jitter <= 0.0 {
            return *base;
        }
        let f = rand::rng().random_range((1.0 - self.jitter)..=(1.0 + self.jitter));
        base.mul_f64(f).min(Duration::from_secs(12 * 3600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_matches_the_design_with_bounded_jitter() {
        let s = RetrySchedule::default();
        assert_eq!(s.max_attempts(), 8);
        for (attempt, base) in [
            (1u32, 5u64),
            (2, 300),
            (3, 1800),
            (4, 7200),
            (5, 18000),
            (6, 36000),
            (7, 36000),
        ] {
            for _ in 0..50 {
                let d = s.delay_after(attempt).as_secs_f64();
                assert!(
                    d >= base as f64 * 0.8 - 1e-9 && d <= (base as f64 * 1.2).min(43200.0),
                    "attempt {attempt}: {d}"
                );
            }
        }
        assert_eq!(s.delay_after(8), Duration::ZERO);
    }
}
