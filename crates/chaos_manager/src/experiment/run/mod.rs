//! One experiment as a sans-IO state machine (the `drill` engine's style): the next step is
//! computed from state, journaled as `StepStarted` before the shell performs it, and its
//! observation folded from `StepCompleted`. The fold never decides to abort by itself: the
//! decide functions read [`Experiment::pending_abort`] and record an explicit `AbortRequested`.
//!
//! Phases: preflight (read every acted-on target's status — the originals a rollback restores —
//! and check the steady state before) → inject (the fault's steps) → observe (a tick every
//! probe interval: wait, steady-state probes, watches, status reads) → rollback (what is owed,
//! by strategy; always after an abort; retried with backoff and paced by circuit breakers) →
//! verify (the steady state after, and every acted-on target's status against its original;
//! a failed status read is retried with the same backoff, so one lost reply does not flag a
//! restored target).

mod fold;

use super::report::{self, ExperimentReport};
use super::spec::ExperimentSpec;
use super::{AbortReason, Cause, ExperimentId};
use crate::fault::{
    resolve, Action, FaultFindings, FaultStep, Observation, Owed, ResolveContext, RunPlan,
    TargetStatus,
};
use crate::ids::{DurationNs, SnapshotId, TimestampNs};
use crate::safety::{BreakerPhase, Monitor, RunLimits};
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::collections::BTreeMap;

/// How long hook plans outlive the experiment's deadline before clearing themselves.
pub const PLAN_GRACE: DurationNs = DurationNs::from_secs(600);

/// How long a skipped rollback waits past the plans' expiry before verifying: the target's
/// subnet clock, which the hooks read, may lag chaos_system's by a few seconds.
pub const LAPSE_MARGIN: DurationNs = DurationNs::from_secs(60);

/// The fold rules new runs are recorded under. A run replays by the rules it started with:
/// - 0: the first release;
/// - 1: restore points are deleted after they are loaded back, a skipped rollback waits for
///   its plans to lapse, and verify retries a failed status read (and flags it when given up).
pub const FOLD_VERSION: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
#[cbor(index_only)]
pub enum Phase {
    #[n(0)]
    Preflight,
    #[n(1)]
    Inject,
    #[n(2)]
    Observe,
    #[n(3)]
    Rollback,
    #[n(4)]
    Verify,
}

/// A planned step, or a wait inserted before a rollback retry (backoff, open breaker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum StepKind {
    #[n(0)]
    Planned,
    #[n(1)]
    Backoff,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    Draft,
    PendingApproval,
    Active,
    Finished(Box<ExperimentReport>),
    /// Ended before it started (rejected, refused at start, withdrawn, emergency stop).
    Cancelled {
        reason: String,
        cause: Cause,
        at: TimestampNs,
    },
}

/// The lifecycle state the API shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Draft,
    PendingApproval,
    Running,
    RollingBack,
    Completed,
    Aborted,
    /// A rollback failed or a target was not restored: a person must look.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Planned {
    Status(Principal),
    Probe(usize),
    Watch(usize),
    Fault(FaultStep),
    Wait(TimestampNs),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRecord {
    pub step: u32,
    pub phase: Phase,
    pub action: Action,
    pub kind: StepKind,
    pub cause: Cause,
    pub started_at: TimestampNs,
    pub finished_at: Option<TimestampNs>,
    pub observation: Option<Observation>,
}

