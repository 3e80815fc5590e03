//! Chaos experiments on the simulated fleet, one per fault type, against a demo vault with
//! hooks and a dependent consumer: the native twins of the PocketIC experiment scenarios. Each
//! test asserts the observable effect while the fault is active, the restoration after it, and
//! the report (verdict, hypothesis, resilience score).

use candid::Principal;
use chaos_manager::council::{Agent, AgentKind, ApproverSet, Rule, Vote};
use chaos_manager::effect::RejectCode;
use chaos_manager::experiment::{
    ExperimentId, ExperimentReport, ExperimentSpec, Hypothesis, Phases, ProbeDef, RollbackStrategy,
    Status, Tolerance, Verdict,
};
use chaos_manager::experiment::{LabError, Phase, Stage};
use chaos_manager::fault::{Action, FaultError};
use chaos_manager::fault::{
    ExhaustionMode, FailureMode, FaultKind, FaultProfile, FaultSpec, PartitionGroup, Ppm,
};
use chaos_manager::safety::{Alert, SafetyLimits};
use chaos_manager::safety::{ApprovalPolicy, SafetyRefusal};
use chaos_manager::{CoreError, DurationNs, Role};
use fleet_sim::canister::CanisterStatus;
use fleet_sim::experiments::{
    Baseline, HEALTH_METHOD, INVARIANT_METHOD, PERTURBED_METHOD, PING_METHOD,
};
use fleet_sim::fixtures::{user, vault_target_spec, PROBE_METHOD};
use fleet_sim::sim::{admin, operator};
use fleet_sim::Sim;

const SEED: u64 = 7;

/// A demo vault with hooks (privileged methods, an invariant check) and its consumer, both
/// registered with a fault profile allowing every fault; limits allow a 100% share.
struct World {
    sim: Sim,
    vault: Principal,
    consumer: Principal,
}

fn world(seed: u64) -> World {
    let mut sim = Sim::new(seed);
    let vault = sim.add_vault("demo_vault");
    for (u, amount) in [(1, 500), (2, 250), (3, 1_000)] {
        sim.deposit(vault, user(u), amount).unwrap();
    }
    let consumer = sim.add_consumer("vault_consumer", vec![vault]);
    sim.register_target(admin(), vault_target_spec(vault))
        .unwrap();
    let mut spec = vault_target_spec(consumer);
    spec.name = "vault_consumer".into();
    spec.probe_method = HEALTH_METHOD.into();
    sim.register_target(admin(), spec).unwrap();
    sim.set_fault_profile(admin(), vault, vault_profile(consumer))
        .unwrap();
    sim.set_fault_profile(admin(), consumer, hooked(vec![]))
        .unwrap();
    sim.set_safety_limits(admin(), limits()).unwrap();
    World {
        sim,
        vault,
        consumer,
    }
}

fn hooked(dependents: Vec<Principal>) -> FaultProfile {
    FaultProfile {
        allowed_faults: FaultKind::ALL.to_vec(),
        dependents,
        privileged_methods: Vec::new(),
        hooks: true,
        invariant_method: None,
    }
}

fn vault_profile(consumer: Principal) -> FaultProfile {
    FaultProfile {
        privileged_methods: vec!["admin_withdraw".into(), "set_owner".into()],
        invariant_method: Some(INVARIANT_METHOD.into()),
        ..hooked(vec![consumer])
    }
}

fn limits() -> SafetyLimits {
    SafetyLimits {
        max_target_share_pct: 100,
        ..SafetyLimits::default()
    }
}

fn probe(name: &str, canister: Principal, method: &str, tolerance: Tolerance) -> ProbeDef {
    ProbeDef {
        name: name.into(),
        canister,
        method: method.into(),
        tolerance,
        phases: Phases::ALL,
    }
}

/// 60 s of fault, a check every 10 s, rollback always.
fn spec(fault: FaultSpec, probes: Vec<ProbeDef>) -> ExperimentSpec {
    ExperimentSpec {
        title: format!("{} experiment", fault.kind()),
        fault,
        hypothesis: Hypothesis {
            title: "the consumer keeps answering".into(),
            probes,
        },
        duration: DurationNs::from_secs(60),
        probe_interval: DurationNs::from_secs(10),
        rollback: RollbackStrategy::Always,
    }
}

fn consumer_answers(w: &World) -> ProbeDef {
    probe(
        "consumer-health",
        w.consumer,
        HEALTH_METHOD,
        Tolerance::Answers,
    )
}

/// Runs tasks until `done` holds (panics if the fleet goes idle first).
fn run_until(sim: &mut Sim, what: &str, done: impl Fn(&Sim) -> bool) {
    for _ in 0..100_000 {
        if done(sim) {
            return;
        }
        assert!(
            sim.try_step().unwrap_or_else(|v| panic!("{v}")),
            "the fleet went idle before {what}"
        );
    }
    panic!("{what} never happened");
}

fn finished(sim: &Sim, id: ExperimentId) -> ExperimentReport {
    sim.experiment(id)
        .report()
        .cloned()
        .unwrap_or_else(|| panic!("{id} has no report: {:?}", sim.experiment(id).status()))
}

fn assert_score(report: &ExperimentReport) -> u8 {
    let score = report.resilience_score.expect("a score once injected");
    assert!(score <= 100, "score {score}");
    score
}

/// Every acted-on target is as the experiment found it: status, settings, module, invariants,
/// and no hook plan.
fn assert_restored(sim: &Sim, id: ExperimentId) {
    let base = sim.baseline(id).expect("baselines recorded").clone();
    assert!(!base.is_empty(), "{id} recorded no baseline");
    for (canister, before) in base {
        let c = sim.canister(canister).unwrap();
        let now = Baseline {
            status: c.status(),
            settings: c.settings().clone(),
            module: c.module(),
            invariants_held: c.vault_invariants().is_ok(),
            snapshots: c.snapshots().len(),
        };
        assert_eq!(now, before, "{canister} not restored by {id}");
        assert_eq!(c.hook_plan(), None, "{canister} keeps a hook plan");
        assert_eq!(c.status(), CanisterStatus::Running);
    }
    let r = sim.experiment(id).report().unwrap();
    assert_eq!(r.restored, Some(true), "{id}: {r:?}");
    assert!(!r.needs_attention);
}

/// The names of `id`'s steps that succeeded, in order.
fn succeeded(sim: &Sim, id: ExperimentId) -> Vec<&'static str> {
    sim.experiment(id)
        .steps
        .iter()
        .filter(|s| s.observation.as_ref().is_some_and(|o| !o.is_failure()))
        .map(|s| s.action.name())
        .collect()
}

/// The position of `name` in `steps`.
fn at(steps: &[&str], name: &str) -> usize {
    steps
        .iter()
        .position(|s| *s == name)
        .unwrap_or_else(|| panic!("no {name} in {steps:?}"))
}

fn self_check(sim: &mut Sim) {
    sim.self_check().unwrap_or_else(|v| panic!("{v}"));
}

