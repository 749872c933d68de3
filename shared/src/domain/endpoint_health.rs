//! The health of one merchant callback endpoint: a small breaker per (tenant, URL), so a dead or
//! hanging endpoint is probed on a growing interval instead of being attempted for every event,
//! and is disabled after it has failed for days (Svix disables after 5 days).
//!
//! Pure state and rules; the store keeps one record per endpoint (conditional on `version`), the
//! worker caches it per instance. A healthy endpoint's record is never written on success, so a
//! working integration costs nothing here.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// One endpoint's state. The default is healthy, never written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointHealth {
    /// When the current run of failures began (none: healthy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    /// Failed attempts since then.
    #[serde(default)]
    pub failures: u32,
    /// No attempt before this instant (the next probe, or a probe's lease).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
    /// Disabled: nothing is attempted until the tenant enables it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
    /// The last failure, for people (≤ 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Where the last enable's backlog began: a later enable (the first one's resend cut short,
    /// or a backlog longer than one call) resends from here again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resend_from: Option<DateTime<Utc>>,
    /// Bumped by every write; writes are conditional on it.
    #[serde(default)]
    pub version: u64,
}

/// Failures in a row an endpoint needs, besides `disable_after`, to be disabled.
pub const MIN_FAILURES_TO_DISABLE: u32 = 10;

/// How an endpoint's failures are paced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPolicy {
    /// The wait before the next probe after the n-th failure in a row (the last repeats).
    pub backoff: Vec<Duration>,
    /// How long a probe holds the endpoint (others wait meanwhile); longer than a callback's
    /// timeout, so a hanging endpoint gets one attempt at a time.
    pub probe_lease: Duration,
    /// Failing for this long disables the endpoint.
    pub disable_after: Duration,
    /// False: every delivery is attempted and nothing is recorded (tests that drive retries by
    /// receiving again; never a deployment).
    pub paced: bool,
}

impl EndpointPolicy {
    /// No pacing at all (see `paced`).
    pub fn unpaced() -> Self {
        Self {
            paced: false,
            ..Self::default()
        }
    }
}

impl Default for EndpointPolicy {
    /// 5 s, 30 s, 2 min, 5 min, 15 min, 30 min, then hourly; one probe at a time (20 s lease);
    /// disabled after 5 days of failures.
    fn default() -> Self {
        Self {
            backoff: vec![
                Duration::seconds(5),
                Duration::seconds(30),
                Duration::minutes(2),
                Duration::minutes(5),
                Duration::minutes(15),
                Duration::minutes(30),
                Duration::hours(1),
            ],
            probe_lease: Duration::seconds(20),
            disable_after: Duration::days(5),
            paced: true,
        }
    }
}

/// What a delivery may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Healthy: send.
    Send,
    /// Failing and due: send as the probe, after claiming it (one prober at a time).
    Probe,
    /// Failing: wait until then without an attempt.
    Wait(DateTime<Utc>),
    /// Disabled by failures: no attempt until the tenant enables it.
    Disabled(DateTime<Utc>),
}

/// How the endpoint reads to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointState {
    Healthy,
    Failing,
    Disabled,
}

impl EndpointHealth {
    /// What may be done at `now`.
    pub fn gate(&self, now: DateTime<Utc>) -> Gate {
        if let Some(at) = self.disabled_at {
            return Gate::Disabled(at);
        }
        if self.failing_since.is_none() {
            return Gate::Send;
        }
        match self.retry_at {
            Some(t) if t > now => Gate::Wait(t),
            _ => Gate::Probe,
        }
    }

    /// For people.
    pub fn state(&self) -> EndpointState {
        if self.disabled_at.is_some() {
            EndpointState::Disabled
        } else if self.failing_since.is_some() {
            EndpointState::Failing
        } else {
            EndpointState::Healthy
        }
    }

