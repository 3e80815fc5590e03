//! A finished drill's measurements: RTO, RPO, criteria and the verdict.

use super::{Action, Drill, Phase};
use crate::effect::Outcome;
use crate::ids::{DurationNs, TimestampNs};
use minicbor::{Decode, Encode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum Verdict {
    /// Every criterion held, within the objectives.
    #[n(0)]
    Passed,
    /// The drill ran to the end but a criterion failed (recovery, integrity or an objective).
    #[n(1)]
    Failed,
    /// A step before the disaster failed; nothing was destroyed.
    #[n(2)]
    Aborted,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::Aborted => "aborted",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Criterion {
    #[n(0)]
    pub name: String,
    #[n(1)]
    pub passed: bool,
    #[n(2)]
    pub detail: String,
}

/// Data lost by restoring: operations made after the restore point, and its age when the
/// disaster struck.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RpoMeasurement {
    #[n(0)]
    pub operations_lost: u64,
    #[n(1)]
    pub restore_point_age: DurationNs,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct DrillReport {
    #[n(0)]
    pub verdict: Verdict,
    /// From the disaster's injection to the verified recovery.
    #[n(1)]
    pub rto: Option<DurationNs>,
    #[n(2)]
    pub rpo: Option<RpoMeasurement>,
    #[n(3)]
    pub criteria: Vec<Criterion>,
    #[n(4)]
    pub finished_at: TimestampNs,
    #[n(5)]
    pub abort_reason: Option<String>,
    /// The target may be left stopped or unrecovered: a person must look.
    #[n(6)]
    pub needs_attention: bool,
}

pub(super) fn compute(d: &Drill, now: TimestampNs) -> DrillReport {
    let mut criteria = Vec::new();
    let mut add = |name: &str, passed: bool, detail: String| {
        criteria.push(Criterion {
            name: name.to_string(),
            passed,
            detail,
        })
    };
    let outcome_of = |action: Action, phase: Phase| {
        d.timeline
            .iter()
            .find(|e| e.action == action && e.phase == phase)
            .and_then(|e| e.outcome.as_ref())
    };

    let control = matches!(
        outcome_of(Action::VerifyControl, Phase::Preflight),
        Some(Outcome::Controllers { controllers }) if controllers.contains(&d.suite)
    );
    add(
        "control_verified",
        control,
        if control {
            "chaos_system is a controller of the target".into()
        } else {
            "chaos_system could not confirm it controls the target".into()
        },
    );
    add(
        "restore_point_taken",
        d.restore_point.is_some(),
        match &d.restore_point {
            Some((id, at)) => format!("snapshot {id} at {} ns", at.0),
            None => "no snapshot was taken".into(),
        },
    );

    let aborted = d.abort_reason().is_some();
    let rto = match (d.disaster_at, &d.restored) {
        (Some(disaster), Some((_, recovered))) => Some(recovered.since(disaster)),
        _ => None,
    };
    let rpo = match (
        &d.before_disaster,
        &d.restored,
        &d.restore_point,
        d.disaster_at,
    ) {
        (Some((before, _)), Some((after, _)), Some((_, snap_at)), Some(disaster)) => {
            Some(RpoMeasurement {
                operations_lost: before.operation_count.saturating_sub(after.operation_count),
                restore_point_age: disaster.since(*snap_at),
            })
        }
        _ => None,
    };

    if !aborted {
        let down = outcome_of(Action::ProbeExpectDown, Phase::Detect);
        let observed = matches!(down, Some(Outcome::Failed { .. }));
        add(
            "disaster_observed",
            observed,
            match down {
                Some(Outcome::Failed { failure }) => {
                    format!("probe rejected as expected: {}", failure.message)
                }
                _ => "the probe still answered after the disaster was injected".into(),
            },
        );
        let failed_recovery: Vec<String> = d
            .timeline
            .iter()
            .filter(|e| e.phase == Phase::Recover)
            .filter_map(|e| match &e.outcome {
                Some(Outcome::Failed { failure }) => {
                    Some(format!("{}: {}", e.action.name(), failure.message))
                }
                _ => None,
            })
            .collect();
        add(
            "recovery_steps_succeeded",
            failed_recovery.is_empty(),
            if failed_recovery.is_empty() {
                "stop, load snapshot and start succeeded".into()
            } else {
                failed_recovery.join("; ")
            },
        );
        add(
            "service_restored",
            d.restored.is_some(),
            match &d.restored {
                Some((p, _)) => format!("probe answered: {} operations", p.operation_count),
                None => "the probe did not answer after recovery".into(),
            },
        );
        let integrity = match (&d.baseline, &d.restored) {
            (Some(base), Some((after, _))) => {
                after.operation_count > base.operation_count
                    || (after.operation_count == base.operation_count
                        && after.state_hash == base.state_hash)
            }
            _ => false,
        };
        add(
            "restore_point_integrity",
            integrity,
            match (&d.baseline, &d.restored) {
                (Some(base), Some((after, _))) => format!(
                    "restored {} operations (restore point taken at {})",
                    after.operation_count, base.operation_count
                ),
                _ => "no restored state to compare".into(),
            },
        );
        let rto_ok = rto.is_some_and(|r| r <= d.objectives.rto);
        add(
            "rto_within_objective",
            rto_ok,
            match rto {
                Some(r) => format!("RTO {r} against objective {}", d.objectives.rto),
                None => "not measured: recovery was not verified".into(),
            },
        );
        let rpo_ok = rpo.as_ref().is_some_and(|m| {
            m.operations_lost <= d.objectives.rpo.max_operations_lost
                && m.restore_point_age <= d.objectives.rpo.max_age
        });
        add(
            "rpo_within_objective",
            rpo_ok,
            match &rpo {
                Some(m) => format!(
                    "{} operations lost (objective {}), restore point {} old (objective {})",
                    m.operations_lost,
                    d.objectives.rpo.max_operations_lost,
                    m.restore_point_age,
                    d.objectives.rpo.max_age
                ),
                None => "not measured".into(),
            },
        );
    }

    let verdict = if aborted {
        Verdict::Aborted
    } else if criteria.iter().all(|c| c.passed) {
        Verdict::Passed
    } else {
        Verdict::Failed
    };
    // A target that did not answer its baseline probe was down before the drill touched it.
    let down_before = matches!(
        outcome_of(Action::ProbeBaseline, Phase::Preflight),
        Some(Outcome::Failed { .. })
    );
    let needs_attention = d.owes_restart() || down_before || (!aborted && d.restored.is_none());
    DrillReport {
        verdict,
        rto,
        rpo,
        criteria,
        finished_at: now,
        abort_reason: d.abort_reason().map(str::to_string),
        needs_attention,
    }
}