#[test]
fn experiment_network_partition() {
    let mut w = world(SEED);
    let fault = FaultSpec::NetworkPartition {
        groups: vec![
            PartitionGroup {
                members: vec![w.vault],
            },
            PartitionGroup {
                members: vec![w.consumer],
            },
        ],
        methods: vec![],
    };
    let id = w
        .sim
        .start_experiment(operator(), spec(fault, vec![consumer_answers(&w)]))
        .unwrap();
    let vault = w.vault;
    run_until(&mut w.sim, "the partition", |s| {
        s.canister(vault).unwrap().hook_plan().is_some()
    });
    // During: the consumer's calls to the vault are rejected; its health fails.
    let err = w
        .sim
        .hooked_call(w.vault, w.consumer, PERTURBED_METHOD)
        .unwrap_err();
    assert_eq!(err.code, RejectCode::CanisterReject);
    assert!(err.message.contains("partitioned"), "{}", err.message);
    assert!(w.sim.probe_read(w.consumer, HEALTH_METHOD).is_err());
    // A user outside the partition still reaches the vault.
    assert!(w
        .sim
        .hooked_call(w.vault, user(1), PERTURBED_METHOD)
        .is_ok());
    w.sim.run_until_idle();
    // Then: five failed checks in a row stop it (a stop condition), and it rolls back.
    let r = finished(&w.sim, id);
    assert_eq!(r.verdict, Verdict::Aborted);
    assert!(
        r.abort_reason.as_deref().unwrap().contains("5 consecutive"),
        "{r:?}"
    );
    assert_eq!(r.hypothesis_held, Some(false));
    assert_eq!((r.before.within, r.before.total), (1, 1));
    assert_eq!((r.during.within, r.during.total), (0, 5));
    assert_eq!((r.after.within, r.after.total), (1, 1));
    assert!(r.rolled_back);
    assert_restored(&w.sim, id);
    assert_eq!(w.sim.canister(w.consumer).unwrap().hook_plan(), None);
    assert!(w
        .sim
        .hooked_call(w.vault, w.consumer, PERTURBED_METHOD)
        .is_ok());
    assert!(w.sim.probe_read(w.consumer, HEALTH_METHOD).is_ok());
    // D = 0 (no check held during), A = 1000, F = 1000 (a clean rollback): 50.
    assert_eq!(assert_score(&r), 50);
    self_check(&mut w.sim);
}

/// Limits with the stop conditions off: the run goes its whole course.
fn patient_limits() -> SafetyLimits {
    let mut l = limits();
    l.stop.max_consecutive_deviations = 0;
    l.stop.max_error_rate_ppm = 1_000_000;
    l
}

fn patient_world(seed: u64) -> World {
    let mut w = world(seed);
    w.sim.set_safety_limits(admin(), patient_limits()).unwrap();
    w
}

fn stopped_or_plan(sim: &Sim, c: Principal) -> bool {
    let c = sim.canister(c).unwrap();
    c.hook_plan().is_some() || c.status() == CanisterStatus::Stopped
}

#[test]
fn experiment_resource_exhaustion_freeze() {
    let mut w = patient_world(SEED);
    let c = w.sim.canister(w.vault).unwrap();
    let original = c.settings().freezing_threshold_secs;
    // Twice the threshold the balance covers: frozen without spending a cycle.
    let covered = c.cycles().0 * 86_400 / c.idle_burn_per_day().0;
    let threshold = u64::try_from(covered * 2).unwrap();
    let fault = FaultSpec::ResourceExhaustion {
        target: w.vault,
        mode: ExhaustionMode::Freeze {
            freezing_threshold_secs: threshold,
        },
    };
    let id = w
        .sim
        .start_experiment(operator(), spec(fault, vec![consumer_answers(&w)]))
        .unwrap();
    let vault = w.vault;
    run_until(&mut w.sim, "the freeze", |s| {
        s.canister(vault).unwrap().is_frozen()
    });
    // During: the raised threshold freezes the vault; every call is rejected.
    assert_eq!(
        w.sim
            .canister(vault)
            .unwrap()
            .settings()
            .freezing_threshold_secs,
        threshold
    );
    let err = w.sim.deposit(vault, user(1), 10).unwrap_err();
    assert_eq!(err.code, RejectCode::SysTransient);
    assert!(
        err.message.contains("freezing threshold"),
        "{}",
        err.message
    );
    assert!(w.sim.probe_read(w.consumer, HEALTH_METHOD).is_err());
    w.sim.run_until_idle();
    let r = finished(&w.sim, id);
    assert_eq!(r.verdict, Verdict::Completed, "{r:?}");
    assert_eq!(r.hypothesis_held, Some(false));
    assert_eq!(r.during.within, 0);
    assert!(r.during.total >= 5, "{:?}", r.during);
    assert_restored(&w.sim, id);
    let c = w.sim.canister(vault).unwrap();
    assert_eq!(c.settings().freezing_threshold_secs, original);
    assert!(!c.is_frozen());
    w.sim.deposit(vault, user(1), 10).unwrap();
    assert_eq!(assert_score(&r), 50);
    self_check(&mut w.sim);
}

#[test]
fn experiment_resource_exhaustion_burn_instructions_hook() {
    let mut w = patient_world(SEED);
    let fault = FaultSpec::ResourceExhaustion {
        target: w.vault,
        mode: ExhaustionMode::BurnInstructions {
            methods: vec![],
            // demo_vault's cap (a plan above it is refused: see the caps test).
            instructions: 10_000_000_000,
        },
    };
    let tolerance = Tolerance::LatencyAtMost {
        max: DurationNs::from_secs(2),
    };
    let probes = vec![probe("vault-ping", w.vault, PING_METHOD, tolerance)];
    let id = w
        .sim
        .start_experiment(operator(), spec(fault, probes))
        .unwrap();
    let vault = w.vault;
    run_until(&mut w.sim, "the burn", |s| stopped_or_plan(s, vault));
    // During: 10B instructions an update take 5 rounds of 2B (DTS) to answer; a query's burn
    // is capped at 2B and spans no round.
    let reply = w.sim.hooked_call(vault, user(1), PING_METHOD).unwrap();
    assert_eq!(reply.delay_rounds, 5);
    let query = w
        .sim
        .hooked_call(vault, w.consumer, PERTURBED_METHOD)
        .unwrap();
    assert_eq!(query.delay_rounds, 0);
    let slow = w.sim.probe_read(vault, PING_METHOD).unwrap();
    assert!(
        slow.latency > DurationNs::from_secs(2),
        "{:?}",
        slow.latency
    );
    w.sim.run_until_idle();
    let r = finished(&w.sim, id);
    assert_eq!(r.verdict, Verdict::Completed, "{r:?}");
    assert_eq!(r.hypothesis_held, Some(false));
    assert_eq!(r.during.within, 0);
    assert_restored(&w.sim, id);
    let fast = w.sim.probe_read(vault, PING_METHOD).unwrap();
    assert!(
        fast.latency <= DurationNs::from_secs(1),
        "{:?}",
        fast.latency
    );
    assert_eq!(assert_score(&r), 50);
    self_check(&mut w.sim);
}

/// The target's hooks refuse a plan above their caps (demo_vault: 50 delay rounds): the
/// experiment aborts at injection with nothing injected, and says why.
#[test]
fn experiment_above_the_targets_hook_caps_aborts_with_nothing_injected() {
    let mut w = patient_world(SEED);
    let fault = FaultSpec::LatencyInjection {
        target: w.vault,
        methods: vec![],
        rounds: 80,
        probability: Ppm(1_000_000),
    };
    let id = w
        .sim
        .start_experiment(operator(), spec(fault, vec![consumer_answers(&w)]))
        .unwrap();
    w.sim.run_until_idle();
    let r = finished(&w.sim, id);
    assert_eq!(r.verdict, Verdict::Aborted, "{r:?}");
    let failed: Vec<String> = w
        .sim
        .experiment(id)
        .steps
        .iter()
        .filter_map(|s| match &s.observation {
            Some(o) if o.is_failure() => Some(format!("{o:?}")),
            _ => None,
        })
        .collect();
    assert!(
        failed.iter().any(|f| f.contains("CapExceeded")),
        "{failed:?}"
    );
    assert_eq!(w.sim.canister(w.vault).unwrap().hook_plan(), None);
    assert_restored(&w.sim, id);
    self_check(&mut w.sim);
}

