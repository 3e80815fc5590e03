//! The experiment part of a seeded random run: a lab over the run's fleet (fault profiles on
//! the registered vaults, a consumer that depends on some of them, sometimes a protected
//! target and a council), random experiments of the eight fault types, random schedules (once
//! or on an interval) and cancellations, random aborts, emergency stops followed (later) by an
//! admin's resume, and target misbehaviour (calls that are rejected, hang or take extra
//! rounds).
//!
//! Checked here, besides the per-task invariants of [`crate::invariants`] and
//! [`Sim::check_experiments`] (at most `max_concurrent` active, no target shared by two
//! experiments or with a drill or hardening, protected targets never touched, every finished
//! experiment restored or flagged — runs aborted by an emergency stop and scheduled runs
//! alike —, nothing started under a halt; in calm runs none is flagged):
//! every answer of the lab's entry points is one it may give (a protected target is refused,
//! a halted lab refuses new experiments but still takes schedules, unauthorized callers are
//! refused, a schedule in the past or more often than every 10 minutes is refused, a
//! cancelled schedule is gone); a protected target's status, settings and hook plan never
//! change; once the run is idle no experiment is left active, every experiment active at an
//! emergency stop has finished aborted or flagged, and no schedule is left live. The log's
//! schedule firings ([`check_schedule_log`]): a due run under an emergency stop is recorded
//! as refused, never started; a started run names its schedule; nothing fires after its
//! cancellation; a one-shot schedule fires once, never before its time.

use crate::canister::SimCanister;
use crate::experiments::{HEALTH_METHOD, INVARIANT_METHOD, PERTURBED_METHOD};
use crate::fixtures::{user, vault_target_spec, PROBE_METHOD};
use crate::invariants::Violation;
use crate::rng::SimRng;
use crate::sim::{admin, operator, stranger, Sim};
use candid::Principal;
use chaos_manager::council::{Agent, AgentKind, ApproverSet, Rule, Vote};
use chaos_manager::experiment::{
    Cause, ExperimentId, ExperimentSpec, Hypothesis, LabError, Phases, ProbeDef, RollbackStrategy,
    Status, Tolerance,
};
use chaos_manager::fault::{
    ExhaustionMode, FailureMode, FaultError, FaultKind, FaultProfile, FaultSpec, PartitionGroup,
    Ppm,
};
use chaos_manager::journal::decode_envelope;
use chaos_manager::safety::{
    schedule::MIN_SCHEDULE_INTERVAL, ApprovalPolicy, SafetyChange, SafetyLimits, SafetyRefusal,
    ScheduleId,
};
use chaos_manager::{CoreError, DurationNs, Event, TimestampNs};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// What the lab part of a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabSummary {
    pub experiments: u64,
    pub refused: u64,
    pub restored: u64,
    pub flagged: u64,
    pub emergency_stops: u64,
    /// Experiments active when an emergency stop was pressed (each then rolled back).
    pub halted: u64,
    /// Of those, the ones that ended not flagged, each checked to have given back every
    /// target as it found it.
    pub halted_restored: u64,
    pub resumes: u64,
    /// Schedules created: one-shot, on an interval.
    pub schedules_once: u64,
    pub schedules_interval: u64,
    /// Schedule requests refused (unauthorized, in the past, too frequent, a refused fault).
    pub schedules_refused: u64,
    pub schedules_cancelled: u64,
    /// Due runs that started an experiment.
    pub scheduled_runs: u64,
    /// Of those, the ones that finished with every target given back (not flagged).
    pub scheduled_restored: u64,
    /// Due runs the safety limits refused (recorded, not retried).
    pub scheduled_refused: u64,
    /// Due runs recorded as refused because an emergency stop was in force.
    pub scheduled_halted: u64,
}

/// The lab's world: targets experiments may name, the protected one, the council.
pub(crate) struct LabWorld {
    /// Registered targets with a fault profile (vaults, the consumer).
    targets: Vec<Principal>,
    consumer: Option<Principal>,
    protected: Option<(Principal, Fingerprint)>,
    agents: Vec<Principal>,
    /// Experiments active when an emergency stop was pressed (what [`Sim::emergency_stop`]
    /// hands to the invariants), kept to count the restored ones at the end.
    halted: RefCell<BTreeSet<ExperimentId>>,
}

/// What must never change on a protected target.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fingerprint(String);

