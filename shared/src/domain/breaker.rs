//! Circuit-breaker arithmetic (DESIGN §4), pure so every adapter and instance agrees on it.
//!
//! The shared record of one (tenant, gateway) breaker holds a phase (closed or open), a
//! generation that every transition bumps (conditional writes compare it, so exactly one
//! instance wins a transition), the cool-down end, how many times in a row it opened, a ring of
//! time buckets that form the sliding failure window, and the half-open probe leases.
//! Half-open is not stored: it is an open record whose cool-down has passed.

use serde::Serialize;
use std::time::Duration;

/// Buckets in the sliding window: the window moves in steps of `window / WINDOW_SLOTS`.
pub const WINDOW_SLOTS: usize = 10;

/// Upper bound on concurrent half-open probes (each is one lease slot in the record).
pub const MAX_PROBES: usize = 10;

/// Breaker knobs. Defaults are DESIGN §4's: open at 50 % failures over 60 s once 10 calls were
/// seen, stay open 30 s (doubling on each failed probe, at most 10 min), one probe at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Failure rate (0–1] at or above which the breaker opens.
    pub failure_rate: f64,
    /// Calls the window must hold before the rate can open the breaker.
    pub minimum_calls: u64,
    /// Length of the sliding window.
    pub window: Duration,
    /// First cool-down; doubles on each consecutive open.
    pub cool_down: Duration,
    /// Ceiling of the growing cool-down.
    pub max_cool_down: Duration,
    /// Probes allowed at once in half-open.
    pub half_open_probes: usize,
    /// How long a probe holds its slot; a crashed prober's slot frees itself after this.
    pub probe_lease: Duration,
    /// How long an instance trusts its cached copy of a record.
    pub cache_ttl: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_rate: 0.5,
            minimum_calls: 10,
            window: Duration::from_secs(60),
            cool_down: Duration::from_secs(30),
            max_cool_down: Duration::from_secs(600),
            half_open_probes: 1,
            probe_lease: Duration::from_secs(30),
            cache_ttl: Duration::from_secs(1),
        }
    }
}

/// Why a breaker configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid breaker setting {setting}: {reason}")]
pub struct BreakerConfigError {
    pub setting: &'static str,
    pub reason: String,
}

impl BreakerConfig {
    /// Checks the knobs make sense together; a bad deployment fails at start, not mid-payment.
    pub fn validated(self) -> Result<Self, BreakerConfigError> {
        let bad = |setting, reason: &str| {
            Err(BreakerConfigError {
                setting,
                reason: reason.into(),
            })
        };
        if !(self.failure_rate > 0.0 && self.failure_rate <= 1.0) {
            return bad("failure_rate", "must be in (0, 1]");
        }
        if self.minimum_calls == 0 {
            return bad("minimum_calls", "must be at least 1");
        }
        if self.window.as_millis() < WINDOW_SLOTS as u128 {
            return bad("window", "must be at least 10 ms");
        }
        if self.cool_down.is_zero() || self.max_cool_down < self.cool_down {
            return bad("cool_down", "must be positive and at most max_cool_down");
        }
        if self.half_open_probes == 0 || self.half_open_probes > MAX_PROBES {
            return bad("half_open_probes", "must be between 1 and 10");
        }
        if self.probe_lease.is_zero() {
            return bad("probe_lease", "must be positive");
        }
        Ok(self)
    }

    /// Reads `BREAKER_FAILURE_RATE`, `BREAKER_MINIMUM_CALLS`, `BREAKER_WINDOW_SECONDS`,
    /// `BREAKER_COOL_DOWN_SECONDS`, `BREAKER_MAX_COOL_DOWN_SECONDS`, `BREAKER_HALF_OPEN_PROBES`
    /// and `BREAKER_PROBE_LEASE_SECONDS` from `lookup`, defaults for the unset ones.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, BreakerConfigError> {
        fn num<T: std::str::FromStr>(
            lookup: &impl Fn(&str) -> Option<String>,
            var: &'static str,
            default: T,
        ) -> Result<T, BreakerConfigError> {
            match lookup(var) {
                None => Ok(default),
                Some(v) => v.trim().parse().map_err(|_| BreakerConfigError {
                    setting: var,
                    reason: "not a number".into(),
                }),
            }
        }
        let d = Self::default();
        let secs = |var, default: Duration| -> Result<Duration, BreakerConfigError> {
            num(&lookup, var, default.as_secs()).map(Duration::from_secs)
        };
        Self {
            failure_rate: num(&lookup, "BREAKER_FAILURE_RATE", d.failure_rate)?,
            minimum_calls: num(&lookup, "BREAKER_MINIMUM_CALLS", d.minimum_calls)?,
            window: secs("BREAKER_WINDOW_SECONDS", d.window)?,
            cool_down: secs("BREAKER_COOL_DOWN_SECONDS", d.cool_down)?,
            max_cool_down: secs("BREAKER_MAX_COOL_DOWN_SECONDS", d.max_cool_down)?,
            half_open_probes: num(&lookup, "BREAKER_HALF_OPEN_PROBES", d.half_open_probes)?,
            probe_lease: secs("BREAKER_PROBE_LEASE_SECONDS", d.probe_lease)?,
            cache_ttl: d.cache_ttl,
        }
        .validated()
    }

    /// Width of one window bucket in ms.
    pub fn bucket_ms(&self) -> i64 {
        let w = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX);
        (w / WINDOW_SLOTS as i64).max(1)
    }

    /// The ring slot and bucket start (epoch ms) that `now_ms` falls in.
    pub fn bucket_of(&self, now_ms: i64) -> (usize, i64) {
        let width = self.bucket_ms();
        let index = now_ms.div_euclid(width);
        let slot = usize::try_from(index.rem_euclid(WINDOW_SLOTS as i64)).unwrap_or(0);
        (slot, index * width)
    }

    /// Start (epoch ms) of the oldest bucket still in the window ending at `now_ms`.
    pub fn window_start(&self, now_ms: i64) -> i64 {
        let (_, current) = self.bucket_of(now_ms);
        current - self.bucket_ms() * (WINDOW_SLOTS as i64 - 1)
    }

    /// The cool-down after the `opens`-th consecutive open: doubling, capped.
    pub fn cool_down_ms(&self, opens: u32) -> i64 {
        let base = i64::try_from(self.cool_down.as_millis()).unwrap_or(i64::MAX);
        let cap = i64::try_from(self.max_cool_down.as_millis()).unwrap_or(i64::MAX);
        let factor = 1i64 << opens.saturating_sub(1).min(30);
        base.saturating_mul(factor).min(cap)
    }

    /// Probe lease in ms.
    pub fn probe_lease_ms(&self) -> i64 {
        i64::try_from(self.probe_lease.as_millis()).unwrap_or(i64::MAX)
    }
}