#[test]
fn experiment_service_failure_stop_then_start() {
    let mut w = patient_world(SEED);
    let fault = FaultSpec::ServiceFailure {
        target: w.vault,
        mode: FailureMode::Stop,
    };
    let probes = vec![probe(
        "vault-probe",
        w.vault,
        PROBE_METHOD,
        Tolerance::Answers,
    )];
    let id = w
        .sim
        .start_experiment(operator(), spec(fault, probes))
        .unwrap();
    let vault = w.vault;
    run_until(&mut w.sim, "the stop", |s| stopped_or_plan(s, vault));
    // During: the vault is stopped, users and the consumer are rejected.
    assert_eq!(
        w.sim.canister(vault).unwrap().status(),
        CanisterStatus::Stopped
    );
    let err = w.sim.deposit(vault, user(2), 5).unwrap_err();
    assert_eq!(err.code, RejectCode::CanisterError);
    assert!(err.message.contains("is stopped"), "{}", err.message);
    assert!(w.sim.probe_read(w.consumer, HEALTH_METHOD).is_err());
    w.sim.run_until_idle();
    let r = finished(&w.sim, id);
    assert_eq!(r.verdict, Verdict::Completed, "{r:?}");
    assert_eq!(r.hypothesis_held, Some(false));
    assert_eq!(r.during.within, 0);
    assert_eq!((r.after.within, r.after.total), (1, 1));
    let steps = succeeded(&w.sim, id);
    assert!(at(&steps, "stop_canister") < at(&steps, "start_canister"));
    assert_restored(&w.sim, id);
    w.sim.deposit(vault, user(2), 5).unwrap();
    assert_eq!(assert_score(&r), 50);
    self_check(&mut w.sim);
}

#[test]
fn experiment_latency_injection() {
    let mut w = patient_world(SEED);
    let fault = FaultSpec::LatencyInjection {
        target: w.vault,
        methods: vec![],
        rounds: 50,
        probability: Ppm(1_000_000),
    };
    let tolerance = Tolerance::LatencyAtMost {
        max: DurationNs::from_secs(5),
    };
    // The vault's no-argument update: queries are never delayed, so they cannot see it.
    let probes = vec![probe("vault-ping", w.vault, PING_METHOD, tolerance)];
    let id = w
        .sim
        .start_experiment(operator(), spec(fault, probes))
        .unwrap();
    let vault = w.vault;
    run_until(&mut w.sim, "the delay", |s| stopped_or_plan(s, vault));
    // During: every update waits 50 rounds (at least 25 s), above the 5 s tolerance; the
    // consumer's reads are queries and are not delayed.
    let reply = w.sim.hooked_call(vault, user(1), "deposit").unwrap();
    assert_eq!(reply.delay_rounds, 50);
    let query = w
        .sim
        .hooked_call(vault, w.consumer, PERTURBED_METHOD)
        .unwrap();
    assert_eq!(query.delay_rounds, 0);
    let slow = w.sim.probe_read(vault, PING_METHOD).unwrap();
    assert!(
        slow.latency >= DurationNs::from_secs(25),
        "{:?}",
        slow.latency
    );
    w.sim.run_until_idle();
    let r = finished(&w.sim, id);
    assert_eq!(r.verdict, Verdict::Completed, "{r:?}");
    assert_eq!(r.hypothesis_held, Some(false));
    assert_eq!(r.during.within, 0);
    assert!(r.during.total >= 5);
    assert_eq!((r.after.within, r.after.total), (1, 1));
    // The clock passed while the delayed ping was answered: each probe step under the fault
    // took at least the 50 rounds of delay (≥ 25 s), as chaos_probe waits for the target.
    let slow_steps = w
        .sim
        .experiment(id)
        .steps
        .iter()
        .filter(|s| s.phase == Phase::Observe && s.action.name() == "probe_via")
        .map(|s| s.finished_at.expect("finished").0 - s.started_at.0)
        .collect::<Vec<u64>>();
    assert!(!slow_steps.is_empty());
    assert!(
        slow_steps.iter().all(|d| *d >= 25_000_000_000),
        "{slow_steps:?}"
    );
    assert!(
        r.alerts.iter().any(
            |a| matches!(a, Alert::SlowProbe { latency } if *latency >= DurationNs::from_secs(25))
        ),
        "{:?}",
        r.alerts
    );
    assert_restored(&w.sim, id);
    let reply = w.sim.hooked_call(vault, user(1), "deposit").unwrap();
    assert_eq!(reply.delay_rounds, 0);
    assert_eq!(assert_score(&r), 50);
    self_check(&mut w.sim);
}

#[test]
fn experiment_data_corruption() {
    let mut w = patient_world(SEED);
    let before = w.sim.probe(w.vault).unwrap();
    let fault = FaultSpec::DataCorruption {
        target: w.vault,
        intensity: 500,
    };
    let probes = vec![probe(
        "vault-invariants",
        w.vault,
        INVARIANT_METHOD,
        Tolerance::InvariantHolds,
    )];
    let id = w
        .sim
        .start_experiment(operator(), spec(fault, probes))
        .unwrap();
    let vault = w.vault;
    run_until(&mut w.sim, "the corruption", |s| {
        s.canister(vault).unwrap().hook_plan().is_some()
    });
    // The restore point was taken first, before the corruption.
    let snapshot = w.sim.experiment(id).snapshots.get(&vault).cloned();
    let snapshot = snapshot.expect("a restore point before corrupting");
    let c = w.sim.canister(vault).unwrap();
    assert!(c.snapshots().iter().any(|s| s.id == snapshot));
    // During: the vault's own invariants break and its invariant probe says so.
    assert!(c.vault_invariants().is_err());
    let reading = w.sim.probe_read(vault, INVARIANT_METHOD).unwrap();
    assert_eq!(reading.invariant_holds, Some(false));
    w.sim.run_until_idle();
    let r = finished(&w.sim, id);
    assert_eq!(r.verdict, Verdict::Completed, "{r:?}");
    assert_eq!(r.hypothesis_held, Some(false));
    let detected = r
        .findings
        .detection_time()
        .expect("the invariant check noticed");
    assert!(detected <= DurationNs::from_secs(15), "{detected:?}");
    // The restore point came first; the rollback loaded it, restarted the vault and gave the
    // snapshot back (a canister holds at most 10).
    let steps = succeeded(&w.sim, id);
    assert!(at(&steps, "take_canister_snapshot") < at(&steps, "set_fault_plan"));
    assert!(at(&steps, "set_fault_plan") < at(&steps, "load_canister_snapshot"));
    assert!(at(&steps, "load_canister_snapshot") < at(&steps, "delete_canister_snapshot"));
    let c = w.sim.canister(vault).unwrap();
    assert!(!c.snapshots().iter().any(|s| s.id == snapshot));
    // After: the restore point is loaded, the invariants hold, the data is the old data.
    assert_restored(&w.sim, id);
    let reading = w.sim.probe_read(vault, INVARIANT_METHOD).unwrap();
    assert_eq!(reading.invariant_holds, Some(true));
    assert_eq!(w.sim.probe(vault).unwrap(), before);
    assert_eq!((r.after.within, r.after.total), (1, 1));
    // D = 0 (the invariant never held during), A = 1000, F = detection speed: 1000 when
    // at once, falling to 500 at the end of the 60 s window.
    let f = 1000 - 500 * detected.0 / DurationNs::from_secs(60).0;
    assert_eq!(u64::from(assert_score(&r)), (30 * 1000 + 20 * f) / 1000);
    self_check(&mut w.sim);
}