fn fingerprint(c: &SimCanister) -> Fingerprint {
    Fingerprint(format!(
        "{:?} {:?} {:?} {:?}",
        c.status(),
        c.settings(),
        c.module(),
        c.hook_plan()
    ))
}

fn agent(n: u64) -> Principal {
    Principal::self_authenticating(format!("fleet_sim agent {n}").as_bytes())
}

/// Sets up the lab over the registered vaults: profiles, a consumer, maybe a protected target,
/// misbehaviour knobs, limits and maybe a council.
pub(crate) fn setup(sim: &mut Sim, g: &mut SimRng, stormy: bool) -> Result<LabWorld, Violation> {
    let vaults: Vec<Principal> = sim.state().targets.keys().copied().collect();
    let mut world = LabWorld {
        targets: Vec::new(),
        consumer: None,
        protected: None,
        agents: Vec::new(),
        halted: RefCell::new(BTreeSet::new()),
    };
    if !vaults.is_empty() && g.chance(0.8) {
        let deps: Vec<Principal> = vaults.iter().copied().filter(|_| g.chance(0.7)).collect();
        let deps = if deps.is_empty() {
            vec![vaults[0]]
        } else {
            deps
        };
        let consumer = sim.add_consumer("vault_consumer", deps);
        let mut spec = vault_target_spec(consumer);
        spec.name = "vault_consumer".into();
        spec.probe_method = HEALTH_METHOD.into();
        match sim.register_target(admin(), spec) {
            Ok(()) => world.consumer = Some(consumer),
            // A fault on the control read (stormy runs).
            Err(CoreError::ControlUnverifiable { .. }) if stormy => {}
            Err(e) => return Err(sim.violation(format!("register consumer: {e:?}"))),
        }
    }
    if g.chance(0.5) {
        let p = sim.add_vault("treasury");
        let mut spec = vault_target_spec(p);
        spec.name = "treasury".into();
        spec.protected = true;
        if sim.register_target(admin(), spec).is_ok() {
            let profile = profile(g, vec![], true);
            set_profile(sim, p, profile)?;
            let fp = fingerprint(sim.canister(p).expect("added"));
            world.protected = Some((p, fp));
        }
    }
    for v in &vaults {
        let mut dependents = Vec::new();
        if let Some(c) = world.consumer {
            if sim.canister(c).is_some_and(|c| c.depends_on().contains(v)) {
                dependents.push(c);
            }
        }
        if let Some((p, _)) = world.protected {
            if g.chance(0.15) {
                dependents.push(p);
            }
        }
        let hooks = g.chance(0.9);
        set_profile(sim, *v, profile(g, dependents, hooks))?;
        world.targets.push(*v);
        if g.chance(0.4) {
            sim.set_open_methods(*v, vec!["set_owner".into()]);
        }
        misbehave(sim, g, *v, stormy);
    }
    if let Some(c) = world.consumer {
        set_profile(sim, c, profile(g, vec![], true))?;
        world.targets.push(c);
        misbehave(sim, g, c, stormy);
    }
    let mut limits = SafetyLimits {
        max_concurrent: g.range(1, 3) as u32,
        max_targets: 4,
        max_target_share_pct: 100,
        max_duration: DurationNs::from_secs(g.range(60, 900)),
        ..SafetyLimits::default()
    };
    if g.chance(0.4) {
        limits.stop.max_consecutive_deviations = 0;
        limits.stop.max_error_rate_ppm = 1_000_000;
    }
    if g.chance(0.25) {
        for n in 0..g.range(1, 3) {
            let a = Agent {
                principal: agent(n),
                kind: AgentKind::Person,
                name: format!("agent-{n}"),
            };
            sim.register_agent(admin(), a)
                .map_err(|e| sim.violation(format!("register_agent: {e:?}")))?;
            world.agents.push(agent(n));
        }
        limits.approval = ApprovalPolicy {
            always: true,
            rule: Rule::Quorum {
                approvers: ApproverSet::AllAgents,
                min_approved: g.range(1, 3) as u32,
            },
            deadline: DurationNs::from_secs(g.range(60, 600)),
            quiet: None,
        };
    }
    sim.set_safety_limits(admin(), limits)
        .map_err(|e| sim.violation(format!("set_safety_limits: {e:?}")))?;
    Ok(world)
}

