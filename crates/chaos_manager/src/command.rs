//! Commands: each checks the caller and the state, and returns the events to record. Nothing
//! here mutates state; the shell records the events, and recording applies them.

use crate::auth::{authorize, Role};
use crate::drill::{DrillOptions, Objectives, ScenarioKind, MAX_HOLD};
use crate::effect::{Effect, Outcome};
use crate::error::CoreError;
use crate::events::Event;
use crate::ids::{DrillId, TimestampNs};
use crate::state::State;
use crate::target::{ControlEvidence, Target, MAX_TARGETS};
use ic_principal::Principal;

pub fn grant_role(
    state: &State,
    caller: &Principal,
    principal: Principal,
    role: Role,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Admin)?;
    if principal == Principal::anonymous() {
        return Err(CoreError::InvalidArgument {
            field: "principal".into(),
            reason: "the anonymous principal cannot hold a role".into(),
        });
    }
    if state.role_of(&principal) == Some(Role::Admin)
        && role != Role::Admin
        && state.admins().count() == 1
    {
        return Err(CoreError::LastAdmin);
    }
    let mut events = vec![Event::RoleGranted { principal, role }];
    if role < Role::Operator {
        events.extend(cancel_schedules_of(state, *caller, principal));
    }
    Ok(events)
}

/// A principal who no longer holds Operator cannot keep experiments running on their
/// authority: their live schedules are cancelled with the role change (recorded as cancelled
/// by the admin who changed it).
fn cancel_schedules_of(state: &State, admin: Principal, principal: Principal) -> Vec<Event> {
    state
        .lab
        .safety
        .schedules
        .values()
        .filter(|s| s.created_by == principal && s.next_at.is_some())
        .map(|s| {
            Event::lab(crate::experiment::LabChange::Safety(
                crate::safety::SafetyChange::ScheduleCancelled {
                    id: s.id,
                    by: admin,
                },
            ))
        })
        .collect()
}

/// Names (or unsets) the chaos_probe canister: it must not be the suite itself, the management
/// canister or the anonymous principal. Admin.
pub fn set_chaos_probe(
    state: &State,
    caller: &Principal,
    probe: Option<Principal>,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Admin)?;
    if let Some(p) = probe {
        if p == Principal::anonymous()
            || p == Principal::management_canister()
            || Some(p) == state.suite
        {
            return Err(CoreError::InvalidArgument {
                field: "chaos_probe".into(),
                reason: "must be the chaos_probe canister's id (not anonymous, aaaaa-aa or chaos_system itself)".into(),
            });
        }
    }
    Ok(vec![Event::ChaosProbeSet { probe }])
}

pub fn revoke_role(
    state: &State,
    caller: &Principal,
    principal: Principal,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Admin)?;
    match state.role_of(&principal) {
        None => Err(CoreError::InvalidArgument {
            field: "principal".into(),
            reason: "holds no role".into(),
        }),
        Some(Role::Admin) if state.admins().count() == 1 => Err(CoreError::LastAdmin),
        Some(_) => {
            let mut events = vec![Event::RoleRevoked { principal }];
            events.extend(cancel_schedules_of(state, *caller, principal));
            Ok(events)
        }
    }
}

/// Checks the caller and the target before the shell spends a call on `canister_status`.
pub fn precheck_register(
    state: &State,
    caller: &Principal,
    target: &Target,
) -> Result<(), CoreError> {
    authorize(state, caller, Role::Admin)?;
    target.validate()?;
    if state.targets.contains_key(&target.canister_id) {
        return Err(CoreError::TargetAlreadyRegistered {
            canister: target.canister_id,
        });
    }
    if state.targets.len() >= MAX_TARGETS {
        return Err(CoreError::TooManyTargets { max: MAX_TARGETS });
    }
    Ok(())
}

/// Registers a target once the shell has read its controllers: the suite must be one of them.
pub fn register_target(
    state: &State,
    caller: &Principal,
    target: Target,
    evidence: ControlEvidence,
) -> Result<Vec<Event>, CoreError> {
    precheck_register(state, caller, &target)?;
    let suite = state.suite.ok_or(CoreError::NotInitialized)?;
    match evidence {
        ControlEvidence::StatusUnavailable(reason) => Err(CoreError::ControlUnverifiable {
            canister: target.canister_id,
            reason,
        }),
        ControlEvidence::Controllers(c) if !c.contains(&suite) => Err(CoreError::NotController {
            canister: target.canister_id,
            suite,
        }),
        ControlEvidence::Controllers(_) => Ok(vec![Event::TargetRegistered { target }]),
    }
}