/// A light corruption of `vault`, its own invariant check as the steady state.
fn corruption(vault: Principal) -> ExperimentSpec {
    let fault = FaultSpec::DataCorruption {
        target: vault,
        intensity: 100,
    };
    let probes = vec![probe(
        "vault-invariants",
        vault,
        INVARIANT_METHOD,
        Tolerance::InvariantHolds,
    )];
    spec(fault, probes)
}

/// A data corruption gives its restore point back: one vault takes any number of them in a row
/// (a canister holds at most 10 snapshots; without the delete the 11th run would fail).
#[test]
fn data_corruption_runs_again_and_again_without_filling_the_snapshot_slots() {
    let mut w = patient_world(SEED);
    let vault = w.vault;
    let held = w.sim.canister(vault).unwrap().snapshots().len();
    for run in 0..11 {
        let id = w
            .sim
            .start_experiment(operator(), corruption(vault))
            .unwrap_or_else(|e| panic!("run {run}: {e:?}"));
        w.sim.run_until_idle();
        let r = finished(&w.sim, id);
        assert_eq!(r.verdict, Verdict::Completed, "run {run}: {r:?}");
        assert_restored(&w.sim, id);
        assert_eq!(w.sim.canister(vault).unwrap().snapshots().len(), held);
    }
    self_check(&mut w.sim);
}

/// When loading the restore point is given up, the snapshot is what a person restores from:
/// it is kept, the run is flagged, and nothing deletes it.
#[test]
fn a_restore_point_whose_load_was_given_up_is_kept_for_a_person() {
    let mut w = patient_world(SEED);
    let vault = w.vault;
    let id = w
        .sim
        .start_experiment(operator(), corruption(vault))
        .unwrap();
    run_until(&mut w.sim, "the corruption", |s| {
        s.canister(vault).unwrap().hook_plan().is_some()
    });
    // More refusals than the backoff's attempts (6 by default).
    for _ in 0..10 {
        w.sim
            .fail_next(vault, "load_canister_snapshot", RejectCode::CanisterError);
    }
    w.sim.run_until_idle();
    let e = w.sim.experiment(id);
    let r = e.report().expect("finished").clone();
    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert!(r.needs_attention);
    assert!(
        r.rollback_failures
            .iter()
            .any(|f| f.contains("load_canister_snapshot")),
        "{:?}",
        r.rollback_failures
    );
    let snapshot = e.snapshots.get(&vault).cloned().expect("a restore point");
    assert!(
        !e.steps
            .iter()
            .any(|s| s.action.name() == "delete_canister_snapshot"),
        "a restore point that was never loaded back is not deleted"
    );
    let c = w.sim.canister(vault).unwrap();
    assert!(c.snapshots().iter().any(|s| s.id == snapshot));
    // The start after the failed load was still attempted: the vault serves again.
    assert_eq!(c.status(), CanisterStatus::Running);
    self_check(&mut w.sim);
}

#[test]
fn experiment_security_breach() {
    let mut w = patient_world(SEED);
    w.sim.set_open_methods(w.vault, vec!["set_owner".into()]);
    let fault = FaultSpec::SecurityBreach {
        target: w.vault,
        methods: vec![],
    };
    let mut spec = spec(fault, vec![consumer_answers(&w)]);
    spec.duration = DurationNs(0);
    let id = w.sim.start_experiment(operator(), spec).unwrap();
    w.sim.run_until_idle();
    let r = finished(&w.sim, id);
    assert_eq!(r.verdict, Verdict::Completed, "{r:?}");
    assert_eq!(
        r.findings.probed_methods,
        vec!["admin_withdraw".to_string(), "set_owner".to_string()]
    );
    // The open privileged method is found and recorded.
    assert_eq!(r.findings.accepted_methods, vec!["set_owner".to_string()]);
    assert_eq!(r.hypothesis_held, Some(true));
    // Nothing changed on the vault.
    let c = w.sim.canister(w.vault).unwrap();
    assert_eq!(c.status(), CanisterStatus::Running);
    assert_eq!(c.hook_plan(), None);
    // D = A = 1000, F = one of two methods refused = 500: 90.
    assert_eq!(assert_score(&r), 90);
    // ... and opened in the vulnerability register for the hardening work, keyed by method.
    let open_findings = |sim: &Sim| -> Vec<(Principal, String)> {
        sim.state()
            .assurance
            .register
            .findings()
            .filter(|f| f.status.is_active())
            .map(|f| (f.target, f.title.clone()))
            .collect()
    };
    let expected = vec![(
        w.vault,
        "privileged method set_owner accepts an unprivileged caller".to_string(),
    )];
    assert_eq!(open_findings(&w.sim), expected);
    // The finding is in the log: it is still there after an upgrade rebuilds the state.
    w.sim.reopen();
    assert_eq!(
        finished(&w.sim, id).findings.accepted_methods,
        vec!["set_owner".to_string()]
    );
    assert_eq!(open_findings(&w.sim), expected);
    // A second breach finding the same method updates that finding, opens no other.
    let mut again = self::spec(
        FaultSpec::SecurityBreach {
            target: w.vault,
            methods: vec![],
        },
        vec![consumer_answers(&w)],
    );
    again.duration = DurationNs(0);
    w.sim.start_experiment(operator(), again).unwrap();
    w.sim.run_until_idle();
    assert_eq!(open_findings(&w.sim), expected);
    self_check(&mut w.sim);
}

#[test]
fn experiment_cascading_failure() {
    let mut w = patient_world(SEED);
    let fault = FaultSpec::CascadingFailure {
        dependency: w.vault,
        mode: FailureMode::Stop,
        dependents: vec![],
    };
    let id = w
        .sim
        .start_experiment(operator(), spec(fault, vec![consumer_answers(&w)]))
        .unwrap();
    let vault = w.vault;
    run_until(&mut w.sim, "the dependency failure", |s| {
        stopped_or_plan(s, vault)
    });
    // During: the dependency is down, so the consumer's health fails.
    let err = w.sim.probe_read(w.consumer, HEALTH_METHOD).unwrap_err();
    assert!(err.message.contains("dependency"), "{}", err.message);
    w.sim.run_until_idle();
    let r = finished(&w.sim, id);
    assert_eq!(r.verdict, Verdict::Completed, "{r:?}");
    // The propagation map: the consumer, degraded within the first check.
    let map = r.findings.propagation_map();
    assert_eq!(map.len(), 1, "{map:?}");
    assert_eq!(map[0].0, w.consumer);
    let after = map[0].1.expect("the consumer degraded");
    assert!(after <= DurationNs::from_secs(15), "{after:?}");
    assert_restored(&w.sim, id);
    assert!(w.sim.probe_read(w.consumer, HEALTH_METHOD).is_ok());
    // D = 0, A = 1000, F = no dependent contained = 0: 30.
    assert_eq!(assert_score(&r), 30);
    self_check(&mut w.sim);
}