fn profile(g: &mut SimRng, dependents: Vec<Principal>, hooks: bool) -> FaultProfile {
    let allowed_faults = if g.chance(0.8) {
        FaultKind::ALL.to_vec()
    } else {
        FaultKind::ALL
            .iter()
            .copied()
            .filter(|_| g.chance(0.5))
            .collect()
    };
    FaultProfile {
        allowed_faults,
        dependents,
        privileged_methods: vec!["admin_withdraw".into(), "set_owner".into()],
        hooks,
        invariant_method: Some(INVARIANT_METHOD.into()),
    }
}

fn set_profile(sim: &mut Sim, c: Principal, p: FaultProfile) -> Result<(), Violation> {
    sim.set_fault_profile(admin(), c, p)
        .map_err(|e| sim.violation(format!("set_fault_profile of {c}: {e:?}")))
}

/// Random target misbehaviour on the calls chaos_system makes to `c`: rejections, hangs,
/// slow rounds (on top of the stormy run's transient and unknown faults).
fn misbehave(sim: &mut Sim, g: &mut SimRng, c: Principal, stormy: bool) {
    // Calm runs expect every drill to recover in time: misbehaving targets are stormy.
    if !stormy {
        return;
    }
    let k = sim.faults_mut(c);
    k.slow = *g.pick(&[0.0, 0.1, 0.3]);
    k.hang = *g.pick(&[0.0, 0.0, 0.02, 0.05]);
    k.transient = k.transient.max(*g.pick(&[0.0, 0.05]));
}

fn probe_def(name: &str, canister: Principal, method: &str, tolerance: Tolerance) -> ProbeDef {
    ProbeDef {
        name: name.into(),
        canister,
        method: method.into(),
        tolerance,
        phases: Phases::ALL,
    }
}

/// A random fault of a random kind on `target`.
fn random_fault(sim: &Sim, g: &mut SimRng, w: &LabWorld, target: Principal) -> FaultSpec {
    let mode = |g: &mut SimRng| match g.range(0, 2) {
        0 => FailureMode::Stop,
        1 => FailureMode::Reject {
            methods: vec![],
            probability: Ppm(g.range(100_000, 1_000_000) as u32),
        },
        _ => FailureMode::Trap {
            methods: vec![PERTURBED_METHOD.into()],
            probability: Ppm(g.range(100_000, 1_000_000) as u32),
        },
    };
    match *g.pick(&FaultKind::ALL) {
        FaultKind::NetworkPartition => {
            let others: Vec<Principal> =
                w.targets.iter().copied().filter(|t| *t != target).collect();
            let mut groups = vec![PartitionGroup {
                members: vec![target],
            }];
            if !others.is_empty() {
                groups.push(PartitionGroup { members: others });
            }
            FaultSpec::NetworkPartition {
                groups,
                methods: vec![],
            }
        }
        FaultKind::ResourceExhaustion => {
            let mode = match g.range(0, 3) {
                0 => {
                    let c = sim.canister(target).expect("a target");
                    let covered =
                        c.cycles().0 * 86_400 / c.idle_burn_per_day().0.max(1) * 2 + 86_400;
                    ExhaustionMode::Freeze {
                        freezing_threshold_secs: u64::try_from(covered).unwrap_or(u64::MAX),
                    }
                }
                1 => ExhaustionMode::SqueezeMemory {
                    wasm_memory_limit_bytes: g.range(1 << 20, 8 << 20),
                },
                2 => ExhaustionMode::Ballast {
                    bytes: g.range(1 << 20, 1 << 30),
                },
                _ => ExhaustionMode::BurnInstructions {
                    methods: vec![],
                    instructions: g.range(1, 20_000_000_000),
                },
            };
            FaultSpec::ResourceExhaustion { target, mode }
        }
        FaultKind::ServiceFailure => FaultSpec::ServiceFailure {
            target,
            mode: mode(g),
        },
        FaultKind::LatencyInjection => FaultSpec::LatencyInjection {
            target,
            methods: vec![],
            rounds: g.range(1, 60) as u32,
            probability: Ppm(g.range(1, 1_000_000) as u32),
        },
        FaultKind::DataCorruption => FaultSpec::DataCorruption {
            target,
            intensity: g.range(1, 1_000) as u32,
        },
        FaultKind::SecurityBreach => FaultSpec::SecurityBreach {
            target,
            methods: vec![],
        },
        FaultKind::CascadingFailure => FaultSpec::CascadingFailure {
            dependency: target,
            mode: mode(g),
            dependents: vec![],
        },
        FaultKind::ByzantineFault => FaultSpec::ByzantineFault {
            target,
            methods: vec![PERTURBED_METHOD.into()],
            probability: Ppm(g.range(1, 1_000_000) as u32),
            consumers: vec![],
        },
    }
}

