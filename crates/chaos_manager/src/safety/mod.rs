//! # Safety: the limits every experiment runs under, all enforced by the core
//!
//! - [`limits`]: max duration, impact scope (count and share of the registry), concurrency,
//!   one activity per target, approval policy, and [`limits::admit`], the admission check;
//! - [`monitor`]: emergency stop conditions (steady-state deviations, cycles below a floor,
//!   probe error rate) and monitoring thresholds (alerts);
//! - [`breaker`]: exponential backoff and the per-target circuit breaker that pace rollbacks;
//! - [`schedule`]: experiments scheduled once or on an interval.
//!
//! The emergency stop itself is a lab command (`experiment::commands::emergency_stop`): it
//! records [`SafetyChange::Halted`] and an abort for every active experiment; new experiments
//! are refused until an admin records [`SafetyChange::Resumed`].

pub mod breaker;
pub mod limits;
pub mod monitor;
pub mod schedule;

pub use breaker::{Backoff, BreakerConfig, BreakerPhase, CircuitBreaker};
pub use limits::{admit, Admission, ApprovalPolicy, RunLimits, SafetyLimits};
pub use monitor::{Alert, Monitor, MonitoringThresholds, StopConditions, StopReason};
pub use schedule::{Schedule, ScheduleId, ScheduleRun};

use crate::experiment::ExperimentSpec;
use crate::fault::Occupant;
use crate::ids::{DurationNs, TimestampNs};
use crate::state::EventMeta;
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::collections::BTreeMap;
use std::fmt;

/// An emergency stop in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    pub since: TimestampNs,
    pub by: Principal,
    pub reason: String,
}

/// Safety records (events). Tags are stable.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SafetyChange {
    #[n(0)]
    LimitsSet {
        #[n(0)]
        limits: Box<SafetyLimits>,
    },
    /// Emergency stop: every active experiment is aborted in the same batch.
    #[n(1)]
    Halted {
        #[cbor(n(0), with = "crate::cbor::principal")]
        by: Principal,
        #[n(1)]
        reason: String,
    },
    #[n(2)]
    Resumed {
        #[cbor(n(0), with = "crate::cbor::principal")]
        by: Principal,
    },
    #[n(3)]
    ScheduleCreated {
        #[n(0)]
        id: ScheduleId,
        #[n(1)]
        spec: Box<ExperimentSpec>,
        #[n(2)]
        first_at: TimestampNs,
        #[n(3)]
        interval: Option<DurationNs>,
        #[cbor(n(4), with = "crate::cbor::principal")]
        by: Principal,
    },
    #[n(4)]
    ScheduleFired {
        #[n(0)]
        id: ScheduleId,
        #[n(1)]
        run: ScheduleRun,
    },
    #[n(5)]
    ScheduleCancelled {
        #[n(0)]
        id: ScheduleId,
        #[cbor(n(1), with = "crate::cbor::principal")]
        by: Principal,
    },
    /// The outcome of a control call on a target, for its circuit breaker. Recorded by the
    /// lab next to the step outcome that carries it.
    #[n(6)]
    BreakerObserved {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        success: bool,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SafetyState {
    pub limits: SafetyLimits,
    pub halt: Option<Halt>,
    /// Emergency stops and who resumed after each.
    pub halts: Vec<(Halt, Option<(TimestampNs, Principal)>)>,
    pub breakers: BTreeMap<Principal, CircuitBreaker>,
    pub schedules: BTreeMap<ScheduleId, Schedule>,
    pub next_schedule: u64,
}

impl SafetyState {
    pub fn apply(&mut self, meta: &EventMeta, change: &SafetyChange) {
        match change {
            SafetyChange::LimitsSet { limits } => self.limits = (**limits).clone(),
            SafetyChange::Halted { by, reason } => {
                let halt = Halt {
                    since: meta.time,
                    by: *by,
                    reason: reason.clone(),
                };
                // A second stop while halted is recorded but keeps the first one's time.
                if self.halt.is_none() {
                    self.halts.push((halt.clone(), None));
                    self.halt = Some(halt);
                }
            }
            SafetyChange::Resumed { by } => {
                if self.halt.take().is_some() {
                    if let Some(last) = self.halts.last_mut() {
                        last.1 = Some((meta.time, *by));
                    }
                }
            }
            SafetyChange::ScheduleCreated {
                id,
                spec,
                first_at,
                interval,
                by,
            } => {
                self.next_schedule = self.next_schedule.max(id.0 + 1);
                self.schedules.insert(
                    *id,
                    Schedule {
                        id: *id,
                        spec: (**spec).clone(),
                        created_by: *by,
                        created_at: meta.time,
                        next_at: Some(*first_at),
                        interval: *interval,
                        fired: 0,
                        last: None,
                        cancelled: false,
                    },
                );
            }
            SafetyChange::ScheduleFired { id, run } => {
                if let Some(s) = self.schedules.get_mut(id) {
                    s.on_fired(run.clone());
                }
            }
            SafetyChange::ScheduleCancelled { id, .. } => {
                if let Some(s) = self.schedules.get_mut(id) {
                    s.cancelled = true;
                    s.next_at = None;
                }
            }
            SafetyChange::BreakerObserved { canister, success } => {
                self.breakers
                    .entry(*canister)
                    .or_default()
                    .record(*success, meta.time);
            }
        }
    }

    pub fn breaker_phase(&self, canister: &Principal, now: TimestampNs) -> BreakerPhase {
        self.breakers
            .get(canister)
            .copied()
            .unwrap_or_default()
            .phase(&self.limits.breaker, now)
    }

    /// Schedules whose next run is due at `now`.
    pub fn due_schedules(&self, now: TimestampNs) -> impl Iterator<Item = &Schedule> {
        self.schedules.values().filter(move |s| s.is_due(now))
    }
}

/// Why the safety limits refuse an experiment. Messages say what would make it acceptable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SafetyRefusal {
    Halted(Halt),
    TooManyConcurrent {
        max: u32,
    },
    TooLong {
        requested: DurationNs,
        max: DurationNs,
    },
    ProbeIntervalTooShort {
        requested: DurationNs,
        min: DurationNs,
    },
    ScopeTooLarge {
        touched: usize,
        max: u32,
    },
    ShareTooLarge {
        touched: usize,
        registered: usize,
        max_pct: u8,
    },
    TargetBusy {
        canister: Principal,
        occupant: Occupant,
    },
    BreakerOpen {
        canister: Principal,
        until: TimestampNs,
    },
    /// No chaos_probe canister is configured: the steady-state probes could not run.
    NoChaosProbe,
}

