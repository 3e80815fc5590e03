//! The experiment part of a seeded random run: a lab over the run's fleet (fault profiles on
//! the registered vaults, a consumer that depends on some of them, sometimes a protected
//! target and a council), random experiments of the eight fault types, random aborts,
//! emergency stops followed (later) by an admin's resume, and target misbehaviour (calls that
//! are rejected, hang or take extra rounds).
//!
//! Checked here, besides the per-task invariants of [`crate::invariants`] and
//! [`Sim::check_experiments`] (at most `max_concurrent` active, protected targets never
//! touched, every finished experiment restored or flagged, nothing started under a halt; in
//! calm runs none is flagged):
//! every answer of the lab's entry points is one it may give (a protected target is refused,
//! a halted lab refuses new experiments, unauthorized callers are refused); a protected
//! target's status, settings and hook plan never change; once the run is idle no experiment is
//! left active and every experiment active at an emergency stop has finished aborted or
//! flagged.

use crate::canister::SimCanister;
use crate::experiments::{HEALTH_METHOD, INVARIANT_METHOD, PERTURBED_METHOD};
use crate::fixtures::{user, vault_target_spec, PROBE_METHOD};
use crate::invariants::Violation;
use crate::rng::SimRng;
use crate::sim::{admin, operator, stranger, Sim};
use candid::Principal;
use chaos_manager::council::{Agent, AgentKind, ApproverSet, Rule, Vote};
use chaos_manager::experiment::{
    ExperimentSpec, Hypothesis, LabError, Phases, ProbeDef, RollbackStrategy, Status, Tolerance,
};
use chaos_manager::fault::{
    ExhaustionMode, FailureMode, FaultError, FaultKind, FaultProfile, FaultSpec, PartitionGroup,
    Ppm,
};
use chaos_manager::safety::{ApprovalPolicy, SafetyLimits, SafetyRefusal};
use chaos_manager::{CoreError, DurationNs};

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
    pub resumes: u64,
}

/// The lab's world: targets experiments may name, the protected one, the council.
pub(crate) struct LabWorld {
    /// Registered targets with a fault profile (vaults, the consumer).
    targets: Vec<Principal>,
    consumer: Option<Principal>,
    protected: Option<(Principal, Fingerprint)>,
    agents: Vec<Principal>,
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

/// An operator (sometimes a stranger) starts a random experiment; checks the answer.
pub(crate) fn start_random_experiment(
    sim: &mut Sim,
    g: &mut SimRng,
    w: &LabWorld,
    s: &mut LabSummary,
) -> Result<(), Violation> {
    let target = match (&w.protected, w.targets.is_empty()) {
        (Some((p, _)), _) if g.chance(0.1) => *p,
        (Some((p, _)), true) => *p,
        (_, false) => *g.pick(&w.targets),
        (None, true) => return Ok(()),
    };
    let spec = random_spec(sim, g, w, target);
    let authorized = !g.chance(0.05);
    let caller = if authorized {
        operator()
    } else {
        *g.pick(&[Principal::anonymous(), stranger()])
    };
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
            if let (Some(m), false) = (sim.motion_of(id), w.agents.is_empty()) {
                // Some agents take positions now; the others stay absent (the deadline decides).
                for a in &w.agents {
                    if g.chance(0.6) {
                        let vote = *g.pick(&[Vote::Approve, Vote::Approve, Vote::Reject]);
                        let _ = sim.cast_position(*a, m, vote, "random run");
                    }
                }
            }
        }
        Err(_) => s.refused += 1,
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
    sim.emergency_stop(operator(), "random emergency stop")
        .map_err(|e| sim.violation(format!("emergency_stop: {e:?}")))?;
    s.emergency_stops += 1;
    // The rollbacks run; mostly an admin resumes afterwards (else a later action may).
    sim.try_run_tasks(g.range(0, 60))?;
    if g.chance(0.7) {
        resume(sim, g, s)?;
    }
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
    Ok(())
}

/// A user's deposit into a random lab target (users keep using the fleet).
pub(crate) fn user_op(sim: &mut Sim, g: &mut SimRng, w: &LabWorld) {
    if let Some(t) = (!w.targets.is_empty()).then(|| *g.pick(&w.targets)) {
        let _ = sim.deposit(t, user(g.range(1, 5) as u8), g.range(1, 100));
    }
}