fn random_spec(sim: &Sim, g: &mut SimRng, w: &LabWorld, target: Principal) -> ExperimentSpec {
    let fault = random_fault(sim, g, w, target);
    let one_shot = fault.kind() == FaultKind::SecurityBreach;
    let mut probes = vec![probe_def(
        "state",
        target,
        PROBE_METHOD,
        g.pick(&[
            Tolerance::Answers,
            Tolerance::LatencyAtMost {
                max: DurationNs::from_secs(5),
            },
        ])
        .clone(),
    )];
    if let Some(c) = w.consumer.filter(|_| g.chance(0.6)) {
        probes.push(probe_def(
            "consumer",
            c,
            HEALTH_METHOD,
            g.pick(&[Tolerance::Answers, Tolerance::InvariantHolds])
                .clone(),
        ));
    }
    if g.chance(0.3) {
        probes.push(probe_def(
            "invariants",
            target,
            INVARIANT_METHOD,
            Tolerance::InvariantHolds,
        ));
    }
    let rollback = if fault.undoes_itself() && g.chance(0.3) {
        *g.pick(&[RollbackStrategy::Never, RollbackStrategy::OnDeviation])
    } else if g.chance(0.2) {
        RollbackStrategy::OnDeviation
    } else {
        RollbackStrategy::Always
    };
    ExperimentSpec {
        title: format!("random {}", fault.kind()),
        fault,
        hypothesis: Hypothesis {
            title: "the target keeps answering".into(),
            probes,
        },
        duration: if one_shot && g.chance(0.5) {
            DurationNs(0)
        } else {
            DurationNs::from_secs(g.range(10, 300))
        },
        probe_interval: DurationNs::from_secs(g.range(5, 60)),
        rollback,
    }
}

/// A target for a random experiment or schedule: mostly a lab target, sometimes the protected
/// one (always, when it is the only one).
fn random_target(g: &mut SimRng, w: &LabWorld) -> Option<Principal> {
    match (&w.protected, w.targets.is_empty()) {
        (Some((p, _)), _) if g.chance(0.1) => Some(*p),
        (Some((p, _)), true) => Some(*p),
        (_, false) => Some(*g.pick(&w.targets)),
        (None, true) => None,
    }
}

/// An operator (mostly) or an unauthorized caller.
fn random_caller(g: &mut SimRng) -> (Principal, bool) {
    let authorized = !g.chance(0.05);
    let caller = if authorized {
        operator()
    } else {
        *g.pick(&[Principal::anonymous(), stranger()])
    };
    (caller, authorized)
}

/// Whether `result` is the typed refusal an unauthorized `caller` must get.
fn refused_as_unauthorized<T>(caller: Principal, result: &Result<T, CoreError>) -> bool {
    match result {
        Err(CoreError::AnonymousCaller) => caller == Principal::anonymous(),
        Err(CoreError::Lab(LabError::NotAuthorized { caller: c, .. })) => *c == caller,
        _ => false,
    }
}

/// An operator (sometimes a stranger) starts a random experiment, or now and then schedules
/// one or cancels a schedule; checks the answer.
pub(crate) fn start_random_experiment(
    sim: &mut Sim,
    g: &mut SimRng,
    w: &LabWorld,
    s: &mut LabSummary,
) -> Result<(), Violation> {
    match g.range(0, 9) {
        0 | 1 => return schedule_random(sim, g, w, s),
        2 => return cancel_random(sim, g, s),
        _ => {}
    }
    let Some(target) = random_target(g, w) else {
        return Ok(());
    };
    let spec = random_spec(sim, g, w, target);
    let (caller, authorized) = random_caller(g);
    let protected = w.protected.as_ref().is_some_and(|(p, _)| *p == target);
    let halted = sim.state().lab.safety.halt.is_some();
    let result = sim.start_experiment(caller, spec.clone());
    let acceptable = match (&result, authorized) {
        (Ok(_), _) if protected => false,
        // Any typed refusal of the fault on a protected target (its parameters may be checked
        // first), never a start.
        (Err(CoreError::Lab(LabError::Fault(_) | LabError::InvalidSpec { .. })), true)
            if protected =>
        {
            true
        }
        (Ok(_), true) => !halted,
        (Err(CoreError::AnonymousCaller), false) => caller == Principal::anonymous(),
        (Err(CoreError::Lab(LabError::NotAuthorized { .. })), false) => true,
        (Err(CoreError::Lab(LabError::Fault(FaultError::Protected { .. }))), true) => false,
        (Err(CoreError::Lab(LabError::Fault(_) | LabError::InvalidSpec { .. })), true) => true,
        (Err(CoreError::Lab(LabError::Safety(SafetyRefusal::Halted(_)))), true) => halted,
        (Err(CoreError::Lab(LabError::Safety(_))), true) => !halted,
        _ => false,
    };
    if !acceptable {
        return Err(sim.violation(format!(
            "start_experiment by {caller} (operator: {authorized}, protected target: {protected}, halted: {halted}) of {:?} answered {result:?}",
            spec.fault
        )));
    }
    match result {
        Ok(id) => {
            s.experiments += 1;
            vote(sim, g, w, id);
        }
        Err(_) => s.refused += 1,
    }
    Ok(())
}