/// One steady-state check.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CheckRecord {
    #[n(0)]
    pub probe: String,
    #[n(1)]
    pub phase: Phase,
    #[n(2)]
    pub at: TimestampNs,
    #[n(3)]
    pub within: bool,
    #[n(4)]
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextStep {
    pub step: u32,
    pub phase: Phase,
    pub action: Action,
    pub kind: StepKind,
    pub cause: Cause,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Experiment {
    pub id: ExperimentId,
    pub spec: ExperimentSpec,
    pub requested_by: Principal,
    /// Who set it going: an operator or a schedule.
    pub origin: Cause,
    pub created_at: TimestampNs,
    pub seed: u64,
    pub stage: Stage,
    pub plan: Option<RunPlan>,
    pub limits: Option<RunLimits>,
    pub started_at: Option<TimestampNs>,
    pub phase: Phase,
    pub steps: Vec<StepRecord>,
    pub owed: Owed,
    pub originals: BTreeMap<Principal, TargetStatus>,
    pub final_status: BTreeMap<Principal, TargetStatus>,
    pub snapshots: BTreeMap<Principal, SnapshotId>,
    pub injected_at: Option<TimestampNs>,
    pub checks: Vec<CheckRecord>,
    pub findings: FaultFindings,
    pub monitor: Monitor,
    pub abort: Option<AbortReason>,
    pub rollback_failures: Vec<String>,
    pub rolled_back: bool,
    /// The fold rules of this run ([`FOLD_VERSION`] when it started).
    pub fold: u8,
    queue: Vec<Planned>,
    cursor: usize,
    tick_at: Option<TimestampNs>,
    /// Failed attempts of the rollback step at the cursor, and when it may be retried.
    retry: Option<(u32, TimestampNs)>,
    /// Why the run cannot go on (a failed step, an unmet steady state): the decide layer
    /// records the abort.
    blocked: Option<AbortReason>,
}

impl Experiment {
    pub fn new(
        id: ExperimentId,
        spec: ExperimentSpec,
        seed: u64,
        origin: Cause,
        by: Principal,
        at: TimestampNs,
    ) -> Self {
        Experiment {
            id,
            spec,
            requested_by: by,
            origin,
            created_at: at,
            seed,
            stage: Stage::Draft,
            plan: None,
            limits: None,
            started_at: None,
            phase: Phase::Preflight,
            steps: Vec::new(),
            owed: Owed::default(),
            originals: BTreeMap::new(),
            final_status: BTreeMap::new(),
            snapshots: BTreeMap::new(),
            injected_at: None,
            checks: Vec::new(),
            findings: FaultFindings::default(),
            monitor: Monitor::default(),
            abort: None,
            rollback_failures: Vec::new(),
            rolled_back: false,
            fold: FOLD_VERSION,
            queue: Vec::new(),
            cursor: 0,
            tick_at: None,
            retry: None,
            blocked: None,
        }
    }

    pub fn status(&self) -> Status {
        match &self.stage {
            Stage::Draft => Status::Draft,
            Stage::PendingApproval => Status::PendingApproval,
            Stage::Active if self.phase >= Phase::Rollback => Status::RollingBack,
            Stage::Active => Status::Running,
            Stage::Finished(r) => match r.verdict {
                report::Verdict::Completed => Status::Completed,
                report::Verdict::Aborted => Status::Aborted,
                report::Verdict::Failed => Status::Failed,
            },
            Stage::Cancelled { .. } => Status::Aborted,
        }
    }

    pub fn is_active(&self) -> bool {
        self.stage == Stage::Active
    }

    pub fn report(&self) -> Option<&ExperimentReport> {
        match &self.stage {
            Stage::Finished(r) => Some(r),
            _ => None,
        }
    }

    /// The hard deadline: started + max duration. Reaching it rolls the run back.
    pub fn deadline(&self) -> Option<TimestampNs> {
        Some(self.started_at?.plus(self.limits.as_ref()?.max_duration))
    }

    /// Active, not yet rolling back, and past its hard deadline.
    pub fn overdue(&self, now: TimestampNs) -> bool {
        self.is_active()
            && self.phase < Phase::Rollback
            && self.abort.is_none()
            && self.deadline().is_some_and(|d| now >= d)
    }

    pub fn in_flight(&self) -> Option<&StepRecord> {
        self.steps.last().filter(|s| s.observation.is_none())
    }

    /// True when no further step will be issued: the report can be computed.
    pub fn is_complete(&self) -> bool {
        self.is_active()
            && self.phase == Phase::Verify
            && self.in_flight().is_none()
            && self.cursor >= self.queue.len()
    }

    fn cause(&self) -> Cause {
        self.abort.as_ref().map_or(self.origin, AbortReason::cause)
    }

    fn resolve_ctx(&self) -> ResolveContext<'_> {
        ResolveContext {
            plan_id: self.id.0,
            seed: self.seed,
            plan_expires_at: self.deadline().unwrap_or_default().plus(PLAN_GRACE),
            originals: &self.originals,
            snapshots: &self.snapshots,
        }
    }

    fn action_for(&self, planned: &Planned) -> Result<Action, String> {
        Ok(match planned {
            Planned::Status(c) => Action::ReadStatus { canister: *c },
            Planned::Probe(i) => {
                let p = &self.spec.hypothesis.probes[*i];
                Action::ProbeVia {
                    target: p.canister,
                    method: p.method.clone(),
                }
            }
            Planned::Watch(i) => {
                let w = &self.plan.as_ref().expect("active runs have a plan").watches[*i];
                Action::ProbeVia {
                    target: w.canister,
                    method: w.method.clone(),
                }
            }
            Planned::Fault(step) => resolve(step, &self.resolve_ctx())?,
            Planned::Wait(until) => Action::WaitUntil { until: *until },
        })
    }

    /// What to issue next; `None` while a step is in flight, when blocked, or when complete.
    /// `breaker` tells whether a target's circuit breaker lets a control call through now.
    pub fn next_step(
        &self,
        now: TimestampNs,
        breaker: &dyn Fn(&Principal) -> BreakerPhase,
    ) -> Option<NextStep> {
        if !self.is_active() || self.in_flight().is_some() {
            return None;
        }
        if self.blocked.is_some() && self.abort.is_none() {
            return None;
        }
        let planned = self.queue.get(self.cursor)?;
        let action = self.action_for(planned).ok()?;
        let step = self.steps.len() as u32;
        let wait = |until| NextStep {
            step,
            phase: self.phase,
            action: Action::WaitUntil { until },
            kind: StepKind::Backoff,
            cause: self.cause(),
        };
        if self.phase >= Phase::Rollback {
            if let Some((_, not_before)) = self.retry.filter(|(_, t)| *t > now) {
                return Some(wait(not_before));
            }
        }
        // Breakers pace rollback calls; a verify read is only retried by the backoff.
        if self.phase == Phase::Rollback {
            if let (true, Some(c)) = (action.is_control(), action.canister()) {
                if let BreakerPhase::Open { until } = breaker(&c) {
                    return Some(wait(until));
                }
            }
        }
        Some(NextStep {
            step,
            phase: self.phase,
            action,
            kind: StepKind::Planned,
            cause: self.cause(),
        })
    }

    /// Why the run must be aborted now, if it must: a blocked step, an unsafe next step, or an
    /// emergency stop condition.
    pub fn pending_abort(&self) -> Option<AbortReason> {
        if !self.is_active() || self.abort.is_some() || self.phase >= Phase::Rollback {
            return None;
        }
        if let Some(b) = &self.blocked {
            return Some(b.clone());
        }
        if let Some(reason) = self
            .limits
            .as_ref()
            .and_then(|l| l.stop.check(&self.monitor))
        {
            return Some(AbortReason::StopCondition(reason));
        }
        if self.in_flight().is_none() {
            if let Some(Err(detail)) = self.queue.get(self.cursor).map(|p| self.action_for(p)) {
                return Some(AbortReason::Unsafe { detail });
            }
        }
        None
    }

    pub fn compute_report(&self, now: TimestampNs) -> ExperimentReport {
        report::compute(self, now)
    }
}

fn step_name(step: &FaultStep) -> &'static str {
    match step {
        FaultStep::ApplySettings { .. } => "update_settings",
        FaultStep::Stop { .. } => "stop_canister",
        FaultStep::Start { .. } => "start_canister",
        FaultStep::Snapshot { .. } => "take_canister_snapshot",
        FaultStep::SetPlan { .. } => "set_fault_plan",
        FaultStep::ProbeAccess { .. } => "access_probe",
        FaultStep::ClearPlan { .. } => "clear_faults",
        FaultStep::RestoreSettings { .. } => "restore_settings",
        FaultStep::LoadRestorePoint { .. } => "load_canister_snapshot",
        FaultStep::DeleteRestorePoint { .. } => "delete_canister_snapshot",
    }
}
