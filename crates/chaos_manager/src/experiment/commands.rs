//! Lab commands: each checks the caller and the state and returns the changes to record (in
//! order, as one batch). Nothing here mutates state; recording applies the changes.
//!
//! Authorization: the shell resolves the caller's role with `auth::authorize` (or passes
//! `None` for a principal without one, e.g. a council agent) and every command checks the role
//! it needs: operators run experiments and may press the emergency stop, only admins resume,
//! set limits and manage agents; positions are taken by council agents.

use super::batch::Batch;
use super::lab::{ExperimentChange, Lab, LabChange};
use super::run::{Experiment, Stage, Status};
use super::spec::ExperimentSpec;
use super::{AbortReason, Cause, ExperimentId, LabError};
use crate::auth::Role;
use crate::council::{self, Agent, CouncilChange, MotionId, Subject, Vote};
use crate::fault::{Action, Fleet, Observation};
use crate::ids::{DurationNs, TimestampNs};
use crate::safety::{schedule, SafetyChange, SafetyLimits, ScheduleId, ScheduleRun};
use ic_principal::Principal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    /// The role `auth::authorize` found, `None` for a principal without one.
    pub role: Option<Role>,
}

fn require(caller: &Caller, required: Role) -> Result<(), LabError> {
    match caller.role {
        Some(r) if r >= required => Ok(()),
        _ => Err(LabError::NotAuthorized {
            caller: caller.principal,
            required,
        }),
    }
}

fn ex(c: ExperimentChange) -> LabChange {
    LabChange::Experiment(c)
}

fn get(lab: &Lab, id: ExperimentId) -> Result<&Experiment, LabError> {
    lab.experiments
        .get(&id)
        .ok_or(LabError::ExperimentNotFound { id })
}

fn wrong_state(e: &Experiment, action: &'static str) -> LabError {
    LabError::WrongState {
        id: e.id,
        state: e.status(),
        action,
    }
}

pub fn set_limits(
    lab: &Lab,
    caller: &Caller,
    limits: SafetyLimits,
) -> Result<Vec<LabChange>, LabError> {
    require(caller, Role::Admin)?;
    let _ = lab;
    limits
        .validate()
        .map_err(|(field, reason)| LabError::InvalidLimits { field, reason })?;
    Ok(vec![LabChange::Safety(SafetyChange::LimitsSet {
        limits: Box::new(limits),
    })])
}

pub fn register_agent(
    lab: &Lab,
    caller: &Caller,
    agent: Agent,
) -> Result<Vec<LabChange>, LabError> {
    require(caller, Role::Admin)?;
    Ok(council::register_agent(&lab.council, agent)?
        .into_iter()
        .map(LabChange::Council)
        .collect())
}

pub fn remove_agent(
    lab: &Lab,
    caller: &Caller,
    principal: Principal,
) -> Result<Vec<LabChange>, LabError> {
    require(caller, Role::Admin)?;
    if !lab.council.agents.contains_key(&principal) {
        return Err(LabError::Council(council::CouncilError::NotAnAgent {
            caller: principal,
        }));
    }
    Ok(vec![LabChange::Council(CouncilChange::AgentRemoved {
        principal,
    })])
}

/// Least privilege for probes: chaos_probe calls only registered targets and their declared
/// dependents, never an arbitrary canister on an operator's say-so; and a protected target
/// only through the read methods its registration declares (its probe method, its invariant
/// method), since a probe is a call that could act.
fn check_probes(spec: &ExperimentSpec, fleet: &dyn Fleet) -> Result<(), LabError> {
    let invalid = |field: &str, reason: String| LabError::InvalidSpec {
        field: field.into(),
        reason,
    };
    for p in &spec.hypothesis.probes {
        if !fleet.knows(&p.canister) {
            return Err(invalid("hypothesis.probes.canister", format!(
                "probe `{}` calls {}, which is neither a registered target nor a declared dependent of one; register it (or declare it in a target's fault_profile.dependents)",
                p.name, p.canister
            )));
        }
        let Some(t) = fleet.target(&p.canister).filter(|t| t.protected) else {
            continue;
        };
        let declared = p.method == t.probe_method
            || t.profile.invariant_method.as_deref() == Some(p.method.as_str());
        if !declared {
            return Err(invalid("hypothesis.probes.method", format!(
                "probe `{}` calls {}.{}, but {} is protected: probe it only through its declared probe method `{}`{}",
                p.name,
                p.canister,
                p.method,
                t.name,
                t.probe_method,
                t.profile
                    .invariant_method
                    .as_ref()
                    .map_or(String::new(), |m| format!(" or invariant method `{m}`"))
            )));
        }
    }
    Ok(())
}

/// A draft. Validates the spec and the fault against the registry (admission comes at submit).
pub fn create_experiment(
    lab: &Lab,
    fleet: &dyn Fleet,
    caller: &Caller,
    spec: ExperimentSpec,
    seed: u64,
) -> Result<Vec<LabChange>, LabError> {
    require(caller, Role::Operator)?;
    spec.validate()?;
    spec.fault.validate(fleet)?;
    check_probes(&spec, fleet)?;
    Ok(vec![ex(ExperimentChange::Created {
        id: ExperimentId(lab.next_experiment),
        spec: Box::new(spec),
        seed,
        origin: Cause::Operator(caller.principal),
        by: caller.principal,
    })])
}