/// When `id` waits for the council, some agents take positions now; the others stay absent
/// (the deadline decides).
fn vote(sim: &mut Sim, g: &mut SimRng, w: &LabWorld, id: ExperimentId) {
    if let (Some(m), false) = (sim.motion_of(id), w.agents.is_empty()) {
        for a in &w.agents {
            if g.chance(0.6) {
                let vote = *g.pick(&[Vote::Approve, Vote::Approve, Vote::Reject]);
                let _ = sim.cast_position(*a, m, vote, "random run");
            }
        }
    }
}

/// An operator (sometimes a stranger) schedules a random experiment, once (left to fire
/// whenever the run gets there, under an emergency stop or not) or on an interval (played out
/// here: it fires a few times around emergency stops, resumes, upgrades and aborts, then is
/// cancelled, so the run can go idle). Checks the answer: a schedule is accepted under an
/// emergency stop too (only its due runs are refused), never on a protected target, never
/// in the past or more often than [`MIN_SCHEDULE_INTERVAL`].
fn schedule_random(
    sim: &mut Sim,
    g: &mut SimRng,
    w: &LabWorld,
    s: &mut LabSummary,
) -> Result<(), Violation> {
    let Some(target) = random_target(g, w) else {
        return Ok(());
    };
    let spec = random_spec(sim, g, w, target);
    let (caller, authorized) = random_caller(g);
    let now = sim.now();
    let past = g.chance(0.05) && now.0 > 0;
    let first_at = if past {
        TimestampNs(now.0 - 1)
    } else {
        now.plus(DurationNs::from_secs(g.range(0, 900)))
    };
    let interval = g.chance(0.3).then(|| {
        if g.chance(0.1) {
            DurationNs(MIN_SCHEDULE_INTERVAL.0 - 1)
        } else {
            DurationNs::from_secs(g.range(600, 1_800))
        }
    });
    let too_often = interval.is_some_and(|i| i < MIN_SCHEDULE_INTERVAL);
    let protected = w.protected.as_ref().is_some_and(|(p, _)| *p == target);
    let halted = sim.state().lab.safety.halt.is_some();
    let result = sim.schedule_run(caller, spec.clone(), first_at, interval);
    let acceptable = match (&result, authorized) {
        (_, false) => refused_as_unauthorized(caller, &result),
        (Ok(_), true) => !protected && !past && !too_often,
        (Err(CoreError::Lab(LabError::Fault(FaultError::Protected { .. }))), true) => protected,
        (Err(CoreError::Lab(LabError::Fault(_) | LabError::InvalidSpec { .. })), true) => true,
        // Admission (limits, emergency stop) comes when a run is due, not at scheduling.
        _ => false,
    };
    if !acceptable {
        return Err(sim.violation(format!(
            "schedule_experiment by {caller} (operator: {authorized}, protected target: {protected}, halted: {halted}, first_at in the past: {past}, interval {interval:?}) of {:?} answered {result:?}",
            spec.fault
        )));
    }
    let Ok(id) = result else {
        s.schedules_refused += 1;
        return Ok(());
    };
    let live = sim.state().lab.safety.schedules.get(&id).cloned();
    if live.as_ref().map(|x| (x.next_at, x.interval)) != Some((Some(first_at), interval)) {
        return Err(sim.violation(format!(
            "{id} was accepted (first at {first_at:?}, every {interval:?}) but the state holds {live:?}"
        )));
    }
    if interval.is_none() {
        s.schedules_once += 1;
        return Ok(());
    }
    s.schedules_interval += 1;
    for _ in 0..g.range(1, 3) {
        match g.range(0, 5) {
            0 => press_stop(sim, w, s)?,
            1 => resume(sim, g, s)?,
            2 => {
                sim.try_run_tasks(g.range(0, 12))?;
                sim.try_reopen()?;
            }
            3 => abort_random(sim, g)?,
            _ => {}
        }
        run_until_fired(sim, g, w, id)?;
    }
    cancel(sim, g, id, s)
}

