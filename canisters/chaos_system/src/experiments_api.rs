//! Request handling of the experiment endpoints: authorize (typed errors from the one rule,
//! `auth::authorize`), decode, call the lab's commands, record their changes as events,
//! convert. The driver (`experiments`) then performs the steps.

use crate::api::{self, caller, now, page_length, require};
use crate::{experiments, storage};
use candid::Principal;
use chaos_api::{
    AbortExperimentArgs, Agent, CastPositionArgs, CreateExperimentArgs, CreateExperimentReply,
    EmergencyStopReply, Error, ErrorCode, Experiment, ExperimentStatus, ExperimentSummary,
    LabStatus, ListExperimentsArgs, ListMotionsArgs, Motion, Page, SafetyLimits, Schedule,
    ScheduleExperimentArgs, MAX_MOTIONS_PAGE, MAX_NOTE_BYTES, MAX_PAGE, MAX_PROBE_NAME_BYTES,
};
use chaos_manager::council::{MotionId, Subject};
use chaos_manager::experiment::commands::{self, Caller};
use chaos_manager::experiment::{
    ExperimentChange, ExperimentId, ExperimentSpec, LabChange, LabError, Status,
};
use chaos_manager::journal::{decode_envelope, Recorded};
use chaos_manager::safety::ScheduleId;
use chaos_manager::{command, CoreError, DurationNs, Event, Role, State, TimestampNs};

/// The caller as the lab's commands see it, after the shell's own check of `required` (so a
/// refusal carries the role held, and the anonymous principal gets `AnonymousCaller`).
fn lab_caller(required: Role) -> Result<Caller, Error> {
    let role = require(required)?;
    Ok(Caller {
        principal: caller(),
        role: Some(role),
    })
}

fn events(changes: Result<Vec<LabChange>, LabError>) -> Result<Vec<Event>, CoreError> {
    Ok(changes?.into_iter().map(Event::lab).collect())
}

/// Records the lab changes `decide` returns, then lets the driver act on them.
fn record_lab(
    method: &str,
    key: Option<Vec<u8>>,
    decide: impl FnOnce(&State) -> Result<Vec<LabChange>, LabError>,
) -> Result<Vec<Recorded>, Error> {
    record_lab_by(caller(), method, key, decide)
}

/// [`record_lab`] on behalf of `caller`, captured before an `.await`.
fn record_lab_by(
    caller: Principal,
    method: &str,
    key: Option<Vec<u8>>,
    decide: impl FnOnce(&State) -> Result<Vec<LabChange>, LabError>,
) -> Result<Vec<Recorded>, Error> {
    let recorded = api::record_by(caller, method, key, |s| events(decide(s)))?;
    experiments::wake();
    Ok(recorded)
}

fn motion_of(s: &State, id: ExperimentId) -> Option<MotionId> {
    s.lab
        .council
        .motion_for(Subject::Experiment(id))
        .map(|m| m.id)
}

fn view(id: ExperimentId) -> Result<Experiment, Error> {
    storage::read(|j| {
        let s = j.state();
        s.lab
            .experiments
            .get(&id)
            .map(|e| chaos_api::experiment_view(e, motion_of(s, id)))
            .ok_or_else(|| LabError::ExperimentNotFound { id }.into())
    })
}

pub fn set_chaos_probe(probe: Option<Principal>) -> Result<(), Error> {
    let caller = caller();
    api::record("set_chaos_probe", None, |s| {
        command::set_chaos_probe(s, &caller, probe)
    })
    .map(|_| ())
}

pub fn set_safety_limits(limits: SafetyLimits) -> Result<(), Error> {
    let c = lab_caller(Role::Admin)?;
    let limits = limits.try_into()?;
    record_lab("set_safety_limits", None, |s| {
        commands::set_limits(&s.lab, &c, limits)
    })
    .map(|_| ())
}

pub fn get_safety_limits() -> Result<SafetyLimits, Error> {
    require(Role::Auditor)?;
    Ok(storage::read(|j| (&j.state().lab.safety.limits).into()))
}

pub fn register_agent(agent: Agent) -> Result<(), Error> {
    let c = lab_caller(Role::Admin)?;
    record_lab("register_agent", None, |s| {
        commands::register_agent(&s.lab, &c, agent.into())
    })
    .map(|_| ())
}

