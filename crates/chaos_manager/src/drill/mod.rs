//! The disaster-recovery drill engine: a sans-IO state machine.
//!
//! A drill walks its scenario's plan one step at a time. Each step becomes an [`Effect`] for a
//! shell to perform; the shell reports an [`Outcome`]; the engine records it on the timeline,
//! picks the next step, and when the plan is done computes the [`DrillReport`]: timeline, RTO,
//! RPO, criteria and verdict against the target's objectives.

mod report;
mod scenario;

pub use report::{Criterion, DrillReport, RpoMeasurement, Verdict};
pub use scenario::{Action, Phase, ScenarioKind, Step};

use crate::effect::{Effect, Outcome, StateProbe, MAX_SNAPSHOTS_PER_CANISTER};
use crate::ids::{DrillId, DurationNs, SnapshotId, TimestampNs};
use crate::target::RpoObjective;
use ic_principal::Principal;
use minicbor::{Decode, Encode};

/// Longest hold between the restore point and the disaster.
pub const MAX_HOLD: DurationNs = DurationNs::from_secs(24 * 3600);

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct DrillOptions {
    /// Time between taking the restore point and injecting the disaster. Operations made by
    /// the target's users in this window are what the restore loses (the RPO).
    #[n(0)]
    pub hold: DurationNs,
}

/// What a drill is measured against, copied from the target when the drill starts so later
/// edits of the registry do not change a running drill's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Objectives {
    #[n(0)]
    pub rto: DurationNs,
    #[n(1)]
    pub rpo: RpoObjective,
    #[n(2)]
    pub probe_method: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    pub step: u16,
    pub phase: Phase,
    pub action: Action,
    pub effect: Effect,
    pub started_at: TimestampNs,
    pub finished_at: Option<TimestampNs>,
    pub outcome: Option<Outcome>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DrillStatus {
    Running,
    Finished(DrillReport),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drill {
    pub id: DrillId,
    pub target: Principal,
    /// The principal the suite acts as; it must be among the target's controllers.
    pub suite: Principal,
    pub scenario: ScenarioKind,
    pub options: DrillOptions,
    pub objectives: Objectives,
    pub requested_by: Principal,
    pub started_at: TimestampNs,
    pub status: DrillStatus,
    pub timeline: Vec<TimelineEntry>,
    /// Index into the plan of the next step to issue; `plan.len()` when the plan is walked.
    cursor: usize,
    /// Set when a step failed in a phase that aborts: the drill then only cleans up.
    abort_reason: Option<String>,
    /// True while the target is stopped by this drill (a restart is owed).
    stopped_by_drill: bool,
    cleanup_done: bool,
    plan: Vec<Step>,
    pub restore_point: Option<(SnapshotId, TimestampNs)>,
    pub baseline: Option<StateProbe>,
    pub before_disaster: Option<(StateProbe, TimestampNs)>,
    pub disaster_at: Option<TimestampNs>,
    pub restored: Option<(StateProbe, TimestampNs)>,
    rotate_snapshot: Option<SnapshotId>,
    /// Snapshots the target held at preflight.
    listed_snapshots: Option<Vec<SnapshotId>>,
    /// Why the disaster injection reported failure; the detect probe decides what that means.
    injection_failure: Option<String>,
}

/// The next thing a running drill needs: a step to issue, or nothing while a step is in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextStep {
    pub step: u16,
    pub phase: Phase,
    pub action: Action,
    pub effect: Effect,
}