/// Runs tasks until schedule `id` fires once more; a council vote follows when its run waits
/// for one. A live schedule's timer is armed: it fires before the fleet goes idle.
fn run_until_fired(
    sim: &mut Sim,
    g: &mut SimRng,
    w: &LabWorld,
    id: ScheduleId,
) -> Result<(), Violation> {
    let fired = |sim: &Sim| sim.state().lab.safety.schedules[&id].fired;
    let before = fired(sim);
    for _ in 0..crate::drive::MAX_TASKS_PER_RUN {
        if fired(sim) > before {
            let last = sim.state().lab.safety.schedules[&id].last.clone();
            if let Some(Ok(e)) = last.map(|r| r.result) {
                vote(sim, g, w, e);
            }
            return Ok(());
        }
        if sim.try_run_tasks(1)? == 0 {
            let next = sim.state().lab.safety.schedules[&id].next_at;
            return Err(sim.violation(format!(
                "{id} is live (next run at {next:?}) but the fleet went idle without firing it"
            )));
        }
    }
    Err(sim.violation(format!(
        "{id} did not fire within {} tasks",
        crate::drive::MAX_TASKS_PER_RUN
    )))
}

/// Cancels live schedule `id`: an unauthorized caller first (sometimes), refused; then the
/// operator; a second cancel finds nothing.
fn cancel(
    sim: &mut Sim,
    g: &mut SimRng,
    id: ScheduleId,
    s: &mut LabSummary,
) -> Result<(), Violation> {
    if g.chance(0.2) {
        let caller = *g.pick(&[Principal::anonymous(), stranger()]);
        let answer = sim.cancel_schedule(caller, id);
        if !refused_as_unauthorized(caller, &answer) {
            return Err(sim.violation(format!("cancel of {id} by {caller} answered {answer:?}")));
        }
    }
    sim.cancel_schedule(operator(), id)
        .map_err(|e| sim.violation(format!("cancel of live {id}: {e:?}")))?;
    s.schedules_cancelled += 1;
    let after = &sim.state().lab.safety.schedules[&id];
    if after.next_at.is_some() || !after.cancelled {
        return Err(sim.violation(format!(
            "{id} is still live after its cancellation: {after:?}"
        )));
    }
    let again = sim.cancel_schedule(operator(), id);
    if again != Err(CoreError::Lab(LabError::ScheduleNotFound { id })) {
        return Err(sim.violation(format!("a second cancel of {id} answered {again:?}")));
    }
    Ok(())
}

/// The operator cancels a random live schedule, or asks for one that is not live (fired,
/// cancelled or never created) and must be told it does not exist.
fn cancel_random(sim: &mut Sim, g: &mut SimRng, s: &mut LabSummary) -> Result<(), Violation> {
    let safety = &sim.state().lab.safety;
    let live: Vec<ScheduleId> = safety
        .schedules
        .values()
        .filter(|x| x.next_at.is_some())
        .map(|x| x.id)
        .collect();
    if !live.is_empty() && g.chance(0.8) {
        let id = *g.pick(&live);
        return cancel(sim, g, id, s);
    }
    let dead: Vec<ScheduleId> = safety
        .schedules
        .values()
        .filter(|x| x.next_at.is_none())
        .map(|x| x.id)
        .chain([ScheduleId(safety.next_schedule)])
        .collect();
    let id = *g.pick(&dead);
    let answer = sim.cancel_schedule(operator(), id);
    if answer != Err(CoreError::Lab(LabError::ScheduleNotFound { id })) {
        return Err(sim.violation(format!(
            "cancel of {id}, which is not live, answered {answer:?}"
        )));
    }
    Ok(())
}

/// The operator aborts a random active experiment.
pub(crate) fn abort_random(sim: &mut Sim, g: &mut SimRng) -> Result<(), Violation> {
    let active: Vec<_> = sim
        .state()
        .lab
        .experiments
        .values()
        .filter(|e| e.is_active() && e.abort.is_none())
        .map(|e| e.id)
        .collect();
    if active.is_empty() {
        return Ok(());
    }
    let id = *g.pick(&active);
    sim.abort_experiment(operator(), id, "random abort")
        .map_err(|e| sim.violation(format!("abort of active {id}: {e:?}")))
}

