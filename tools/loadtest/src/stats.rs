//! Latency and status tallies of one run, and the numbers the tables print.

use std::collections::BTreeMap;
use std::time::Duration;

/// Status code used for "no HTTP answer" (connection error or client timeout).
pub const NO_ANSWER: u16 = 0;

/// Every answer of a run: its latency and its status.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    latencies_us: Vec<u64>,
    /// Answers by HTTP status (`NO_ANSWER` for none).
    pub statuses: BTreeMap<u16, u64>,
    /// Wall time of the run (set by the driver).
    pub wall: Duration,
}

impl Stats {
    /// Counts one answer.
    pub fn record(&mut self, status: u16, took: Duration) {
        self.latencies_us
            .push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
        *self.statuses.entry(status).or_default() += 1;
    }

    /// Adds another tally (wall times are not added).
    pub fn merge(&mut self, other: Stats) {
        self.latencies_us.extend(other.latencies_us);
        for (s, n) in other.statuses {
            *self.statuses.entry(s).or_default() += n;
        }
    }

    /// Answers counted.
    pub fn requests(&self) -> u64 {
        self.latencies_us.len() as u64
    }

    /// Answers per second of wall time.
    pub fn throughput(&self) -> f64 {
        let s = self.wall.as_secs_f64();
        if s > 0.0 {
            self.requests() as f64 / s
        } else {
            0.0
        }
    }

    /// The `p`-th percentile latency in milliseconds (nearest rank; 100 = max).
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let mut v = self.latencies_us.clone();
        v.sort_unstable();
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1] as f64 / 1000.0
    }

    /// Answers whose status is not in `allowed`.
    pub fn outside(&self, allowed: &[u16]) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| !allowed.contains(s))
            .map(|(_, n)| n)
            .sum()
    }

    /// `201×950 409×50` (and `none×N` for no answer).
    pub fn status_cell(&self) -> String {
        self.statuses
            .iter()
            .map(|(s, n)| {
                if *s == NO_ANSWER {
                    format!("none×{n}")
                } else {
                    format!("{s}×{n}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Milliseconds with a precision that suits the value (0.42 / 4.2 / 42).
pub fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.2} ms")
    } else if v < 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_statuses_and_merge() {
        let mut a = Stats::default();
        for i in 1..=100u64 {
            a.record(201, Duration::from_millis(i));
        }
        let mut b = Stats::default();
        b.record(409, Duration::from_millis(500));
        b.record(NO_ANSWER, Duration::from_secs(60));
        a.merge(b);
        a.wall = Duration::from_secs(2);
        assert_eq!(a.requests(), 102);
        assert_eq!(a.percentile_ms(50.0), 51.0);
        assert_eq!(a.percentile_ms(100.0), 60_000.0);
        assert_eq!(a.outside(&[201, 409]), 1);
        assert_eq!(a.status_cell(), "none×1 201×100 409×1");
        assert_eq!(a.throughput(), 51.0);
        assert_eq!(ms(0.123), "0.12 ms");
        assert_eq!(ms(12.3), "12 ms");
    }
}