pub fn update_target(
    state: &State,
    caller: &Principal,
    target: Target,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Admin)?;
    target.validate()?;
    if !state.targets.contains_key(&target.canister_id) {
        return Err(CoreError::TargetNotFound {
            canister: target.canister_id,
        });
    }
    Ok(vec![Event::TargetUpdated { target }])
}

pub fn remove_target(
    state: &State,
    caller: &Principal,
    canister: Principal,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Admin)?;
    if !state.targets.contains_key(&canister) {
        return Err(CoreError::TargetNotFound { canister });
    }
    if let Some(drill) = state.running_drill_on(&canister) {
        return Err(CoreError::DrillInProgress { canister, drill });
    }
    if let Some(experiment) = state.lab.occupant(&canister) {
        return Err(CoreError::ExperimentInProgress {
            canister,
            experiment,
        });
    }
    Ok(vec![Event::TargetRemoved { canister }])
}

/// The log's idempotency key for a caller's retry key: scoped per method and caller, so two
/// callers' keys never collide. Both shells derive keys here.
pub fn idempotency_key(method: &str, caller: &Principal, key: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(caller.as_slice());
    h.update(key);
    h.finalize().to_vec()
}

pub fn start_drill(
    state: &State,
    caller: &Principal,
    canister: Principal,
    scenario: ScenarioKind,
    options: DrillOptions,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Operator)?;
    let target = state
        .targets
        .get(&canister)
        .ok_or(CoreError::TargetNotFound { canister })?;
    if target.protected {
        return Err(CoreError::TargetProtected { canister });
    }
    if !target.allowed_scenarios.contains(&scenario) {
        return Err(CoreError::ScenarioNotAllowed { canister, scenario });
    }
    if let Some(drill) = state.running_drill_on(&canister) {
        return Err(CoreError::DrillInProgress { canister, drill });
    }
    // A drill and a hardening stopping and starting one canister at once could leave it
    // stopped; hardening waits for drills (`assurance::ready_to_perform`), drills wait here.
    if let Some(request) = crate::assurance::hardening_in_progress(state, canister) {
        return Err(CoreError::HardeningInProgress { canister, request });
    }
    if let Some(experiment) = state.lab.occupant(&canister) {
        return Err(CoreError::ExperimentInProgress {
            canister,
            experiment,
        });
    }
    if options.hold > MAX_HOLD {
        return Err(CoreError::InvalidArgument {
            field: "hold_ns".into(),
            reason: format!("at most {} ns (24 h)", MAX_HOLD.0),
        });
    }
    Ok(vec![Event::DrillStarted {
        target: canister,
        scenario,
        options,
        objectives: Objectives {
            rto: target.rto_objective,
            rpo: target.rpo_objective.clone(),
            probe_method: target.probe_method.clone(),
        },
        rotate_snapshot: state.snapshots.get(&canister).cloned(),
    }])
}

/// The next effect of a running drill, journaled as `DrillStepStarted` before the shell performs
/// it. `None` when the drill has a step in flight or nothing left to issue.
pub fn issue_next_step(state: &State, drill: DrillId) -> Option<(Event, Effect)> {
    let next = state.drills.get(&drill)?.next_step()?;
    Some((
        Event::DrillStepStarted {
            drill,
            step: next.step,
            effect: next.effect.clone(),
        },
        next.effect,
    ))
}

/// Records the outcome of the in-flight step; when the drill is then complete, also its report.
pub fn complete_step(
    state: &State,
    drill: DrillId,
    step: u16,
    outcome: Outcome,
    now: TimestampNs,
) -> Result<Vec<Event>, CoreError> {
    let d = state
        .drills
        .get(&drill)
        .ok_or(CoreError::DrillNotFound { drill })?;
    let expected = d.in_flight().map(|e| e.step);
    if expected != Some(step) {
        return Err(CoreError::StepMismatch {
            drill,
            expected,
            got: step,
        });
    }
    let mut after = d.clone();
    after.on_step_completed(step, outcome.clone(), now);
    let mut events = vec![Event::DrillStepCompleted {
        drill,
        step,
        outcome,
    }];
    if after.is_complete() {
        events.push(Event::DrillFinished {
            drill,
            report: after.compute_report(now),
        });
    }
    Ok(events)
}

/// Effects in flight (journaled as started, with no outcome yet): a shell re-performs them after
/// an upgrade, since timers and pending work do not survive one. Every drill effect is safe to
/// repeat (idempotent or checked by the next step).
pub fn in_flight_effects(state: &State) -> Vec<(DrillId, u16, Effect)> {
    state
        .running_drills()
        .filter_map(|d| d.in_flight().map(|e| (d.id, e.step, e.effect.clone())))
        .collect()
}
