//! # Chaos experiments: lifecycle, steady-state hypothesis, rollback
//!
//! States: draft → pending approval → running → rolling back → completed | aborted | failed
//! ([`run::Status`]; failed = a rollback step was given up or a target was not found as it
//! was, flagged for a person). A run is a sans-IO state machine ([`run::Experiment`]): every
//! step is journaled before it is performed (`StepStarted`), its observation folded
//! (`StepCompleted`); every step records its [`Cause`].
//!
//! The [`lab::Lab`] aggregates experiments, [`crate::safety`] and [`crate::council`] state and
//! folds [`lab::LabChange`]s; [`commands`] holds the decide functions.
//!
//! ## Actions a shell performs, and the `crate::effect::Effect` each maps to
//!
//! | [`Action`] | effect | observation |
//! |---|---|---|
//! | `ReadStatus` | new `ReadStatus` (`canister_status` through the mirror type) | `Status` |
//! | `UpdateSettings` | `UpdateSettings` | `Done` |
//! | `StopCanister` / `StartCanister` | `StopCanister` / `StartCanister` | `Done` |
//! | `TakeSnapshot` / `LoadSnapshot` | `TakeSnapshot` / `LoadSnapshot` | `SnapshotTaken` / `Done` |
//! | `SetFaultPlan` / `ClearFaults` | new `SetFaultPlan` / `ClearFaults` (hook control methods, bounded wait) | `Done` |
//! | `ProbeVia` | new `ProbeVia` (chaos_probe calls the method, bounded wait) | `Probed` |
//! | `AccessProbe` | new `AccessProbe` (chaos_probe, as for hardening evidence) | `AccessProbed` |
//! | `WaitUntil` | `WaitUntil` | `Done` |
//!
//! Any failure is `Observation::Failed` with the IC reject code.

mod batch;
pub mod commands;
pub mod fixtures;
pub mod lab;
pub mod perform;
pub mod report;
pub mod run;
pub mod spec;

pub use crate::fault::{Action, Observation};
pub use commands::Caller;
pub use lab::{ExperimentChange, Lab, LabChange, Timer};
pub use perform::{effect_of, observation_of};
pub use report::{ExperimentReport, PhaseChecks, Verdict};
pub use run::{Experiment, NextStep, Phase, Stage, Status, StepKind};
pub use spec::{ExperimentSpec, Hypothesis, Phases, ProbeDef, RollbackStrategy, Tolerance};

use crate::auth::Role;
use crate::council::CouncilError;
use crate::fault::FaultError;
use crate::safety::{SafetyRefusal, ScheduleId, StopReason};
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::fmt;

/// An experiment's number: a counter of the lab, explicit in every record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(transparent)]
pub struct ExperimentId(#[n(0)] pub u64);

impl fmt::Display for ExperimentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "experiment-{}", self.0)
    }
}