    /// The record once a prober claimed the probe: others wait for its lease.
    pub fn probe_claimed(&self, now: DateTime<Utc>, policy: &EndpointPolicy) -> Self {
        Self {
            retry_at: Some(now + policy.probe_lease),
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// The record after a failed attempt at `now`: the next probe further away, and disabled
    /// once the failures have lasted `disable_after`.
    pub fn after_failure(&self, now: DateTime<Utc>, error: &str, policy: &EndpointPolicy) -> Self {
        let since = self.failing_since.unwrap_or(now);
        let failures = self.failures.saturating_add(1);
        let step = usize::try_from(failures - 1).unwrap_or(usize::MAX);
        let wait = policy
            .backoff
            .get(step)
            .or(policy.backoff.last())
            .copied()
            .unwrap_or_else(|| Duration::minutes(1));
        // Days of failing *and* many failures: a quiet endpoint that failed once days ago and
        // fails once more is not dead.
        let disabled_at = self.disabled_at.or_else(|| {
            (now - since >= policy.disable_after && failures >= MIN_FAILURES_TO_DISABLE)
                .then_some(now)
        });
        Self {
            failing_since: Some(since),
            failures,
            retry_at: Some(now + wait),
            disabled_at,
            last_error: Some(error.chars().take(200).collect()),
            resend_from: self.resend_from,
            version: self.version + 1,
        }
    }

    /// The record after a successful attempt: healthy again.
    pub fn after_success(&self) -> Self {
        Self {
            version: self.version + 1,
            ..Self::default()
        }
    }

    /// The record once the tenant enabled it: healthy, remembering where its backlog begins.
    pub fn enabled(&self, resend_from: Option<DateTime<Utc>>) -> Self {
        Self {
            resend_from,
            version: self.version + 1,
            ..Self::default()
        }
    }

    /// Where an enable's backlog begins: an hour before the current failures began (an event
    /// made just before may have waited for its first attempt until then), else where the last
    /// enable's began.
    pub fn backlog_from(&self) -> Option<DateTime<Utc>> {
        self.failing_since
            .map(|t| t - Duration::hours(1))
            .or(self.resend_from)
    }

    /// True when nothing about it needs writing after a success.
    pub fn is_healthy(&self) -> bool {
        self.failing_since.is_none() && self.disabled_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    /// The table the worker walks: healthy sends; a failure waits out the backoff, then one
    /// probe; failures for 5 days disable; a success heals at any point.
    #[test]
    fn endpoint_health_walk() {
        let p = EndpointPolicy::default();
        let h = EndpointHealth::default();
        assert_eq!(h.gate(t(0)), Gate::Send);
        let h = h.after_failure(t(0), "HTTP 500", &p);
        assert_eq!(h.state(), EndpointState::Failing);
        assert_eq!(h.gate(t(1)), Gate::Wait(t(5)));
        assert_eq!(h.gate(t(5)), Gate::Probe);
        let claimed = h.probe_claimed(t(5), &p);
        assert_eq!(
            claimed.gate(t(6)),
            Gate::Wait(t(25)),
            "one prober at a time"
        );
        let h = claimed.after_failure(t(6), "timeout", &p);
        assert_eq!(h.gate(t(7)), Gate::Wait(t(36)), "second wait: 30 s");
        assert_eq!(h.failing_since, Some(t(0)));
        // Hourly at most, however long it lasts.
        let mut h = h;
        for i in 0..20 {
            h = h.after_failure(t(100 + i), "x", &p);
        }
        assert_eq!(h.retry_at, Some(t(119) + Duration::hours(1)));
        assert_eq!(h.state(), EndpointState::Failing);
        // Five days after the first failure: disabled.
        let five_days = Duration::days(5).num_seconds();
        let d = h.after_failure(t(five_days - 1), "x", &p);
        assert_eq!(d.state(), EndpointState::Failing);
        let d = d.after_failure(t(five_days), "x", &p);
        assert_eq!(d.gate(t(five_days + 1)), Gate::Disabled(t(five_days)));
        // Success heals (and a tenant's enable is the same record).
        let ok = d.after_success();
        assert!(ok.is_healthy());
        assert_eq!(ok.gate(t(five_days + 2)), Gate::Send);
        assert_eq!(ok.version, d.version + 1);
    }
}