#[test]
fn experiment_byzantine_fault() {
    let mut w = patient_world(SEED);
    let fault = FaultSpec::ByzantineFault {
        target: w.vault,
        methods: vec![PERTURBED_METHOD.into()],
        probability: Ppm(1_000_000),
        consumers: vec![],
    };
    let id = w
        .sim
        .start_experiment(operator(), spec(fault, vec![consumer_answers(&w)]))
        .unwrap();
    let vault = w.vault;
    run_until(&mut w.sim, "the perturbation", |s| {
        stopped_or_plan(s, vault)
    });
    // During: the vault's answers are perturbed; the consumer notices (its check fails).
    let reply = w
        .sim
        .hooked_call(vault, w.consumer, PERTURBED_METHOD)
        .unwrap();
    assert!(reply.perturbed);
    let reading = w.sim.probe_read(w.consumer, HEALTH_METHOD).unwrap();
    assert_eq!(reading.invariant_holds, Some(false));
    w.sim.run_until_idle();
    let r = finished(&w.sim, id);
    assert_eq!(r.verdict, Verdict::Completed, "{r:?}");
    assert_eq!(r.findings.detected_by(), vec![w.consumer]);
    assert_restored(&w.sim, id);
    let reply = w
        .sim
        .hooked_call(vault, w.consumer, PERTURBED_METHOD)
        .unwrap();
    assert!(!reply.perturbed);
    let reading = w.sim.probe_read(w.consumer, HEALTH_METHOD).unwrap();
    assert_eq!(reading.invariant_holds, Some(true));
    // The consumer kept answering (D = A = 1000) and caught the perturbation (F = 1000).
    assert_eq!(r.hypothesis_held, Some(true));
    assert_eq!(assert_score(&r), 100);
    self_check(&mut w.sim);
}

/// `n` independent vaults with hooks (no dependents), registered, each watched by its own
/// state probe; limits allow a 100% share.
fn vaults(seed: u64, n: usize, limits: SafetyLimits) -> (Sim, Vec<Principal>) {
    let mut sim = Sim::new(seed);
    let mut ids = Vec::new();
    for i in 0..n {
        let v = sim.add_vault(&format!("vault-{i}"));
        sim.deposit(v, user(1), 100 + i as u64).unwrap();
        sim.register_target(admin(), vault_target_spec(v)).unwrap();
        let profile = FaultProfile {
            invariant_method: Some(INVARIANT_METHOD.into()),
            ..hooked(vec![])
        };
        sim.set_fault_profile(admin(), v, profile).unwrap();
        ids.push(v);
    }
    sim.set_safety_limits(admin(), limits).unwrap();
    (sim, ids)
}

fn own_probe(v: Principal) -> Vec<ProbeDef> {
    vec![probe("state", v, PROBE_METHOD, Tolerance::Answers)]
}

fn stop_spec(v: Principal) -> ExperimentSpec {
    let fault = FaultSpec::ServiceFailure {
        target: v,
        mode: FailureMode::Stop,
    };
    spec(fault, own_probe(v))
}

fn freeze_spec(sim: &Sim, v: Principal) -> ExperimentSpec {
    let c = sim.canister(v).unwrap();
    let covered = c.cycles().0 * 86_400 / c.idle_burn_per_day().0;
    let fault = FaultSpec::ResourceExhaustion {
        target: v,
        mode: ExhaustionMode::Freeze {
            freezing_threshold_secs: u64::try_from(covered * 2).unwrap(),
        },
    };
    spec(fault, own_probe(v))
}

fn latency_spec(v: Principal) -> ExperimentSpec {
    let fault = FaultSpec::LatencyInjection {
        target: v,
        methods: vec![],
        rounds: 10,
        probability: Ppm(1_000_000),
    };
    spec(fault, own_probe(v))
}

fn injected(sim: &Sim, id: ExperimentId) -> bool {
    sim.experiment(id).injected_at.is_some()
}

fn lab_error(e: CoreError) -> LabError {
    match e {
        CoreError::Lab(l) => l,
        other => panic!("expected a lab error, got {other:?}"),
    }
}

#[test]
fn experiment_emergency_stop_restores_every_target_and_refuses_until_an_admin_resumes() {
    let mut limits = patient_limits();
    limits.max_duration = DurationNs::from_secs(3_600);
    let (mut sim, v) = vaults(SEED, 4, limits);
    let before: Vec<_> = v
        .iter()
        .map(|c| {
            let c = sim.canister(*c).unwrap();
            (c.status(), c.settings().clone())
        })
        .collect();
    let long = |s: ExperimentSpec| ExperimentSpec {
        duration: DurationNs::from_secs(1_800),
        ..s
    };
    let ids = [
        sim.start_experiment(operator(), long(stop_spec(v[0])))
            .unwrap(),
        sim.start_experiment(operator(), long(freeze_spec(&sim, v[1])))
            .unwrap(),
        sim.start_experiment(operator(), long(latency_spec(v[2])))
            .unwrap(),
    ];
    run_until(&mut sim, "three faults injected", |s| {
        ids.iter().all(|id| injected(s, *id))
    });
    // The three faults are in force.
    assert_eq!(
        sim.canister(v[0]).unwrap().status(),
        CanisterStatus::Stopped
    );
    assert!(sim.canister(v[1]).unwrap().is_frozen());
    assert!(sim.canister(v[2]).unwrap().hook_plan().is_some());
    assert_eq!(sim.state().lab.active().count(), 3);
    // When the operator presses the emergency stop
    sim.emergency_stop(operator(), "pager went off").unwrap();
    // Then new experiments are refused at once
    let refused = sim
        .start_experiment(operator(), stop_spec(v[3]))
        .unwrap_err();
    assert!(
        matches!(lab_error(refused), LabError::Safety(SafetyRefusal::Halted(ref h)) if h.by == operator()),
    );
    sim.run_until_idle();
    // And every experiment rolled back: every target's status and settings as before.
    for id in ids {
        let r = finished(&sim, id);
        assert_eq!(r.verdict, Verdict::Aborted, "{id}: {r:?}");
        assert!(
            r.abort_reason
                .as_deref()
                .unwrap()
                .contains("emergency stop"),
            "{r:?}"
        );
        assert!(r.rolled_back);
        assert_restored(&sim, id);
        // Stopped before any check under the fault: nothing measured, no score.
        if r.during.total == 0 {
            assert_eq!(r.resilience_score, None, "{r:?}");
        } else {
            assert_score(&r);
        }
    }
    for (i, c) in v.iter().enumerate() {
        let c = sim.canister(*c).unwrap();
        assert_eq!((c.status(), c.settings().clone()), before[i], "vault {i}");
        assert_eq!(c.hook_plan(), None);
    }
    // Still refused after the rollbacks; an operator cannot resume, an admin can.
    assert!(sim.start_experiment(operator(), stop_spec(v[3])).is_err());
    let e = lab_error(sim.resume_experiments(operator()).unwrap_err());
    assert_eq!(
        e,
        LabError::NotAuthorized {
            caller: operator(),
            required: Role::Admin
        }
    );
    sim.resume_experiments(admin()).unwrap();
    assert_eq!(
        lab_error(sim.resume_experiments(admin()).unwrap_err()),
        LabError::NotHalted
    );
    let id = sim.start_experiment(operator(), stop_spec(v[3])).unwrap();
    sim.run_until_idle();
    assert_eq!(finished(&sim, id).verdict, Verdict::Completed);
    assert_restored(&sim, id);
    self_check(&mut sim);
}