impl fmt::Display for SafetyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SafetyRefusal::NoChaosProbe => write!(
                f,
                "no chaos_probe canister is configured, so the steady-state probes cannot run; an admin calls set_chaos_probe"
            ),
            SafetyRefusal::Halted(h) => write!(
                f,
                "an emergency stop by {} is in force since {} ns ({}); an admin must resume experiments first",
                h.by, h.since.0, h.reason
            ),
            SafetyRefusal::TooManyConcurrent { max } => write!(
                f,
                "{max} experiments are already active (the most allowed at once); wait for one to finish"
            ),
            SafetyRefusal::TooLong { requested, max } => write!(
                f,
                "a duration of {requested} exceeds the maximum of {max}; shorten the experiment"
            ),
            SafetyRefusal::ProbeIntervalTooShort { requested, min } => write!(
                f,
                "a probe interval of {requested} is below the minimum of {min}; probe less often"
            ),
            SafetyRefusal::ScopeTooLarge { touched, max } => write!(
                f,
                "the fault touches {touched} targets (acted on or degraded dependents), more than the {max} allowed; narrow it"
            ),
            SafetyRefusal::ShareTooLarge { touched, registered, max_pct } => write!(
                f,
                "the fault touches {touched} of {registered} registered targets, more than {max_pct}%; narrow it"
            ),
            SafetyRefusal::TargetBusy { canister, occupant } => write!(
                f,
                "{canister} is busy ({occupant:?}): one drill, hardening or experiment per target at a time; wait for it to finish"
            ),
            SafetyRefusal::BreakerOpen { canister, until } => write!(
                f,
                "the circuit breaker of {canister} is open until {} ns after repeated failed control calls; check the target and retry later",
                until.0
            ),
        }
    }
}

impl std::error::Error for SafetyRefusal {}
