//! Retrying rollbacks: exponential backoff (the next retry time from the attempt count) and a
//! circuit breaker per target (closed, open, half-open from failure counts and time). Both are
//! pure: the time is passed in, nothing is random.

use crate::ids::{DurationNs, TimestampNs};
use minicbor::{Decode, Encode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Backoff {
    /// Wait before the first retry.
    #[n(0)]
    pub base: DurationNs,
    /// Longest wait between two attempts.
    #[n(1)]
    pub max: DurationNs,
    /// Attempts of one rollback step, the first included; then it is given up and the
    /// experiment flagged for a person.
    #[n(2)]
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: DurationNs::from_secs(2),
            max: DurationNs::from_secs(300),
            max_attempts: 6,
        }
    }
}

impl Backoff {
    /// The wait after `failed_attempts` failures (1 = after the first): base · 2^(n−1), capped.
    pub fn delay(&self, failed_attempts: u32) -> DurationNs {
        let exp = failed_attempts.saturating_sub(1).min(63);
        let d = self.base.0.saturating_mul(1u64 << exp);
        DurationNs(d.min(self.max.0))
    }

    /// When to retry after the `failed_attempts`-th failure at `failed_at`; `None` when the
    /// attempts are used up.
    pub fn next_retry_at(
        &self,
        failed_at: TimestampNs,
        failed_attempts: u32,
    ) -> Option<TimestampNs> {
        (failed_attempts < self.max_attempts).then(|| failed_at.plus(self.delay(failed_attempts)))
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.base.0 == 0 || self.max < self.base {
            return Err("backoff: base must be above zero and max at least base".into());
        }
        if !(1..=20).contains(&self.max_attempts) {
            return Err("backoff: max_attempts must be 1 to 20".into());
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BreakerConfig {
    /// Consecutive failed control calls that open the breaker.
    #[n(0)]
    pub failure_threshold: u32,
    /// How long it stays open the first time; doubled for every further failure, capped.
    #[n(1)]
    pub open_for: DurationNs,
    #[n(2)]
    pub max_open_for: DurationNs,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 3,
            open_for: DurationNs::from_secs(30),
            max_open_for: DurationNs::from_secs(600),
        }
    }
}

impl BreakerConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.failure_threshold == 0 || self.open_for.0 == 0 || self.max_open_for < self.open_for
        {
            return Err("breaker: failure_threshold and open_for must be above zero, max_open_for at least open_for".into());
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerPhase {
    /// Calls go through.
    Closed,
    /// The target failed too often: no call before `until`.
    Open { until: TimestampNs },
    /// The open time is over: one trial call decides (success closes, failure reopens longer).
    HalfOpen,
}

/// The breaker of one target, as data: consecutive failures and the last failure's time. The
/// phase is computed from them and the time, so folding outcomes needs no configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct CircuitBreaker {
    #[n(0)]
    pub consecutive_failures: u32,
    #[n(1)]
    pub last_failure_at: Option<TimestampNs>,
}

impl CircuitBreaker {
    pub fn record(&mut self, success: bool, at: TimestampNs) {
        if success {
            *self = CircuitBreaker::default();
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.last_failure_at = Some(at);
        }
    }

    pub fn phase(&self, config: &BreakerConfig, now: TimestampNs) -> BreakerPhase {
        if self.consecutive_failures < config.failure_threshold {
            return BreakerPhase::Closed;
        }
        let extra = (self.consecutive_failures - config.failure_threshold).min(32);
        let open_for = config
            .open_for
            .0
            .saturating_mul(1u64 << extra)
            .min(config.max_open_for.0);
        let until = self
            .last_failure_at
            .unwrap_or_default()
            .plus(DurationNs(open_for));
        if now < until {
            BreakerPhase::Open { until }
        } else {
            BreakerPhase::HalfOpen
        }
    }
}