#[test]
fn experiment_concurrency_limit_and_one_experiment_per_target() {
    let limits = SafetyLimits {
        max_concurrent: 2,
        ..patient_limits()
    };
    let (mut sim, v) = vaults(SEED, 3, limits);
    let a = sim
        .start_experiment(operator(), latency_spec(v[0]))
        .unwrap();
    // A second experiment on the same target is refused: one per target.
    let busy = lab_error(
        sim.start_experiment(operator(), stop_spec(v[0]))
            .unwrap_err(),
    );
    assert!(
        matches!(busy, LabError::Safety(SafetyRefusal::TargetBusy { canister, .. }) if canister == v[0]),
        "{busy:?}"
    );
    let b = sim
        .start_experiment(operator(), latency_spec(v[1]))
        .unwrap();
    // One more than max_concurrent is refused.
    let full = lab_error(
        sim.start_experiment(operator(), latency_spec(v[2]))
            .unwrap_err(),
    );
    assert_eq!(
        full,
        LabError::Safety(SafetyRefusal::TooManyConcurrent { max: 2 })
    );
    assert_eq!(sim.state().lab.active().count(), 2);
    sim.run_until_idle();
    for id in [a, b] {
        assert_eq!(finished(&sim, id).verdict, Verdict::Completed);
        assert_restored(&sim, id);
    }
    // Once they are done, the third may run.
    let c = sim
        .start_experiment(operator(), latency_spec(v[2]))
        .unwrap();
    sim.run_until_idle();
    assert_eq!(finished(&sim, c).verdict, Verdict::Completed);
    self_check(&mut sim);
}

fn agent(n: u8) -> Principal {
    Principal::self_authenticating([0x61, 0x67, n])
}

/// Every experiment needs approval: a quorum of `min` among every registered agent, with a
/// 10-minute deadline; `agents` people registered.
fn council_world(agents: u8, min: u32) -> (Sim, Vec<Principal>) {
    let mut limits = patient_limits();
    limits.approval = ApprovalPolicy {
        always: true,
        rule: Rule::Quorum {
            approvers: ApproverSet::AllAgents,
            min_approved: min,
        },
        deadline: DurationNs::from_secs(600),
        quiet: None,
    };
    let (mut sim, v) = vaults(SEED, 1, limits);
    for n in 0..agents {
        let a = Agent {
            principal: agent(n),
            kind: AgentKind::Person,
            name: format!("approver-{n}"),
        };
        sim.register_agent(admin(), a).unwrap();
    }
    (sim, v)
}

#[test]
fn experiment_approval_gate_quorum_approves_and_it_runs() {
    let (mut sim, v) = council_world(3, 2);
    let id = sim.start_experiment(operator(), stop_spec(v[0])).unwrap();
    assert_eq!(sim.experiment(id).status(), Status::PendingApproval);
    let motion = sim.motion_of(id).expect("a motion for the experiment");
    // Nothing runs while the council deliberates.
    assert!(sim.experiment(id).steps.is_empty());
    // The proposer is no agent; a stranger neither.
    assert!(sim
        .cast_position(operator(), motion, Vote::Approve, "mine")
        .is_err());
    sim.cast_position(agent(0), motion, Vote::Approve, "ok")
        .unwrap();
    assert_eq!(sim.experiment(id).status(), Status::PendingApproval);
    sim.cast_position(agent(1), motion, Vote::Approve, "ok")
        .unwrap();
    assert_eq!(sim.experiment(id).status(), Status::Running);
    sim.run_until_idle();
    assert_eq!(finished(&sim, id).verdict, Verdict::Completed);
    assert_restored(&sim, id);
    self_check(&mut sim);
}

#[test]
fn experiment_approval_gate_rejection_or_deadline_never_runs() {
    // Rejected: two of three reject, the quorum of two is out of reach.
    let (mut sim, v) = council_world(3, 2);
    let id = sim.start_experiment(operator(), stop_spec(v[0])).unwrap();
    let motion = sim.motion_of(id).unwrap();
    sim.cast_position(agent(0), motion, Vote::Reject, "not today")
        .unwrap();
    sim.cast_position(agent(1), motion, Vote::Reject, "no")
        .unwrap();
    assert!(matches!(sim.experiment(id).stage, Stage::Cancelled { .. }));
    sim.run_until_idle();
    assert!(sim.experiment(id).steps.is_empty());
    assert_eq!(
        sim.canister(v[0]).unwrap().status(),
        CanisterStatus::Running
    );

    // Deadline: one approval, the others absent; at the deadline they abstain, 1 < 2.
    let (mut sim, v) = council_world(3, 2);
    let t0 = sim.now();
    let id = sim.start_experiment(operator(), stop_spec(v[0])).unwrap();
    let motion = sim.motion_of(id).unwrap();
    sim.cast_position(agent(0), motion, Vote::Approve, "fine")
        .unwrap();
    sim.run_until_idle();
    assert!(
        sim.now().0 >= t0.0 + 600_000_000_000,
        "the deadline timer fired"
    );
    assert!(
        matches!(sim.experiment(id).stage, Stage::Cancelled { .. }),
        "{:?}",
        sim.experiment(id).stage
    );
    assert!(sim.experiment(id).steps.is_empty());
    assert_eq!(
        sim.canister(v[0]).unwrap().status(),
        CanisterStatus::Running
    );
    // A late position is refused with a typed error.
    let late = lab_error(
        sim.cast_position(agent(1), motion, Vote::Approve, "late")
            .unwrap_err(),
    );
    assert!(matches!(late, LabError::Council(_)), "{late:?}");
    self_check(&mut sim);
}

#[test]
fn experiment_approval_gate_quorum_degrades_to_the_agents_there_are() {
    // A quorum of five with two agents: the minimum becomes two; both approve, it runs.
    let (mut sim, v) = council_world(2, 5);
    let id = sim.start_experiment(operator(), stop_spec(v[0])).unwrap();
    let motion = sim.motion_of(id).unwrap();
    sim.cast_position(agent(0), motion, Vote::Approve, "ok")
        .unwrap();
    assert_eq!(sim.experiment(id).status(), Status::PendingApproval);
    sim.cast_position(agent(1), motion, Vote::Approve, "ok")
        .unwrap();
    assert_eq!(sim.experiment(id).status(), Status::Running);
    sim.run_until_idle();
    assert_eq!(finished(&sim, id).verdict, Verdict::Completed);

    // No agent at all: nobody could approve, so the motion is rejected, nothing runs.
    let (mut sim, v) = council_world(0, 1);
    let id = sim.start_experiment(operator(), stop_spec(v[0])).unwrap();
    sim.run_until_idle();
    assert!(
        matches!(sim.experiment(id).stage, Stage::Cancelled { .. }),
        "{:?}",
        sim.experiment(id).stage
    );
    assert!(sim.experiment(id).steps.is_empty());
}