pub fn remove_agent(principal: Principal) -> Result<(), Error> {
    let c = lab_caller(Role::Admin)?;
    record_lab("remove_agent", None, |s| {
        commands::remove_agent(&s.lab, &c, principal)
    })
    .map(|_| ())
}

pub fn list_agents() -> Result<Vec<Agent>, Error> {
    require(Role::Auditor)?;
    Ok(storage::read(|j| {
        j.state()
            .lab
            .council
            .agents
            .values()
            .map(Into::into)
            .collect()
    }))
}

/// The experiment a `create_experiment` recorded at `seq` (its `Created` event).
fn created_at_seq(seq: u64) -> Result<u64, Error> {
    storage::read(|j| {
        let env = j.log().read(seq, 1).into_iter().next();
        match env.as_ref().map(decode_envelope) {
            Some(Ok((_, Event::ExperimentChanged { change }))) => match *change {
                ExperimentChange::Created { id, .. } => Ok(id.0),
                _ => Err(()),
            },
            _ => Err(()),
        }
    })
    .map_err(|()| {
        Error::new(
            ErrorCode::Internal,
            format!("event {seq} of an idempotency key is not an experiment's creation"),
        )
    })
}

fn duplicate_of(key: &[u8]) -> Result<Option<CreateExperimentReply>, Error> {
    match storage::read(|j| j.find_duplicate(key, now())) {
        Some(seq) => Ok(Some(CreateExperimentReply {
            experiment_id: created_at_seq(seq)?,
            duplicate: true,
        })),
        None => Ok(None),
    }
}

fn require_probe() -> Result<(), Error> {
    if storage::read(|j| j.state().chaos_probe.is_none()) {
        return Err(Error::new(
            ErrorCode::NoChaosProbe,
            "no chaos_probe is configured: experiments probe their targets through it; an admin calls set_chaos_probe",
        ));
    }
    Ok(())
}

/// What the shell bounds beyond the core's validation: probe names (repeated in every check
/// of a run) at most [`MAX_PROBE_NAME_BYTES`].
fn check_spec_texts(spec: &chaos_api::ExperimentSpec) -> Result<(), Error> {
    match spec
        .hypothesis
        .probes
        .iter()
        .find(|p| p.name.len() > MAX_PROBE_NAME_BYTES)
    {
        Some(p) => Err(Error::invalid(
            "hypothesis.probes.name",
            format!(
                "probe names are at most {MAX_PROBE_NAME_BYTES} bytes ({} given)",
                p.name.len()
            ),
        )),
        None => Ok(()),
    }
}

pub async fn create_experiment(args: CreateExperimentArgs) -> Result<CreateExperimentReply, Error> {
    let c = lab_caller(Role::Operator)?;
    check_spec_texts(&args.spec)?;
    let key = args
        .idempotency_key
        .as_ref()
        .map(|k| command::idempotency_key("create_experiment", &c.principal, k));
    if let Some(reply) = key.as_deref().map(duplicate_of).transpose()?.flatten() {
        return Ok(reply);
    }
    require_probe()?;
    let spec: ExperimentSpec = args.spec.into();
    // Refuse a bad spec before spending a call on randomness.
    storage::read(|j| {
        let s = j.state();
        commands::create_experiment(&s.lab, s, &c, spec.clone(), 0)
    })?;
    let seed = experiments::random_seed().await;
    // The state may have changed while we awaited: the core checks everything again, and a
    // concurrent retry with the same key is caught by the log.
    let recorded = record_lab_by(c.principal, "create_experiment", key, |s| {
        let c = Caller {
            principal: c.principal,
            role: s.role_of(&c.principal),
        };
        commands::create_experiment(&s.lab, s, &c, spec, seed)
    })?;
    match recorded.first().copied() {
        Some(Recorded::Duplicate { seq }) => Ok(CreateExperimentReply {
            experiment_id: created_at_seq(seq)?,
            duplicate: true,
        }),
        Some(Recorded::Appended { seq }) => Ok(CreateExperimentReply {
            experiment_id: created_at_seq(seq)?,
            duplicate: false,
        }),
        None => Err(Error::new(ErrorCode::Internal, "nothing was recorded")),
    }
}

pub fn submit_experiment(id: u64) -> Result<Experiment, Error> {
    let c = lab_caller(Role::Operator)?;
    require_probe()?;
    let id = ExperimentId(id);
    record_lab("submit_experiment", None, |s| {
        commands::submit_experiment(&s.lab, s, &c, id, now())
    })?;
    view(id)
}