/// The stored phase; half-open is derived from time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    #[default]
    Closed,
    Open,
}

/// What a caller sees at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// One bucket of the sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowSlot {
    /// Start of the bucket (epoch ms); 0 when never used.
    pub bucket_ms: i64,
    pub calls: u64,
    pub failures: u64,
}

/// The shared state of one breaker. A record never written is the default: closed, generation 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BreakerRecord {
    pub generation: u64,
    pub phase: Phase,
    /// End of the cool-down (epoch ms), when open.
    pub open_until_ms: i64,
    /// Opens in a row without a successful probe; drives the cool-down growth.
    pub opens: u32,
    pub slots: [WindowSlot; WINDOW_SLOTS],
    /// Lease end (epoch ms) of each probe slot; 0 or past means free.
    pub probes: [i64; MAX_PROBES],
}

/// The phase a transition writes; it also frees the probe slots (and, closing, the window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub phase: Phase,
    pub open_until_ms: i64,
    pub opens: u32,
}

impl Transition {
    /// Back to closed with a clean window.
    pub fn close() -> Self {
        Self {
            phase: Phase::Closed,
            open_until_ms: 0,
            opens: 0,
        }
    }

    /// Open (again) after `opens_before` consecutive opens.
    pub fn open(now_ms: i64, opens_before: u32, config: &BreakerConfig) -> Self {
        let opens = opens_before.saturating_add(1);
        Self {
            phase: Phase::Open,
            open_until_ms: now_ms.saturating_add(config.cool_down_ms(opens)),
            opens,
        }
    }
}

