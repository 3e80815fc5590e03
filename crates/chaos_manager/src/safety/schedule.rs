//! Scheduled experiments: once or on an interval. The schedule is state (folded from
//! `ScheduleCreated` / `ScheduleFired` / `ScheduleCancelled`); a shell arms one timer per
//! schedule at [`Schedule::next_at`] and re-arms them from state after an upgrade.

use crate::experiment::{ExperimentId, ExperimentSpec};
use crate::ids::{DurationNs, TimestampNs};
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(transparent)]
pub struct ScheduleId(#[n(0)] pub u64);

impl fmt::Display for ScheduleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "schedule-{}", self.0)
    }
}

/// Shortest interval between two scheduled runs.
pub const MIN_SCHEDULE_INTERVAL: DurationNs = DurationNs::from_secs(600);
/// Most schedules held at once.
pub const MAX_SCHEDULES: usize = 100;

/// One firing: the experiment it started, or why it was skipped.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ScheduleRun {
    #[n(0)]
    pub at: TimestampNs,
    #[n(1)]
    pub result: Result<ExperimentId, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub id: ScheduleId,
    pub spec: ExperimentSpec,
    pub created_by: Principal,
    pub created_at: TimestampNs,
    /// `None` once a one-shot schedule fired or the schedule was cancelled.
    pub next_at: Option<TimestampNs>,
    pub interval: Option<DurationNs>,
    pub fired: u32,
    pub last: Option<ScheduleRun>,
    pub cancelled: bool,
}

impl Schedule {
    pub fn is_due(&self, now: TimestampNs) -> bool {
        self.next_at.is_some_and(|at| at <= now)
    }

    /// Folds a firing at `at`: the next occurrence is the first multiple of the interval after
    /// `at` (missed occurrences, e.g. while chaos_system was being upgraded, are not replayed).
    pub fn on_fired(&mut self, run: ScheduleRun) {
        self.fired += 1;
        self.next_at = match (self.next_at, self.interval) {
            (Some(next), Some(every)) if every.0 > 0 => {
                let behind = run.at.since(next).0 / every.0 + 1;
                Some(next.plus(DurationNs(every.0.saturating_mul(behind))))
            }
            _ => None,
        };
        self.last = Some(run);
    }
}