pub fn cast_position(args: CastPositionArgs) -> Result<Motion, Error> {
    let caller = caller();
    if caller == Principal::anonymous() {
        return Err(CoreError::AnonymousCaller.into());
    }
    let motion = MotionId(args.motion_id);
    record_lab("cast_position", None, |s| {
        commands::cast_position(
            &s.lab,
            s,
            caller,
            motion,
            args.vote.into(),
            args.reason,
            now(),
        )
    })?;
    motion_view(motion)
}

fn motion_view(id: MotionId) -> Result<Motion, Error> {
    storage::read(|j| {
        j.state()
            .lab
            .council
            .motions
            .get(&id)
            .map(Into::into)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::MotionNotFound { motion_id: id.0 },
                    format!("{id} does not exist"),
                )
            })
    })
}

pub fn abort_experiment(args: AbortExperimentArgs) -> Result<Experiment, Error> {
    let c = lab_caller(Role::Operator)?;
    // Never refused for its length (an abort is a safety action): kept up to MAX_NOTE_BYTES.
    let note = chaos_api::truncate_text(&args.note, MAX_NOTE_BYTES);
    let id = ExperimentId(args.experiment_id);
    record_lab("abort_experiment", None, |s| {
        commands::abort_experiment(&s.lab, &c, id, note)
    })?;
    view(id)
}

pub fn emergency_stop(reason: String) -> Result<EmergencyStopReply, Error> {
    let c = lab_caller(Role::Operator)?;
    // Never refused for its length: kept up to MAX_NOTE_BYTES.
    let reason = chaos_api::truncate_text(&reason, MAX_NOTE_BYTES);
    let mut reply = EmergencyStopReply::default();
    record_lab("emergency_stop", None, |s| {
        let changes = commands::emergency_stop(&s.lab, &c, reason)?;
        for change in &changes {
            match change {
                LabChange::Experiment(ExperimentChange::AbortRequested { id, .. }) => {
                    reply.aborted.push(id.0)
                }
                LabChange::Experiment(ExperimentChange::Cancelled { id, .. }) => {
                    reply.withdrawn.push(id.0)
                }
                _ => {}
            }
        }
        Ok(changes)
    })?;
    Ok(reply)
}

pub fn resume_experiments() -> Result<(), Error> {
    let c = lab_caller(Role::Admin)?;
    record_lab("resume_experiments", None, |s| commands::resume(&s.lab, &c)).map(|_| ())
}

pub fn schedule_experiment(args: ScheduleExperimentArgs) -> Result<u64, Error> {
    let c = lab_caller(Role::Operator)?;
    check_spec_texts(&args.spec)?;
    require_probe()?;
    let spec: ExperimentSpec = args.spec.into();
    let id = storage::read(|j| j.state().lab.safety.next_schedule);
    record_lab("schedule_experiment", None, |s| {
        commands::schedule_experiment(
            &s.lab,
            s,
            &c,
            spec,
            TimestampNs(args.first_at_ns),
            args.interval_ns.map(DurationNs),
            now(),
        )
    })?;
    Ok(id)
}

pub fn cancel_schedule(id: u64) -> Result<(), Error> {
    let c = lab_caller(Role::Operator)?;
    record_lab("cancel_schedule", None, |s| {
        commands::cancel_schedule(&s.lab, &c, ScheduleId(id))
    })
    .map(|_| ())
}

pub fn list_schedules(page: Page) -> Result<Vec<Schedule>, Error> {
    require(Role::Auditor)?;
    let length = page_length(Some(page.length), MAX_PAGE)?;
    Ok(storage::read(|j| {
        j.state()
            .lab
            .safety
            .schedules
            .range(ScheduleId(page.start)..)
            .take(length)
            .map(|(_, s)| s.into())
            .collect()
    }))
}

pub fn get_experiment(id: u64) -> Result<Experiment, Error> {
    require(Role::Auditor)?;
    view(ExperimentId(id))
}

fn status_of(s: Status) -> ExperimentStatus {
    s.into()
}