#[test]
fn experiment_unauthorized_callers_get_typed_errors() {
    let (mut sim, v) = vaults(SEED, 1, patient_limits());
    assert_eq!(
        sim.start_experiment(Principal::anonymous(), stop_spec(v[0])),
        Err(CoreError::AnonymousCaller)
    );
    let stranger = fleet_sim::sim::stranger();
    assert_eq!(
        lab_error(sim.start_experiment(stranger, stop_spec(v[0])).unwrap_err()),
        LabError::NotAuthorized {
            caller: stranger,
            required: Role::Operator
        }
    );
    assert_eq!(
        lab_error(sim.emergency_stop(stranger, "prank").unwrap_err()),
        LabError::NotAuthorized {
            caller: stranger,
            required: Role::Operator
        }
    );
    assert_eq!(
        sim.emergency_stop(Principal::anonymous(), "prank"),
        Err(CoreError::AnonymousCaller)
    );
    let admin_only = LabError::NotAuthorized {
        caller: operator(),
        required: Role::Admin,
    };
    assert_eq!(
        lab_error(sim.set_safety_limits(operator(), limits()).unwrap_err()),
        admin_only
    );
    assert_eq!(
        lab_error(sim.resume_experiments(operator()).unwrap_err()),
        admin_only
    );
    let a = Agent {
        principal: agent(9),
        kind: AgentKind::Person,
        name: "sneaky".into(),
    };
    assert_eq!(
        lab_error(sim.register_agent(operator(), a).unwrap_err()),
        admin_only
    );
    // Neither may schedule an experiment.
    let soon = sim.now().plus(DurationNs::from_secs(600));
    let every = Some(DurationNs::from_secs(3_600));
    assert_eq!(
        sim.schedule_run(Principal::anonymous(), stop_spec(v[0]), soon, every),
        Err(CoreError::AnonymousCaller)
    );
    assert_eq!(
        lab_error(
            sim.schedule_run(stranger, stop_spec(v[0]), soon, None)
                .unwrap_err()
        ),
        LabError::NotAuthorized {
            caller: stranger,
            required: Role::Operator
        }
    );
    // Nothing was recorded by any of them: no experiment, no schedule, no halt.
    assert!(sim.state().lab.experiments.is_empty());
    assert!(sim.state().lab.safety.schedules.is_empty());
    assert!(sim.state().lab.safety.halt.is_none());
    // The operator's draft, submitted by either: refused, still a draft.
    let draft = sim.create_experiment(operator(), stop_spec(v[0])).unwrap();
    assert_eq!(
        sim.submit_experiment(Principal::anonymous(), draft),
        Err(CoreError::AnonymousCaller)
    );
    assert_eq!(
        lab_error(sim.submit_experiment(stranger, draft).unwrap_err()),
        LabError::NotAuthorized {
            caller: stranger,
            required: Role::Operator
        }
    );
    assert_eq!(sim.experiment(draft).stage, Stage::Draft);
    assert!(sim.experiment(draft).steps.is_empty());
    sim.abort_experiment(operator(), draft, "withdrawn")
        .unwrap();
    // The operator's schedule, cancelled by either: refused, still live.
    let sid = sim
        .schedule_run(operator(), stop_spec(v[0]), soon, every)
        .unwrap();
    assert_eq!(
        sim.cancel_schedule(Principal::anonymous(), sid),
        Err(CoreError::AnonymousCaller)
    );
    assert_eq!(
        lab_error(sim.cancel_schedule(stranger, sid).unwrap_err()),
        LabError::NotAuthorized {
            caller: stranger,
            required: Role::Operator
        }
    );
    let live = &sim.state().lab.safety.schedules[&sid];
    assert_eq!((live.next_at, live.cancelled), (Some(soon), false));
    sim.cancel_schedule(operator(), sid).unwrap();
    assert!(sim
        .state()
        .lab
        .experiments
        .values()
        .all(|e| e.steps.is_empty()));
    // The operator's own experiment, aborted by a stranger: refused.
    let id = sim.start_experiment(operator(), stop_spec(v[0])).unwrap();
    assert!(matches!(
        lab_error(sim.abort_experiment(stranger, id, "no").unwrap_err()),
        LabError::NotAuthorized { .. }
    ));
    sim.run_until_idle();
    assert_restored(&sim, id);
}

#[test]
fn experiment_max_duration_timer_forces_rollback() {
    // The run may last 60 s from its start; the fault alone is asked for 60 s, so the
    // deadline falls while it is active.
    let mut limits = patient_limits();
    limits.max_duration = DurationNs::from_secs(60);
    let (mut sim, v) = vaults(SEED, 1, limits);
    let id = sim.start_experiment(operator(), stop_spec(v[0])).unwrap();
    let started = {
        run_until(&mut sim, "the start", |s| {
            s.experiment(id).started_at.is_some()
        });
        sim.experiment(id).started_at.unwrap()
    };
    sim.run_until_idle();
    let r = finished(&sim, id);
    assert_eq!(r.verdict, Verdict::Aborted, "{r:?}");
    assert_eq!(
        r.abort_reason.as_deref(),
        Some("the maximum duration was reached")
    );
    // The rollback began at the deadline: the start step came after it.
    let start_step = sim
        .experiment(id)
        .steps
        .iter()
        .find(|s| matches!(s.action, Action::StartCanister { .. }))
        .expect("the vault was started again");
    assert!(start_step.started_at >= started.plus(DurationNs::from_secs(60)));
    assert!(start_step.started_at < started.plus(DurationNs::from_secs(70)));
    assert_restored(&sim, id);
    self_check(&mut sim);
}

#[test]
fn experiment_on_a_protected_target_is_refused() {
    let (mut sim, v) = vaults(SEED, 1, patient_limits());
    let guarded = sim.add_vault("treasury");
    let mut spec_t = vault_target_spec(guarded);
    spec_t.protected = true;
    spec_t.name = "treasury".into();
    sim.register_target(admin(), spec_t).unwrap();
    sim.set_fault_profile(admin(), guarded, hooked(vec![]))
        .unwrap();
    let e = lab_error(
        sim.start_experiment(operator(), stop_spec(guarded))
            .unwrap_err(),
    );
    assert_eq!(
        e,
        LabError::Fault(FaultError::Protected { canister: guarded })
    );
    // A fault whose blast radius reaches it (a declared dependent) is refused too.
    let profile = FaultProfile {
        invariant_method: Some(INVARIANT_METHOD.into()),
        ..hooked(vec![guarded])
    };
    sim.set_fault_profile(admin(), v[0], profile).unwrap();
    let e = lab_error(
        sim.start_experiment(operator(), stop_spec(v[0]))
            .unwrap_err(),
    );
    assert!(
        matches!(e, LabError::Fault(FaultError::ProtectedDependent { .. })),
        "{e:?}"
    );
    sim.run_until_idle();
    assert!(sim.state().lab.experiments.is_empty());
    assert_eq!(
        sim.canister(guarded).unwrap().status(),
        CanisterStatus::Running
    );
}

#[test]
fn experiment_survives_an_upgrade_mid_fault_and_still_restores() {
    let (mut sim, v) = vaults(SEED, 2, patient_limits());
    let a = sim.start_experiment(operator(), stop_spec(v[0])).unwrap();
    let b = sim
        .start_experiment(operator(), freeze_spec(&sim, v[1]))
        .unwrap();
    run_until(&mut sim, "both injected", |s| {
        injected(s, a) && injected(s, b)
    });
    sim.reopen();
    assert_eq!(sim.state().lab.active().count(), 2);
    assert_eq!(
        sim.canister(v[0]).unwrap().status(),
        CanisterStatus::Stopped
    );
    sim.run_until_idle();
    for id in [a, b] {
        assert_eq!(finished(&sim, id).verdict, Verdict::Completed);
        assert_restored(&sim, id);
    }
    self_check(&mut sim);
}