/// Submits a draft: refused by the safety limits, or started, or put to the council.
pub fn submit_experiment(
    lab: &Lab,
    fleet: &dyn Fleet,
    caller: &Caller,
    id: ExperimentId,
    now: TimestampNs,
) -> Result<Vec<LabChange>, LabError> {
    require(caller, Role::Operator)?;
    let e = get(lab, id)?;
    if e.stage != Stage::Draft {
        return Err(wrong_state(e, "be submitted (only drafts can)"));
    }
    let mut batch = Batch::new(lab, fleet, now);
    batch.submit(id, &e.spec, caller.principal)?;
    Ok(batch.changes)
}

/// A council agent takes a position; a decision starts or cancels the experiment.
pub fn cast_position(
    lab: &Lab,
    fleet: &dyn Fleet,
    caller: Principal,
    motion: MotionId,
    vote: Vote,
    reason: String,
    now: TimestampNs,
) -> Result<Vec<LabChange>, LabError> {
    let changes = council::cast(&lab.council, caller, motion, vote, reason, now)?;
    let mut batch = Batch::new(lab, fleet, now);
    batch.react(changes);
    Ok(batch.changes)
}

/// Withdraws a draft or a pending experiment, or aborts an active one (it rolls back).
pub fn abort_experiment(
    lab: &Lab,
    caller: &Caller,
    id: ExperimentId,
    note: String,
) -> Result<Vec<LabChange>, LabError> {
    require(caller, Role::Operator)?;
    let e = get(lab, id)?;
    match e.status() {
        Status::Draft | Status::PendingApproval => {
            Ok(withdraw(lab, e, note, Cause::Operator(caller.principal)))
        }
        Status::Running | Status::RollingBack if e.abort.is_none() => {
            Ok(vec![ex(ExperimentChange::AbortRequested {
                id,
                reason: AbortReason::Operator {
                    by: caller.principal,
                    note,
                },
            })])
        }
        _ => Err(wrong_state(e, "be aborted")),
    }
}

fn withdraw(lab: &Lab, e: &Experiment, reason: String, cause: Cause) -> Vec<LabChange> {
    let mut out = vec![ex(ExperimentChange::Cancelled {
        id: e.id,
        reason: reason.clone(),
        cause,
    })];
    if let Some(m) = lab.council.motion_for(Subject::Experiment(e.id)) {
        out.extend(council::cancel(m, reason).map(LabChange::Council));
    }
    out
}

/// Emergency stop: every active experiment is aborted (and rolls back), every pending one is
/// withdrawn, and new experiments are refused until an admin resumes.
pub fn emergency_stop(
    lab: &Lab,
    caller: &Caller,
    reason: String,
) -> Result<Vec<LabChange>, LabError> {
    require(caller, Role::Operator)?;
    let by = caller.principal;
    let mut out = vec![LabChange::Safety(SafetyChange::Halted {
        by,
        reason: reason.clone(),
    })];
    for e in lab.experiments.values() {
        match e.status() {
            Status::Running | Status::RollingBack if e.abort.is_none() => {
                out.push(ex(ExperimentChange::AbortRequested {
                    id: e.id,
                    reason: AbortReason::EmergencyStop {
                        by,
                        note: reason.clone(),
                    },
                }))
            }
            Status::PendingApproval => out.extend(withdraw(
                lab,
                e,
                format!("emergency stop: {reason}"),
                Cause::EmergencyStop(by),
            )),
            _ => {}
        }
    }
    Ok(out)
}

pub fn resume(lab: &Lab, caller: &Caller) -> Result<Vec<LabChange>, LabError> {
    require(caller, Role::Admin)?;
    if lab.safety.halt.is_none() {
        return Err(LabError::NotHalted);
    }
    Ok(vec![LabChange::Safety(SafetyChange::Resumed {
        by: caller.principal,
    })])
}

pub fn schedule_experiment(
    lab: &Lab,
    fleet: &dyn Fleet,
    caller: &Caller,
    spec: ExperimentSpec,
    first_at: TimestampNs,
    interval: Option<DurationNs>,
    now: TimestampNs,
) -> Result<Vec<LabChange>, LabError> {
    require(caller, Role::Operator)?;
    spec.validate()?;
    spec.fault.validate(fleet)?;
    check_probes(&spec, fleet)?;
    let invalid = |field: &str, reason: String| LabError::InvalidSpec {
        field: field.into(),
        reason,
    };
    if first_at < now {
        return Err(invalid("first_at_ns", "is in the past".into()));
    }
    if interval.is_some_and(|i| i < schedule::MIN_SCHEDULE_INTERVAL) {
        return Err(invalid(
            "interval_ns",
            format!("at least {}", schedule::MIN_SCHEDULE_INTERVAL),
        ));
    }
    let live = lab
        .safety
        .schedules
        .values()
        .filter(|s| s.next_at.is_some())
        .count();
    if live >= schedule::MAX_SCHEDULES {
        return Err(invalid(
            "schedule",
            format!(
                "at most {} live schedules; cancel one",
                schedule::MAX_SCHEDULES
            ),
        ));
    }
    Ok(vec![LabChange::Safety(SafetyChange::ScheduleCreated {
        id: ScheduleId(lab.safety.next_schedule),
        spec: Box::new(spec),
        first_at,
        interval,
        by: caller.principal,
    })])
}