/// The operator presses the emergency stop (when none is in force).
pub(crate) fn emergency(
    sim: &mut Sim,
    g: &mut SimRng,
    w: &LabWorld,
    s: &mut LabSummary,
) -> Result<(), Violation> {
    if sim.state().lab.safety.halt.is_some() {
        return Ok(());
    }
    // A few experiments first, under way when the stop is pressed.
    for _ in 0..g.range(1, 4) {
        start_random_experiment(sim, g, w, s)?;
    }
    sim.try_run_tasks(g.range(5, 60))?;
    press_stop(sim, w, s)?;
    // The rollbacks run; mostly an admin resumes afterwards (else a later action may).
    sim.try_run_tasks(g.range(0, 60))?;
    if g.chance(0.7) {
        resume(sim, g, s)?;
    }
    Ok(())
}

/// The operator presses the emergency stop (when none is in force); the experiments active
/// then are remembered.
fn press_stop(sim: &mut Sim, w: &LabWorld, s: &mut LabSummary) -> Result<(), Violation> {
    if sim.state().lab.safety.halt.is_some() {
        return Ok(());
    }
    let active: Vec<ExperimentId> = sim.state().lab.active().map(|e| e.id).collect();
    sim.emergency_stop(operator(), "random emergency stop")
        .map_err(|e| sim.violation(format!("emergency_stop: {e:?}")))?;
    w.halted.borrow_mut().extend(active);
    s.emergency_stops += 1;
    Ok(())
}

/// When an emergency stop is in force: an operator may not resume, an admin does.
pub(crate) fn resume(sim: &mut Sim, g: &mut SimRng, s: &mut LabSummary) -> Result<(), Violation> {
    if sim.state().lab.safety.halt.is_none() {
        return Ok(());
    }
    let by_operator = sim.resume_experiments(operator());
    if !matches!(
        by_operator,
        Err(CoreError::Lab(LabError::NotAuthorized { .. }))
    ) {
        return Err(sim.violation(format!("an operator's resume answered {by_operator:?}")));
    }
    if g.chance(0.95) {
        sim.resume_experiments(admin())
            .map_err(|e| sim.violation(format!("admin resume: {e:?}")))?;
        s.resumes += 1;
    }
    Ok(())
}

/// At the end of a run: nothing active, every experiment active at an emergency stop
/// finished, the protected target untouched; the counts.
pub(crate) fn tally(
    sim: &Sim,
    w: &LabWorld,
    s: &mut LabSummary,
    stormy: bool,
) -> Result<(), Violation> {
    let lab = &sim.state().lab;
    if let Some(e) = lab.active().next() {
        return Err(sim.violation(format!("{} is still active after the run went idle", e.id)));
    }
    if let Some(e) = lab
        .experiments
        .values()
        .find(|e| e.status() == Status::PendingApproval && sim.motion_of(e.id).is_none())
    {
        return Err(sim.violation(format!("{} is pending with no open motion", e.id)));
    }
    if !sim.halted_runs.is_empty() {
        return Err(sim.violation(format!(
            "experiments active at an emergency stop never finished: {:?}",
            sim.halted_runs
        )));
    }
    if let Some((p, before)) = &w.protected {
        let now = fingerprint(sim.canister(*p).expect("added"));
        if &now != before {
            return Err(sim.violation(format!(
                "the protected target {p} changed: {before:?} -> {now:?}"
            )));
        }
    }
    // Without call faults, revoked control or misbehaving targets every rollback succeeds.
    if let (false, Some(e)) = (
        stormy,
        lab.experiments
            .values()
            .find(|e| e.status() == Status::Failed),
    ) {
        return Err(sim.violation(format!(
            "{} was flagged in a calm run: {:?}",
            e.id,
            e.report()
        )));
    }
    s.restored = sim.stats().experiments_restored;
    s.flagged = sim.stats().experiments_flagged;
    s.halted = sim.stats().halted_finished;
    // Every run active at a stop has finished and been checked by `check_experiments`; the
    // ones not flagged were checked against their baselines.
    for id in w.halted.borrow().iter() {
        let e = sim.experiment(*id);
        if e.report().is_none() || !sim.exp_checked.contains(id) {
            return Err(sim.violation(format!(
                "{id} was active at an emergency stop and never finished (or was never checked)"
            )));
        }
        if e.status() != Status::Failed {
            s.halted_restored += 1;
        }
    }
    for e in lab.experiments.values() {
        if let (Cause::Schedule(_), Some(_)) = (e.origin, e.report()) {
            s.scheduled_restored += (e.status() != Status::Failed) as u64;
        }
    }
    if let Some(live) = lab.safety.schedules.values().find(|x| x.next_at.is_some()) {
        return Err(sim.violation(format!(
            "{} is still live (next run at {:?}) after the run went idle: its timer is not armed",
            live.id, live.next_at
        )));
    }
    check_schedule_log(sim, s)
}