#[test]
fn experiment_survives_upgrades_during_rollback_with_lost_replies() {
    let (mut sim, v) = vaults(SEED, 1, patient_limits());
    sim.set_upgrade_lost_reply(1.0);
    let id = sim
        .start_experiment(operator(), freeze_spec(&sim, v[0]))
        .unwrap();
    run_until(&mut sim, "the rollback", |s| {
        s.experiment(id).status() == Status::RollingBack
    });
    // Upgrade with every call in flight (the restore of the settings) already acted on.
    sim.reopen();
    sim.reopen();
    sim.run_until_idle();
    let r = finished(&sim, id);
    assert_eq!(r.verdict, Verdict::Completed, "{r:?}");
    assert_restored(&sim, id);
    self_check(&mut sim);
}

#[test]
fn seeded_random_runs_exercise_experiments_and_emergency_stops_and_keep_every_invariant() {
    let mut total = fleet_sim::random_lab::LabSummary::default();
    for seed in 0..150 {
        let s = fleet_sim::random_run::run(seed).unwrap_or_else(|v| panic!("{v}"));
        total.experiments += s.lab.experiments;
        total.refused += s.lab.refused;
        total.restored += s.lab.restored;
        total.emergency_stops += s.lab.emergency_stops;
        total.halted += s.lab.halted;
        total.halted_restored += s.lab.halted_restored;
        total.resumes += s.lab.resumes;
        total.schedules_once += s.lab.schedules_once;
        total.schedules_interval += s.lab.schedules_interval;
        total.schedules_cancelled += s.lab.schedules_cancelled;
        total.scheduled_runs += s.lab.scheduled_runs;
        total.scheduled_restored += s.lab.scheduled_restored;
        total.scheduled_halted += s.lab.scheduled_halted;
    }
    // The generator is no no-op: experiments ran and were restored, some were refused,
    // emergency stops caught running experiments (restored, checked against their
    // baselines) and admins resumed; schedules of both kinds fired, started runs that were
    // restored, were refused under an emergency stop, and were cancelled.
    assert!(total.experiments >= 30, "{total:?}");
    assert!(total.restored >= 20, "{total:?}");
    assert!(total.refused > 0, "{total:?}");
    assert!(total.emergency_stops > 0, "{total:?}");
    assert!(total.halted > 0, "{total:?}");
    assert!(total.halted_restored > 0, "{total:?}");
    assert!(total.resumes > 0, "{total:?}");
    assert!(total.schedules_once > 0, "{total:?}");
    assert!(total.schedules_interval > 0, "{total:?}");
    assert!(total.schedules_cancelled > 0, "{total:?}");
    assert!(total.scheduled_runs > 0, "{total:?}");
    assert!(total.scheduled_restored > 0, "{total:?}");
    assert!(total.scheduled_halted > 0, "{total:?}");
}

/// Least privilege for probes, and no run without chaos_probe: a probe of a canister outside
/// the registry's topology is refused at create; with no chaos_probe configured, submit is
/// refused, and so is the start after a council approval (the core admits again).
#[test]
fn experiment_probes_stay_within_the_registry_and_need_chaos_probe() {
    let mut w = world(SEED);
    let fault = FaultSpec::LatencyInjection {
        target: w.vault,
        methods: vec![],
        rounds: 3,
        probability: Ppm::ALWAYS,
    };
    let stranger = Principal::from_slice(&[9, 9, 9]);
    let outside = spec(
        fault.clone(),
        vec![probe("outside", stranger, "health", Tolerance::Answers)],
    );
    match w.sim.create_experiment(operator(), outside) {
        Err(CoreError::Lab(LabError::InvalidSpec { field, reason })) => {
            assert_eq!(field, "hypothesis.probes.canister");
            assert!(reason.contains("neither a registered target"), "{reason}");
        }
        other => panic!("expected InvalidSpec, got {other:?}"),
    }

    // The consumer is a declared dependent and a registered target: accepted.
    let id = w
        .sim
        .create_experiment(operator(), spec(fault.clone(), vec![consumer_answers(&w)]))
        .unwrap();
    w.sim.set_chaos_probe(admin(), None).unwrap();
    assert_eq!(
        w.sim.submit_experiment(operator(), id),
        Err(CoreError::Lab(LabError::Safety(
            SafetyRefusal::NoChaosProbe
        )))
    );
    assert_eq!(w.sim.experiment(id).stage, Stage::Draft, "nothing started");
    w.sim
        .set_chaos_probe(admin(), Some(fleet_sim::experiments::chaos_probe()))
        .unwrap();
    w.sim.submit_experiment(operator(), id).unwrap();
    w.sim.run_until_idle();
    assert_eq!(finished(&w.sim, id).restored, Some(true));

    // Approved while no chaos_probe is configured: the start is refused, nothing runs.
    let (mut sim, v) = council_world(3, 2);
    let id = sim.start_experiment(operator(), stop_spec(v[0])).unwrap();
    let motion = sim.motion_of(id).unwrap();
    sim.set_chaos_probe(admin(), None).unwrap();
    sim.cast_position(agent(0), motion, Vote::Approve, "ok")
        .unwrap();
    sim.cast_position(agent(1), motion, Vote::Approve, "ok")
        .unwrap();
    match &sim.experiment(id).stage {
        Stage::Cancelled { reason, .. } => {
            assert!(reason.contains("chaos_probe"), "{reason}")
        }
        other => panic!("expected the start to be refused, got {other:?}"),
    }
    sim.run_until_idle();
    assert!(sim.experiment(id).steps.is_empty());
    assert_eq!(
        sim.canister(v[0]).unwrap().status(),
        CanisterStatus::Running
    );
}

/// A schedule on an interval survives an upgrade of chaos_system (its timer re-armed from
/// state), fires, runs and restores under the schedule's authority; once cancelled it fires no
/// more.
#[test]
fn experiment_schedule_fires_after_an_upgrade_and_stops_when_cancelled() {
    let mut w = world(SEED);
    let fault = FaultSpec::LatencyInjection {
        target: w.vault,
        methods: vec![],
        rounds: 5,
        probability: Ppm::ALWAYS,
    };
    let probes = vec![probe(
        "vault-ping",
        w.vault,
        PING_METHOD,
        Tolerance::Answers,
    )];
    let first_at = w.sim.now().plus(DurationNs::from_secs(600));
    let every = DurationNs::from_secs(3600);
    let sid = w
        .sim
        .schedule_run(operator(), spec(fault, probes), first_at, Some(every))
        .unwrap();
    // chaos_system is upgraded before the first run: its timers are gone, state re-arms them.
    w.sim.reopen();
    run_until(&mut w.sim, "the first scheduled run to finish", |s| {
        s.state()
            .lab
            .experiments
            .values()
            .any(|e| e.report().is_some())
    });
    let schedule = w.sim.state().lab.safety.schedules[&sid].clone();
    assert_eq!(schedule.fired, 1);
    assert_eq!(schedule.next_at, Some(first_at.plus(every)));
    let id = schedule.last.unwrap().result.expect("the run started");
    let e = w.sim.experiment(id);
    assert!(
        e.started_at.is_some_and(|t| t >= first_at),
        "{:?}",
        e.started_at
    );
    assert!(
        e.steps
            .iter()
            .all(|s| s.cause == chaos_manager::experiment::Cause::Schedule(sid)),
        "every step names the schedule"
    );
    assert_restored(&w.sim, id);
    // Cancelled: nothing fires any more and the fleet goes idle.
    w.sim.cancel_schedule(operator(), sid).unwrap();
    w.sim.run_until_idle();
    assert_eq!(w.sim.state().lab.experiments.len(), 1);
    assert_eq!(w.sim.state().lab.safety.schedules[&sid].next_at, None);
    self_check(&mut w.sim);
}