impl BreakerRecord {
    /// Closed, open, or half-open (open with the cool-down over) at `now_ms`.
    pub fn state_at(&self, now_ms: i64) -> BreakerState {
        match self.phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open if now_ms < self.open_until_ms => BreakerState::Open,
            Phase::Open => BreakerState::HalfOpen,
        }
    }

    /// Calls and failures in the window ending at `now_ms`.
    pub fn totals(&self, now_ms: i64, config: &BreakerConfig) -> (u64, u64) {
        let (_, current) = config.bucket_of(now_ms);
        let oldest = config.window_start(now_ms);
        self.slots
            .iter()
            .filter(|s| s.bucket_ms >= oldest && s.bucket_ms <= current && s.bucket_ms != 0)
            .fold((0, 0), |(c, f), s| {
                (c.saturating_add(s.calls), f.saturating_add(s.failures))
            })
    }

    /// Failure rate in the window (0 with no calls).
    pub fn failure_rate(&self, now_ms: i64, config: &BreakerConfig) -> f64 {
        let (calls, failures) = self.totals(now_ms, config);
        if calls == 0 {
            0.0
        } else {
            failures as f64 / calls as f64
        }
    }

    /// Whether a closed breaker has seen enough failures to open.
    pub fn should_open(&self, now_ms: i64, config: &BreakerConfig) -> bool {
        let (calls, failures) = self.totals(now_ms, config);
        self.phase == Phase::Closed
            && calls >= config.minimum_calls
            && failures as f64 >= config.failure_rate * calls as f64
    }

    /// Whether the window holds a failure: successes must then be counted in the store (in a
    /// clean window they are only counted in memory, so a healthy gateway costs no writes).
    pub fn window_dirty(&self, now_ms: i64, config: &BreakerConfig) -> bool {
        self.totals(now_ms, config).1 > 0
    }

    /// Applies an addition the way every store must: the same bucket accumulates, an older
    /// (or empty) slot restarts at this bucket, a newer one (a peer's clock ahead) is kept.
    pub fn add(&mut self, slot: usize, bucket_ms: i64, calls: u64, failures: u64) {
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        if s.bucket_ms == bucket_ms {
            s.calls = s.calls.saturating_add(calls);
            s.failures = s.failures.saturating_add(failures);
        } else if s.bucket_ms < bucket_ms {
            *s = WindowSlot {
                bucket_ms,
                calls,
                failures,
            };
        }
    }

    /// Applies a transition: next generation, probes freed. Closing also starts a clean window;
    /// opening keeps the window that tripped it, so operators see why (it ages out on its own,
    /// and no call is counted while open).
    pub fn apply(&mut self, t: Transition) {
        self.generation += 1;
        self.phase = t.phase;
        self.open_until_ms = t.open_until_ms;
        self.opens = t.opens;
        if t.phase == Phase::Closed {
            self.slots = Default::default();
        }
        self.probes = [0; MAX_PROBES];
    }

    /// Whether probe slot `probe` may be claimed at `now_ms` by a holder of `generation`.
    pub fn probe_claimable(&self, generation: u64, probe: usize, now_ms: i64) -> bool {
        self.generation == generation
            && self.state_at(now_ms) == BreakerState::HalfOpen
            && self.probes.get(probe).is_some_and(|lease| *lease <= now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig::default()
    }

    #[test]
    fn opens_only_with_minimum_calls_and_rate() {
        let c = cfg();
        let now = 1_000_000;
        let (slot, bucket) = c.bucket_of(now);
        let mut r = BreakerRecord::default();
        r.add(slot, bucket, 9, 9);
        assert!(
            !r.should_open(now, &c),
            "9 calls are below the minimum of 10"
        );
        r.add(slot, bucket, 1, 0);
        assert!(r.should_open(now, &c), "9 of 10 failed");
        let mut healthy = BreakerRecord::default();
        healthy.add(slot, bucket, 10, 4);
        assert!(!healthy.should_open(now, &c), "40 % is below 50 %");
        healthy.add(slot, bucket, 0, 1);
        assert!(healthy.should_open(now, &c), "exactly 50 % opens");
    }

    #[test]
    fn old_buckets_leave_the_window() {
        let c = cfg();
        let t = 6_000_000; // a bucket start: the window is the last 10 buckets of 6 s
        let (slot, bucket) = c.bucket_of(t);
        let mut r = BreakerRecord::default();
        r.add(slot, bucket, 10, 10);
        assert_eq!(r.totals(t + 59_000, &c), (10, 10));
        assert_eq!(r.totals(t + 60_000, &c), (0, 0));
        // The same ring slot one window later restarts instead of accumulating.
        let later = t + 60_000;
        let (slot2, bucket2) = c.bucket_of(later);
        assert_eq!(slot, slot2);
        r.add(slot2, bucket2, 1, 0);
        assert_eq!(r.totals(later, &c), (1, 0));
        // A peer with a clock behind cannot overwrite a newer bucket.
        r.add(slot2, bucket, 5, 5);
        assert_eq!(r.totals(later, &c), (1, 0));
    }

    #[test]
    fn half_open_after_cool_down_and_growth() {
        let c = cfg();
        let mut r = BreakerRecord::default();
        r.apply(Transition::open(0, 0, &c));
        assert_eq!(r.state_at(29_999), BreakerState::Open);
        assert_eq!(r.state_at(30_000), BreakerState::HalfOpen);
        assert!(r.probe_claimable(1, 0, 30_000));
        assert!(!r.probe_claimable(0, 0, 30_000), "stale generation");
        r.probes[0] = 40_000;
        assert!(!r.probe_claimable(1, 0, 35_000), "leased");
        assert!(r.probe_claimable(1, 0, 40_000), "lease ran out");
        r.apply(Transition::open(40_000, r.opens, &c));
        assert_eq!(r.open_until_ms, 100_000, "second open waits 60 s");
        assert_eq!(c.cool_down_ms(6), 600_000);
        assert_eq!(c.cool_down_ms(40), 600_000, "capped");
        r.apply(Transition::close());
        assert_eq!((r.generation, r.opens), (3, 0));
    }

    #[test]
    fn config_from_lookup_validates() {
        let none = |_: &str| None;
        assert_eq!(BreakerConfig::from_lookup(none), Ok(cfg()));
        let set = |k: &str| (k == "BREAKER_HALF_OPEN_PROBES").then(|| "3".to_string());
        assert_eq!(
            BreakerConfig::from_lookup(set).map(|c| c.half_open_probes),
            Ok(3)
        );
        let bad = |k: &str| (k == "BREAKER_FAILURE_RATE").then(|| "1.5".to_string());
        assert!(BreakerConfig::from_lookup(bad).is_err());
        let junk = |k: &str| (k == "BREAKER_MINIMUM_CALLS").then(|| "ten".to_string());
        assert!(BreakerConfig::from_lookup(junk).is_err());
    }
}