/// Who or what caused a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Cause {
    /// The operator who submitted the experiment, or who aborted it.
    #[n(0)]
    Operator(#[cbor(n(0), with = "crate::cbor::principal")] Principal),
    #[n(1)]
    Schedule(#[n(0)] ScheduleId),
    /// The max-duration timer.
    #[n(2)]
    MaxDuration,
    /// An emergency stop condition (steady-state deviations, cycles floor, error rate).
    #[n(3)]
    StopCondition,
    #[n(4)]
    EmergencyStop(#[cbor(n(0), with = "crate::cbor::principal")] Principal),
    /// The core's own safety rules: a failed step, an unmet steady state, an unsafe step
    /// refused, a refusal at start, a council decision.
    #[n(5)]
    Engine,
}

/// Why an experiment is rolled back before its end.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum AbortReason {
    #[n(0)]
    Operator {
        #[cbor(n(0), with = "crate::cbor::principal")]
        by: Principal,
        #[n(1)]
        note: String,
    },
    #[n(1)]
    EmergencyStop {
        #[cbor(n(0), with = "crate::cbor::principal")]
        by: Principal,
        #[n(1)]
        note: String,
    },
    #[n(2)]
    MaxDuration,
    #[n(3)]
    StopCondition(#[n(0)] StopReason),
    /// The steady state did not hold before the fault: nothing is injected.
    #[n(4)]
    SteadyStateNotMet {
        #[n(0)]
        probe: String,
        #[n(1)]
        detail: String,
    },
    #[n(5)]
    StepFailed {
        #[n(0)]
        action: String,
        #[n(1)]
        detail: String,
    },
    /// A step was refused by its own guard (no originals to restore, no restore point, a
    /// freeze that would not freeze).
    #[n(6)]
    Unsafe {
        #[n(0)]
        detail: String,
    },
}

impl AbortReason {
    pub fn cause(&self) -> Cause {
        match self {
            AbortReason::Operator { by, .. } => Cause::Operator(*by),
            AbortReason::EmergencyStop { by, .. } => Cause::EmergencyStop(*by),
            AbortReason::MaxDuration => Cause::MaxDuration,
            AbortReason::StopCondition(_) => Cause::StopCondition,
            _ => Cause::Engine,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            AbortReason::Operator { by, note } => format!("aborted by {by}: {note}"),
            AbortReason::EmergencyStop { by, note } => format!("emergency stop by {by}: {note}"),
            AbortReason::MaxDuration => "the maximum duration was reached".into(),
            AbortReason::StopCondition(r) => format!("stop condition: {}", r.describe()),
            AbortReason::SteadyStateNotMet { probe, detail } => format!(
                "the steady state did not hold before the fault (probe `{probe}`: {detail}); nothing was injected"
            ),
            AbortReason::StepFailed { action, detail } => format!("{action} failed: {detail}"),
            AbortReason::Unsafe { detail } => format!("refused an unsafe step: {detail}"),
        }
    }
}

/// The error enum of the experiment boundary. Messages say what to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabError {
    NotAuthorized {
        caller: Principal,
        required: Role,
    },
    InvalidSpec {
        field: String,
        reason: String,
    },
    InvalidLimits {
        field: String,
        reason: String,
    },
    Fault(FaultError),
    Safety(SafetyRefusal),
    Council(CouncilError),
    ExperimentNotFound {
        id: ExperimentId,
    },
    WrongState {
        id: ExperimentId,
        state: Status,
        action: &'static str,
    },
    StepMismatch {
        id: ExperimentId,
        expected: Option<u32>,
        got: u32,
    },
    ScheduleNotFound {
        id: ScheduleId,
    },
    NotHalted,
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabError::NotAuthorized { caller, required } => write!(
                f,
                "{caller} needs the {} role for this; an admin can grant it",
                required.name()
            ),
            LabError::InvalidSpec { field, reason } => {
                write!(f, "invalid experiment `{field}`: {reason}")
            }
            LabError::InvalidLimits { field, reason } => {
                write!(f, "invalid safety limit `{field}`: {reason}")
            }
            LabError::Fault(e) => write!(f, "{e}"),
            LabError::Safety(e) => write!(f, "{e}"),
            LabError::Council(e) => write!(f, "{e}"),
            LabError::ExperimentNotFound { id } => write!(f, "{id} does not exist"),
            LabError::WrongState { id, state, action } => {
                write!(f, "{id} is {state:?}: it cannot {action}")
            }
            LabError::StepMismatch { id, expected, got } => write!(
                f,
                "{id} expected an outcome for step {expected:?}, got step {got}; a stale completion (e.g. a wait cut short by an abort) is dropped"
            ),
            LabError::ScheduleNotFound { id } => write!(f, "{id} does not exist"),
            LabError::NotHalted => write!(f, "no emergency stop is in force: nothing to resume"),
        }
    }
}

impl std::error::Error for LabError {}

impl From<FaultError> for LabError {
    fn from(e: FaultError) -> Self {
        LabError::Fault(e)
    }
}

impl From<SafetyRefusal> for LabError {
    fn from(e: SafetyRefusal) -> Self {
        LabError::Safety(e)
    }
}

impl From<CouncilError> for LabError {
    fn from(e: CouncilError) -> Self {
        LabError::Council(e)
    }
}