pub fn list_experiments(args: ListExperimentsArgs) -> Result<Vec<ExperimentSummary>, Error> {
    require(Role::Auditor)?;
    let length = page_length(args.length, MAX_PAGE)?;
    let start = ExperimentId(args.start.unwrap_or(u64::MAX));
    Ok(storage::read(|j| {
        let s = j.state();
        s.lab
            .experiments
            .range(..=start)
            .rev()
            .map(|(_, e)| e)
            .filter(|e| args.status.is_none_or(|st| status_of(e.status()) == st))
            .filter(|e| {
                args.target.is_none_or(|t| match &e.plan {
                    Some(p) => p.acted_on.contains(&t) || p.affected.contains(&t),
                    None => named_targets(&e.spec).contains(&t),
                })
            })
            .take(length)
            .map(|e| chaos_api::experiment_summary(e, motion_of(s, e.id)))
            .collect()
    }))
}

/// The canisters a fault spec names (before a run fixes its blast radius).
fn named_targets(spec: &ExperimentSpec) -> Vec<Principal> {
    use chaos_manager::fault::FaultSpec as F;
    match &spec.fault {
        F::NetworkPartition { groups, .. } => {
            groups.iter().flat_map(|g| g.members.clone()).collect()
        }
        F::ResourceExhaustion { target, .. }
        | F::ServiceFailure { target, .. }
        | F::LatencyInjection { target, .. }
        | F::DataCorruption { target, .. }
        | F::SecurityBreach { target, .. } => vec![*target],
        F::CascadingFailure {
            dependency,
            dependents,
            ..
        } => std::iter::once(*dependency)
            .chain(dependents.iter().copied())
            .collect(),
        F::ByzantineFault {
            target, consumers, ..
        } => std::iter::once(*target)
            .chain(consumers.iter().copied())
            .collect(),
    }
}

pub fn get_motion(id: u64) -> Result<Motion, Error> {
    require(Role::Auditor)?;
    motion_view(MotionId(id))
}

pub fn list_motions(args: ListMotionsArgs) -> Result<Vec<Motion>, Error> {
    require(Role::Auditor)?;
    let length = page_length(args.length, MAX_MOTIONS_PAGE)?;
    let start = MotionId(args.start.unwrap_or(u64::MAX));
    Ok(storage::read(|j| {
        j.state()
            .lab
            .council
            .motions
            .range(..=start)
            .rev()
            .map(|(_, m)| m)
            .filter(|m| !args.open_only || m.is_open())
            .take(length)
            .map(Into::into)
            .collect()
    }))
}

pub fn lab_status() -> Result<LabStatus, Error> {
    require(Role::Auditor)?;
    Ok(storage::read(|j| {
        let s = j.state();
        let lab = &s.lab;
        LabStatus {
            halted: lab.safety.halt.as_ref().map(Into::into),
            active: lab.active().count() as u64,
            pending_approval: lab
                .experiments
                .values()
                .filter(|e| e.status() == Status::PendingApproval)
                .count() as u64,
            experiments: lab.experiments.len() as u64,
            live_schedules: lab
                .safety
                .schedules
                .values()
                .filter(|s| s.next_at.is_some())
                .count() as u64,
            open_motions: lab.council.motions.values().filter(|m| m.is_open()).count() as u64,
            in_flight: lab.in_flight().len() as u64,
            chaos_probe: s.chaos_probe,
            limits: (&lab.safety.limits).into(),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaos_api::{FaultSpec, Hypothesis, Phases, ProbeDef, RollbackStrategy, Tolerance};

    fn spec(name: &str) -> chaos_api::ExperimentSpec {
        chaos_api::ExperimentSpec {
            title: "t".into(),
            fault: FaultSpec::SecurityBreach {
                target: Principal::from_slice(&[1; 10]),
                methods: vec![],
            },
            hypothesis: Hypothesis {
                title: "h".into(),
                probes: vec![ProbeDef {
                    name: name.into(),
                    canister: Principal::from_slice(&[1; 10]),
                    method: "health".into(),
                    tolerance: Tolerance::Answers,
                    phases: Phases::default(),
                }],
            },
            duration_ns: 0,
            probe_interval_ns: 1,
            rollback: RollbackStrategy::Always,
        }
    }

    #[test]
    fn probe_names_are_at_most_64_bytes() {
        assert!(check_spec_texts(&spec(&"a".repeat(MAX_PROBE_NAME_BYTES))).is_ok());
        let e = check_spec_texts(&spec(&"a".repeat(MAX_PROBE_NAME_BYTES + 1))).unwrap_err();
        assert!(e.message.contains("at most 64 bytes"), "{}", e.message);
    }
}
