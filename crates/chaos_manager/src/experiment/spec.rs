//! What an operator writes: the fault, the steady-state hypothesis (Chaos Toolkit style), the
//! duration and the rollback strategy.

use super::LabError;
use crate::fault::{FaultSpec, Observation};
use crate::ids::DurationNs;
use ic_principal::Principal;
use minicbor::{Decode, Encode};

pub const MAX_TITLE_BYTES: usize = 128;
pub const MAX_PROBES: usize = 16;
/// A probe's name is repeated in every check the run records.
pub const MAX_PROBE_NAME_BYTES: usize = 64;

/// When rollbacks run at the end of a completed experiment. An aborted or emergency-stopped
/// experiment always rolls back, whatever the strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum RollbackStrategy {
    #[n(0)]
    Always,
    /// Only when the hypothesis deviated during the fault. A fault that does not undo itself
    /// (a stop, changed settings, corrupted data) is rolled back whatever the hypothesis said:
    /// only self-expiring hook plans are left to lapse.
    #[n(1)]
    OnDeviation,
    /// Never (allowed only for faults that undo themselves: hook plans expire).
    #[n(2)]
    Never,
}

/// When a probe runs. A probe may serve several phases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Phases {
    #[n(0)]
    pub before: bool,
    #[n(1)]
    pub during: bool,
    #[n(2)]
    pub after: bool,
}

impl Phases {
    pub const ALL: Phases = Phases {
        before: true,
        during: true,
        after: true,
    };
}

/// What a probe's answer must satisfy for the steady state to hold.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Tolerance {
    /// The call replies.
    #[n(0)]
    Answers,
    /// The reported value lies in `min..=max`.
    #[n(1)]
    ValueWithin {
        #[n(0)]
        min: u64,
        #[n(1)]
        max: u64,
    },
    /// The call replies within `max`.
    #[n(2)]
    LatencyAtMost {
        #[n(0)]
        max: DurationNs,
    },
    /// The target reports that its invariant holds.
    #[n(3)]
    InvariantHolds,
}

impl Tolerance {
    /// `Ok` within tolerance, else why not.
    pub fn check(&self, observation: &Observation) -> Result<(), String> {
        let reading = match observation {
            Observation::Probed { reading } => reading,
            Observation::Failed { failure } => {
                return Err(format!(
                    "no answer ({:?}: {})",
                    failure.code, failure.message
                ))
            }
            other => return Err(format!("unexpected observation {other:?}")),
        };
        match self {
            Tolerance::Answers => Ok(()),
            Tolerance::ValueWithin { min, max } => match reading.value {
                Some(v) if (*min..=*max).contains(&v) => Ok(()),
                Some(v) => Err(format!("value {v} outside {min}..={max}")),
                None => Err("the answer carries no value".into()),
            },
            Tolerance::LatencyAtMost { max } if reading.latency <= *max => Ok(()),
            Tolerance::LatencyAtMost { max } => {
                Err(format!("answered in {}, more than {max}", reading.latency))
            }
            Tolerance::InvariantHolds => match reading.invariant_holds {
                Some(true) => Ok(()),
                Some(false) => Err("the invariant does not hold".into()),
                None => Err("the answer says nothing about the invariant".into()),
            },
        }
    }
}