/// Reads the whole log in order: every schedule firing under an emergency stop is recorded as
/// refused (no experiment created); a started run is an experiment of that schedule's origin;
/// nothing fires after its cancellation or before its first time; a one-shot schedule fires
/// once, and, unless cancelled, has fired by the end of the run. Counts the firings.
fn check_schedule_log(sim: &Sim, s: &mut LabSummary) -> Result<(), Violation> {
    let log = sim.journal().log();
    let state = sim.state();
    let mut halted = false;
    let mut created: BTreeMap<ScheduleId, (TimestampNs, Option<DurationNs>)> = BTreeMap::new();
    let mut cancelled: BTreeSet<ScheduleId> = BTreeSet::new();
    let mut fired: BTreeMap<ScheduleId, u32> = BTreeMap::new();
    let mut from = 0;
    while from < log.len() {
        let page = log.read(from, 256);
        from += page.len() as u64;
        for env in &page {
            let (_, event) = decode_envelope(env)
                .map_err(|e| sim.violation(format!("event {} undecodable: {e}", env.seq)))?;
            let Event::SafetyChanged { change } = event else {
                continue;
            };
            match *change {
                SafetyChange::Halted { .. } => halted = true,
                SafetyChange::Resumed { .. } => halted = false,
                SafetyChange::ScheduleCreated {
                    id,
                    first_at,
                    interval,
                    ..
                } => {
                    created.insert(id, (first_at, interval));
                }
                SafetyChange::ScheduleCancelled { id, .. } => {
                    cancelled.insert(id);
                }
                SafetyChange::ScheduleFired { id, run } => {
                    let Some((first_at, interval)) = created.get(&id).copied() else {
                        return Err(sim.violation(format!(
                            "{id} fired (event {}) but was never created",
                            env.seq
                        )));
                    };
                    let n = fired.entry(id).or_default();
                    *n += 1;
                    let wrong = if cancelled.contains(&id) {
                        Some("after its cancellation".to_string())
                    } else if interval.is_none() && *n > 1 {
                        Some(format!("{n} times, though it runs once"))
                    } else if run.at < first_at {
                        Some(format!(
                            "at {:?}, before its first time {first_at:?}",
                            run.at
                        ))
                    } else {
                        None
                    };
                    if let Some(wrong) = wrong {
                        return Err(
                            sim.violation(format!("{id} fired (event {}) {wrong}", env.seq))
                        );
                    }
                    match (&run.result, halted) {
                        (Ok(e), true) => {
                            return Err(sim.violation(format!(
                                "{id} started {e} at {:?} (event {}) although an emergency stop was in force; a due run under a halt must be recorded as refused",
                                run.at, env.seq
                            )))
                        }
                        (Err(_), true) => s.scheduled_halted += 1,
                        (Err(_), false) => s.scheduled_refused += 1,
                        (Ok(e), false) => {
                            let origin = state.lab.experiments.get(e).map(|x| x.origin);
                            if origin != Some(Cause::Schedule(id)) {
                                return Err(sim.violation(format!(
                                    "{id} fired (event {}) and names {e}, whose origin is {origin:?}",
                                    env.seq
                                )));
                            }
                            s.scheduled_runs += 1;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for (id, (_, interval)) in &created {
        if interval.is_none() && !cancelled.contains(id) && fired.get(id).copied().unwrap_or(0) != 1
        {
            return Err(sim.violation(format!(
                "one-shot {id} fired {:?} times by the end of the run",
                fired.get(id)
            )));
        }
    }
    Ok(())
}

/// A user's deposit into a random lab target (users keep using the fleet).
pub(crate) fn user_op(sim: &mut Sim, g: &mut SimRng, w: &LabWorld) {
    if let Some(t) = (!w.targets.is_empty()).then(|| *g.pick(&w.targets)) {
        let _ = sim.deposit(t, user(g.range(1, 5) as u8), g.range(1, 100));
    }
}