pub fn cancel_schedule(
    lab: &Lab,
    caller: &Caller,
    id: ScheduleId,
) -> Result<Vec<LabChange>, LabError> {
    require(caller, Role::Operator)?;
    match lab.safety.schedules.get(&id) {
        Some(s) if s.next_at.is_some() => {
            Ok(vec![LabChange::Safety(SafetyChange::ScheduleCancelled {
                id,
                by: caller.principal,
            })])
        }
        _ => Err(LabError::ScheduleNotFound { id }),
    }
}

/// The timer-driven work at `now`: close motions past their deadline (absent agents abstain),
/// roll back runs past their max duration, fire due schedules. `seed` comes from `raw_rand`.
pub fn tick(lab: &Lab, fleet: &dyn Fleet, now: TimestampNs, seed: u64) -> Vec<LabChange> {
    let mut batch = Batch::new(lab, fleet, now);
    batch.react(council::expire(&lab.council, now));
    for e in lab.active().filter(|e| e.overdue(now)) {
        batch.changes.push(ex(ExperimentChange::AbortRequested {
            id: e.id,
            reason: AbortReason::MaxDuration,
        }));
    }
    let mut next_id = lab.next_experiment;
    for s in lab.safety.due_schedules(now) {
        let mark = (batch.changes.len(), batch.active.len(), batch.next_motion);
        let id = ExperimentId(next_id);
        let result = match &lab.safety.halt {
            Some(h) => Err(crate::safety::SafetyRefusal::Halted(h.clone()).to_string()),
            None => {
                batch.changes.push(ex(ExperimentChange::Created {
                    id,
                    spec: Box::new(s.spec.clone()),
                    seed: seed ^ s.id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    origin: Cause::Schedule(s.id),
                    by: s.created_by,
                }));
                batch
                    .submit(id, &s.spec, s.created_by)
                    .map(|_| id)
                    .map_err(|e| e.to_string())
            }
        };
        if result.is_ok() {
            next_id += 1;
        } else {
            batch.changes.truncate(mark.0);
            batch.active.truncate(mark.1);
            batch.next_motion = mark.2;
        }
        batch
            .changes
            .push(LabChange::Safety(SafetyChange::ScheduleFired {
                id: s.id,
                run: ScheduleRun { at: now, result },
            }));
    }
    batch.changes
}

/// The next step of an active experiment, journaled (the returned change recorded) before the
/// shell performs the action. `None` when a step is in flight or nothing is left to issue.
pub fn issue_next_step(
    lab: &Lab,
    id: ExperimentId,
    now: TimestampNs,
) -> Option<(LabChange, Action)> {
    let e = lab.experiments.get(&id)?;
    let config = e.limits.as_ref()?.breaker;
    let breaker = |c: &Principal| {
        lab.safety
            .breakers
            .get(c)
            .copied()
            .unwrap_or_default()
            .phase(&config, now)
    };
    let next = e.next_step(now, &breaker)?;
    Some((
        ex(ExperimentChange::StepStarted {
            id,
            step: next.step,
            action: next.action.clone(),
            kind: next.kind,
            cause: next.cause,
        }),
        next.action,
    ))
}

/// Records the observation of the in-flight step; then, if needed, the abort it triggers and
/// the report when the experiment is complete.
pub fn complete_step(
    lab: &Lab,
    id: ExperimentId,
    step: u32,
    observation: Observation,
    now: TimestampNs,
) -> Result<Vec<LabChange>, LabError> {
    let e = get(lab, id)?;
    let in_flight = e.in_flight();
    if in_flight.map(|s| s.step) != Some(step) {
        return Err(LabError::StepMismatch {
            id,
            expected: in_flight.map(|s| s.step),
            got: step,
        });
    }
    let action = in_flight.map(|s| s.action.clone()).expect("checked above");
    let mut after = e.clone();
    after.on_step_completed(step, observation.clone(), now);
    let success = !observation.is_failure();
    let mut out = vec![ex(ExperimentChange::StepCompleted {
        id,
        step,
        observation,
    })];
    if let (true, Some(canister)) = (action.is_control(), action.canister()) {
        out.push(LabChange::Safety(SafetyChange::BreakerObserved {
            canister,
            success,
        }));
    }
    if let Some(reason) = after.pending_abort() {
        out.push(ex(ExperimentChange::AbortRequested {
            id,
            reason: reason.clone(),
        }));
        after.on_abort(reason, now);
    }
    if after.is_complete() {
        out.push(ex(ExperimentChange::Finished {
            id,
            report: Box::new(after.compute_report(now)),
        }));
    }
    Ok(out)
}