/// One probe of the steady state, run through chaos_probe.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ProbeDef {
    #[n(0)]
    pub name: String,
    #[cbor(n(1), with = "crate::cbor::principal")]
    pub canister: Principal,
    #[n(2)]
    pub method: String,
    #[n(3)]
    pub tolerance: Tolerance,
    #[n(4)]
    pub phases: Phases,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Hypothesis {
    #[n(0)]
    pub title: String,
    #[n(1)]
    pub probes: Vec<ProbeDef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ExperimentSpec {
    #[n(0)]
    pub title: String,
    #[n(1)]
    pub fault: FaultSpec,
    #[n(2)]
    pub hypothesis: Hypothesis,
    /// How long the fault stays active. Zero only for a security breach (a one-shot probe).
    #[n(3)]
    pub duration: DurationNs,
    /// Time between two checks of the steady state while the fault is active.
    #[n(4)]
    pub probe_interval: DurationNs,
    #[n(5)]
    pub rollback: RollbackStrategy,
}

fn invalid(field: &str, reason: impl Into<String>) -> LabError {
    LabError::InvalidSpec {
        field: field.into(),
        reason: reason.into(),
    }
}

impl ExperimentSpec {
    /// Checks what does not depend on the registry or the safety limits.
    pub fn validate(&self) -> Result<(), LabError> {
        if self.title.trim().is_empty() || self.title.len() > MAX_TITLE_BYTES {
            return Err(invalid(
                "title",
                format!("must be 1 to {MAX_TITLE_BYTES} bytes"),
            ));
        }
        let h = &self.hypothesis;
        if h.title.trim().is_empty() || h.title.len() > MAX_TITLE_BYTES {
            return Err(invalid(
                "hypothesis.title",
                format!("must be 1 to {MAX_TITLE_BYTES} bytes: say what steady state you expect"),
            ));
        }
        if h.probes.is_empty() || h.probes.len() > MAX_PROBES {
            return Err(invalid(
                "hypothesis.probes",
                format!("1 to {MAX_PROBES} probes: a hypothesis nobody checks proves nothing"),
            ));
        }
        for (i, p) in h.probes.iter().enumerate() {
            if p.name.trim().is_empty()
                || p.name.len() > MAX_PROBE_NAME_BYTES
                || h.probes[..i].iter().any(|q| q.name == p.name)
            {
                return Err(invalid(
                    "hypothesis.probes.name",
                    format!(
                        "probe {i}: names must be non-empty, unique and at most {MAX_PROBE_NAME_BYTES} bytes (repeated in every check)"
                    ),
                ));
            }
            if !crate::fault::profile::is_method_name(&p.method) {
                return Err(invalid(
                    "hypothesis.probes.method",
                    format!(
                        "probe `{}`: `{}` is not a Candid method name",
                        p.name, p.method
                    ),
                ));
            }
            if p.canister == Principal::anonymous()
                || p.canister == Principal::management_canister()
            {
                return Err(invalid(
                    "hypothesis.probes.canister",
                    format!("probe `{}`: must be a canister id", p.name),
                ));
            }
            if let Tolerance::ValueWithin { min, max } = p.tolerance {
                if min > max {
                    return Err(invalid(
                        "hypothesis.probes.tolerance",
                        format!("probe `{}`: min {min} is above max {max}", p.name),
                    ));
                }
            }
        }
        for (phase, covered) in [
            ("before", h.probes.iter().any(|p| p.phases.before)),
            ("during", h.probes.iter().any(|p| p.phases.during)),
            ("after", h.probes.iter().any(|p| p.phases.after)),
        ] {
            if !covered {
                return Err(invalid(
                    "hypothesis.probes.phases",
                    format!("no probe runs {phase} the fault: the steady state must be checked before, during and after"),
                ));
            }
        }
        let one_shot = self.fault.kind() == crate::fault::FaultKind::SecurityBreach;
        if self.duration.0 == 0 && !one_shot {
            return Err(invalid(
                "duration_ns",
                "must be above zero: how long the fault stays active",
            ));
        }
        if self.probe_interval.0 == 0 {
            return Err(invalid("probe_interval_ns", "must be above zero"));
        }
        if self.rollback == RollbackStrategy::Never && !self.fault.undoes_itself() {
            return Err(invalid(
                "rollback",
                format!(
                    "`never` is refused for {}: it changes settings, run state or data that nothing would restore; use `always` or `on_deviation`",
                    self.fault.kind()
                ),
            ));
        }
        Ok(())
    }

    /// The checks of one tick while the fault is active.
    pub fn during_probes(&self) -> impl Iterator<Item = (usize, &ProbeDef)> {
        self.hypothesis
            .probes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.phases.during)
    }
}