impl Drill {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: DrillId,
        target: Principal,
        suite: Principal,
        scenario: ScenarioKind,
        options: DrillOptions,
        objectives: Objectives,
        requested_by: Principal,
        now: TimestampNs,
        rotate_snapshot: Option<SnapshotId>,
    ) -> Self {
        Drill {
            id,
            target,
            suite,
            scenario,
            options,
            objectives,
            requested_by,
            started_at: now,
            status: DrillStatus::Running,
            timeline: Vec::new(),
            cursor: 0,
            abort_reason: None,
            stopped_by_drill: false,
            cleanup_done: false,
            plan: scenario.plan(),
            restore_point: None,
            baseline: None,
            before_disaster: None,
            disaster_at: None,
            restored: None,
            rotate_snapshot,
            listed_snapshots: None,
            injection_failure: None,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.status, DrillStatus::Running)
    }

    pub fn report(&self) -> Option<&DrillReport> {
        match &self.status {
            DrillStatus::Finished(r) => Some(r),
            DrillStatus::Running => None,
        }
    }

    /// The step currently waiting for its outcome, if any.
    pub fn in_flight(&self) -> Option<&TimelineEntry> {
        self.timeline.last().filter(|e| e.outcome.is_none())
    }

    /// What to issue next: `None` while a step is in flight or when the drill has nothing left
    /// to do (then [`Drill::is_complete`] is true and the report can be computed).
    pub fn next_step(&self) -> Option<NextStep> {
        if !self.is_running() || self.in_flight().is_some() {
            return None;
        }
        let step = self.timeline.len() as u16;
        if self.abort_reason.is_some() {
            if self.stopped_by_drill && !self.cleanup_done {
                return Some(NextStep {
                    step,
                    phase: Phase::Cleanup,
                    action: Action::Start,
                    effect: Effect::StartCanister {
                        canister: self.target,
                    },
                });
            }
            return None;
        }
        let planned = self.plan.get(self.cursor)?;
        Some(NextStep {
            step,
            phase: planned.phase,
            action: planned.action,
            effect: self.effect_for(planned.action),
        })
    }

    /// True when no further step will be issued.
    pub fn is_complete(&self) -> bool {
        self.is_running() && self.in_flight().is_none() && self.next_step().is_none()
    }

    fn effect_for(&self, action: Action) -> Effect {
        let canister = self.target;
        match action {
            Action::VerifyControl => Effect::ReadControllers { canister },
            Action::ProbeBaseline
            | Action::ProbeBeforeDisaster
            | Action::ProbeExpectDown
            | Action::ProbeVerify => Effect::Probe {
                canister,
                method: self.objectives.probe_method.clone(),
            },
            Action::Stop => Effect::StopCanister { canister },
            Action::Start => Effect::StartCanister { canister },
            Action::ListSnapshots => Effect::ListSnapshots { canister },
            Action::TakeSnapshot => Effect::TakeSnapshot {
                canister,
                replace: self.rotation(),
            },
            Action::Wait => Effect::WaitUntil {
                until: self
                    .restore_point
                    .as_ref()
                    .map(|(_, at)| *at)
                    .unwrap_or(self.started_at)
                    .plus(self.options.hold),
            },
            Action::UninstallCode => Effect::UninstallCode { canister },
            Action::InstallBrokenModule => Effect::InstallBrokenModule { canister },
            Action::LoadRestorePoint => Effect::LoadSnapshot {
                canister,
                snapshot: self
                    .restore_point
                    .as_ref()
                    .map(|(id, _)| id.clone())
                    .unwrap_or(SnapshotId(Vec::new())),
            },
        }
    }

    /// The suite's previous snapshot of the target, to be replaced, if the target still holds it.
    fn rotation(&self) -> Option<SnapshotId> {
        let previous = self.rotate_snapshot.as_ref()?;
        self.listed_snapshots
            .as_ref()
            .filter(|listed| listed.contains(previous))
            .map(|_| previous.clone())
    }

    /// Records that `next` was issued at `now` (fold of `DrillStepStarted`).
    pub fn on_step_started(&mut self, step: u16, effect: Effect, now: TimestampNs) {
        let (phase, action) = match self.next_step() {
            Some(n) if n.step == step => (n.phase, n.action),
            // Replaying a log written by a different plan version: keep the record anyway.
            _ => (Phase::Cleanup, Action::Start),
        };
        if phase == Phase::Disaster
            && matches!(action, Action::UninstallCode | Action::InstallBrokenModule)
        {
            self.disaster_at = Some(now);
        }
        // A stop may act even when its reply is lost: from its issue on, a restart is owed.
        if action == Action::Stop {
            self.stopped_by_drill = true;
        }
        self.timeline.push(TimelineEntry {
            step,
            phase,
            action,
            effect,
            started_at: now,
            finished_at: None,
            outcome: None,
        });
    }

    /// Folds the outcome of the in-flight step (fold of `DrillStepCompleted`).
    pub fn on_step_completed(&mut self, step: u16, outcome: Outcome, now: TimestampNs) {
        let Some(entry) = self.timeline.last_mut() else {
            return;
        };
        if entry.step != step || entry.outcome.is_some() {
            return;
        }
        entry.finished_at = Some(now);
        entry.outcome = Some(outcome.clone());
        let (phase, action) = (entry.phase, entry.action);

        if phase == Phase::Cleanup {
            self.cleanup_done = true;
            if !outcome.is_failure() {
                self.stopped_by_drill = false;
            }
            return;
        }
        let failure = self.step_failure(action, &outcome);
        self.record_observation(action, &outcome, now);
        self.cursor += 1;
        match failure {
            Some(reason) if is_injection(action) => self.injection_failure = Some(reason),
            Some(reason) if phase.aborts_on_failure() => {
                self.abort_reason = Some(format!(
                    "{} failed in phase {}: {reason}",
                    action.name(),
                    phase.name()
                ));
            }
            _ => {}
        }
        if action == Action::ProbeExpectDown && !outcome.is_failure() {
            if let Some(reason) = &self.injection_failure {
                self.abort_reason = Some(format!(
                    "the disaster could not be injected ({reason}) and the target still answers: nothing was destroyed"
                ));
            }
        }
    }

    /// Why this outcome counts as a failed step, if it does.
    fn step_failure(&self, action: Action, outcome: &Outcome) -> Option<String> {
        match (action, outcome) {
            // A probe that fails after the disaster is the expected observation.
            (Action::ProbeExpectDown, _) => None,
            (_, Outcome::Failed { failure }) => {
                Some(format!("{:?}: {}", failure.code, failure.message))
            }
            (Action::VerifyControl, Outcome::Controllers { controllers }) => {
                if controllers.contains(&self.suite) {
                    None
                } else {
                    Some(format!(
                        "chaos_system ({}) is not a controller of {}; add it with `dfx canister update-settings --add-controller {} {}`",
                        self.suite, self.target, self.suite, self.target
                    ))
                }
            }
            (Action::TakeSnapshot, Outcome::SnapshotTaken { .. }) => None,
            (Action::ListSnapshots, Outcome::Snapshots { snapshots }) => {
                if snapshots.len() >= MAX_SNAPSHOTS_PER_CANISTER && self.rotation().is_none() {
                    Some(format!(
                        "{} holds {} snapshots (the most the IC keeps) and none is chaos_system's to replace; delete one with `dfx canister snapshot delete`",
                        self.target,
                        snapshots.len()
                    ))
                } else {
                    None
                }
            }
            (
                Action::ProbeBaseline | Action::ProbeBeforeDisaster | Action::ProbeVerify,
                Outcome::Probed { .. },
            ) => None,
            (
                Action::Stop
                | Action::Start
                | Action::Wait
                | Action::UninstallCode
                | Action::InstallBrokenModule
                | Action::LoadRestorePoint,
                Outcome::Done,
            ) => None,
            (_, other) => Some(format!("unexpected outcome {other:?}")),
        }
    }

    fn record_observation(&mut self, action: Action, outcome: &Outcome, now: TimestampNs) {
        match (action, outcome) {
            (Action::Start, Outcome::Done) => self.stopped_by_drill = false,
            (Action::ListSnapshots, Outcome::Snapshots { snapshots }) => {
                self.listed_snapshots = Some(snapshots.iter().map(|s| s.id.clone()).collect())
            }
            (Action::TakeSnapshot, Outcome::SnapshotTaken { id, taken_at }) => {
                self.restore_point = Some((id.clone(), *taken_at))
            }
            (Action::ProbeBaseline, Outcome::Probed { probe }) => {
                self.baseline = Some(probe.clone())
            }
            (Action::ProbeBeforeDisaster, Outcome::Probed { probe }) => {
                self.before_disaster = Some((probe.clone(), now))
            }
            (Action::ProbeVerify, Outcome::Probed { probe }) => {
                self.restored = Some((probe.clone(), now))
            }
            _ => {}
        }
    }

    /// The report of a complete drill. Call only when [`Drill::is_complete`].
    pub fn compute_report(&self, now: TimestampNs) -> DrillReport {
        report::compute(self, now)
    }

    pub(crate) fn abort_reason(&self) -> Option<&str> {
        self.abort_reason.as_deref()
    }

    pub(crate) fn owes_restart(&self) -> bool {
        self.stopped_by_drill
    }
}

fn is_injection(action: Action) -> bool {
    matches!(action, Action::UninstallCode | Action::InstallBrokenModule)
}
