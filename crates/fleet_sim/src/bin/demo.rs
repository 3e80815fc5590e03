//! The native demo: one demo_vault with deposits, registered with the simulated chaos_system,
//! then a canister_loss drill and a bad_upgrade drill with `OPS_DURING_HOLD` deposits during
//! each hold; then two chaos experiments against the vault and its consumer: a latency
//! injection, and a service failure cut short by the emergency stop. Prints the reports and a
//! summary; exits non-zero if a drill does not pass or an experiment does not end as expected
//! with the vault given back as it was.
//!
//! `cargo run -p fleet_sim --bin demo -- [--seed N]` (default seed 42).

use candid::Principal;
use chaos_api::experiment_view;
use chaos_api::render::{
    drill_report, drill_summary, experiment_report, experiment_summary_line, wrap,
};
use chaos_manager::drill::{ScenarioKind, Verdict};
use chaos_manager::experiment::{
    ExperimentId, ExperimentSpec, Hypothesis, Phase, Phases, ProbeDef, RollbackStrategy, Tolerance,
    Verdict as ExpVerdict,
};
use chaos_manager::fault::{FailureMode, FaultKind, FaultProfile, FaultSpec, Ppm};
use chaos_manager::safety::SafetyLimits;
use chaos_manager::DurationNs;
use fleet_sim::canister::CanisterStatus;
use fleet_sim::experiments::{HEALTH_METHOD, PING_METHOD};
use fleet_sim::fixtures::{
    user, vault_target_spec, DEPOSITS_BEFORE_DRILL, HOLD_NS, OPS_DURING_HOLD, VAULT_NAME,
};
use fleet_sim::sim::{admin, operator};
use fleet_sim::Sim;
use std::process::ExitCode;

fn main() -> ExitCode {
    let seed = match parse_seed(std::env::args().skip(1).collect()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("demo: {e}\nusage: demo [--seed N]");
            return ExitCode::from(2);
        }
    };
    let mut sim = Sim::new(seed);
    let vault = sim.add_vault(VAULT_NAME);
    for &(u, amount) in DEPOSITS_BEFORE_DRILL {
        sim.deposit(vault, user(u), amount)
            .unwrap_or_else(|e| panic!("deposit before the drill: {e:?}"));
    }
    sim.register_target(admin(), vault_target_spec(vault))
        .unwrap_or_else(|e| panic!("register_target: {e}"));

    println!("engine: fleet_sim (native deterministic simulator, seed {seed})");
    println!(
        "fleet: chaos_system {} controls demo_vault {vault}; {} deposits made, {OPS_DURING_HOLD} more during each hold of {} s",
        sim.suite(),
        DEPOSITS_BEFORE_DRILL.len(),
        HOLD_NS / 1_000_000_000
    );
    let mut drills = Vec::new();
    for scenario in [ScenarioKind::CanisterLoss, ScenarioKind::BadUpgrade] {
        let id = sim
            .start_drill(
                operator(),
                vault,
                scenario,
                DurationNs(HOLD_NS),
                OPS_DURING_HOLD,
            )
            .unwrap_or_else(|e| panic!("start_drill {}: {e}", scenario.name()));
        sim.run_until_idle();
        let dto = chaos_api::Drill::from(sim.drill(id));
        println!("\n{}", drill_report(&dto));
        drills.push((dto, sim.drill(id).report().map(|r| r.verdict)));
    }
    let experiments = match experiments(&mut sim, vault) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(v) = sim.self_check() {
        eprintln!("{v}");
        return ExitCode::FAILURE;
    }
    println!(
        "summary ({} events in the log, replay = live state)",
        sim.journal().log().len()
    );
    for (dto, _) in &drills {
        println!("  {}", drill_summary(dto));
    }
    for line in &experiments {
        println!("  {line}");
    }
    if drills.iter().all(|(_, v)| *v == Some(Verdict::Passed)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A consumer of the vault joins; a latency injection runs its course, then a service failure
/// is stopped by the emergency stop and an admin resumes. Returns one summary line each.
fn experiments(sim: &mut Sim, vault: Principal) -> Result<Vec<String>, String> {
    let consumer = sim.add_consumer("vault_consumer", vec![vault]);
    let mut spec = vault_target_spec(consumer);
    spec.name = "vault_consumer".into();
    spec.probe_method = HEALTH_METHOD.into();
    sim.register_target(admin(), spec)
        .map_err(|e| format!("register vault_consumer: {e}"))?;
    let profile = |dependents: Vec<Principal>| FaultProfile {
        allowed_faults: FaultKind::ALL.to_vec(),
        dependents,
        privileged_methods: vec![],
        hooks: true,
        invariant_method: None,
    };
    sim.set_fault_profile(admin(), vault, profile(vec![consumer]))
        .and_then(|()| sim.set_fault_profile(admin(), consumer, profile(vec![])))
        .map_err(|e| format!("fault profiles: {e}"))?;
    let mut limits = SafetyLimits {
        max_target_share_pct: 100,
        ..SafetyLimits::default()
    };
    limits.stop.max_consecutive_deviations = 0;
    sim.set_safety_limits(admin(), limits)
        .map_err(|e| format!("limits: {e}"))?;
    let within_5s = Tolerance::LatencyAtMost {
        max: DurationNs::from_secs(5),
    };
    let probes = vec![ProbeDef {
        name: "consumer-health".into(),
        canister: consumer,
        method: HEALTH_METHOD.into(),
        tolerance: within_5s.clone(),
        phases: Phases::ALL,
    }];
    // The vault's ping is an update: the only kind of call a delay can hold (queries never wait).
    let ping_within_5s = vec![ProbeDef {
        name: "vault-ping".into(),
        canister: vault,
        method: PING_METHOD.into(),
        tolerance: within_5s.clone(),
        phases: Phases::ALL,
    }];
    let spec = |fault: FaultSpec, probes: Vec<ProbeDef>| ExperimentSpec {
        title: format!("{} on demo_vault", fault.kind()),
        hypothesis: Hypothesis {
            title: match fault {
                FaultSpec::LatencyInjection { .. } => "demo_vault's ping answers within 5 s",
                _ => "vault_consumer answers within 5 s",
            }
            .into(),
            probes,
        },
        fault,
        duration: DurationNs::from_secs(60),
        probe_interval: DurationNs::from_secs(10),
        rollback: RollbackStrategy::Always,
    };
    let latency = FaultSpec::LatencyInjection {
        target: vault,
        methods: vec![],
        rounds: 20,
        probability: Ppm(1_000_000),
    };
    let a = sim
        .start_experiment(operator(), spec(latency, ping_within_5s))
        .map_err(|e| format!("start latency_injection: {e}"))?;
    sim.run_until_idle();
    println!("\n{}", report(sim, a));

    let failure = FaultSpec::ServiceFailure {
        target: vault,
        mode: FailureMode::Stop,
    };
    let b = sim
        .start_experiment(operator(), spec(failure, probes.clone()))
        .map_err(|e| format!("start service_failure: {e}"))?;
    // Two checks of the steady state while the vault is down, then the emergency stop.
    let observed = |sim: &Sim| {
        let e = sim.experiment(b);
        e.checks
            .iter()
            .filter(|c| c.phase == Phase::Observe)
            .count()
    };
    while observed(sim) < 2 {
        if !sim.try_step().map_err(|v| v.to_string())? {
            return Err("the service failure never ran".into());
        }
    }
    if sim.canister(vault).map(|c| c.status()) != Some(CanisterStatus::Stopped) {
        return Err("the service failure did not stop the vault".into());
    }
    println!(
        "\n[t+{:.1}s] demo_vault is stopped; the operator presses the emergency stop",
        secs(sim.now().0 - sim.experiment(b).started_at.map_or(0, |t| t.0))
    );
    sim.emergency_stop(operator(), "demo: stop everything")
        .map_err(|e| format!("emergency_stop: {e}"))?;
    let again = FaultSpec::LatencyInjection {
        target: consumer,
        methods: vec![],
        rounds: 1,
        probability: Ppm(1_000_000),
    };
    let refused = sim.start_experiment(operator(), spec(again, probes.clone()));
    println!(
        "{}",
        wrap(
            "a new experiment while stopped: ",
            &match &refused {
                Ok(_) => "ACCEPTED (wrong)".to_string(),
                Err(e) => format!("refused ({e})"),
            }
        )
    );
    sim.run_until_idle();
    println!("\n{}", report(sim, b));
    sim.resume_experiments(admin())
        .map_err(|e| format!("resume: {e}"))?;
    println!("an admin resumed experiments");

    let mut lines = Vec::new();
    let expected = [(a, ExpVerdict::Completed), (b, ExpVerdict::Aborted)];
    let mut ok = refused.is_err();
    for (id, want) in expected {
        let e = sim.experiment(id);
        let r = e.report().ok_or(format!("{id} did not finish"))?;
        ok &= r.verdict == want && r.restored == Some(true) && !r.needs_attention;
        lines.push(experiment_summary_line(&experiment_view(
            e,
            sim.motion_of(id),
        )));
    }
    let c = sim.canister(vault).ok_or("the vault is gone")?;
    ok &= c.status() == CanisterStatus::Running && c.hook_plan().is_none();
    if ok {
        Ok(lines)
    } else {
        Err(format!("an experiment did not end as expected: {lines:?}"))
    }
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// The experiment as `get_experiment` would return it, through the renderer shared with the
/// PocketIC demo.
fn report(sim: &Sim, id: ExperimentId) -> String {
    experiment_report(&experiment_view(sim.experiment(id), sim.motion_of(id)))
}

fn parse_seed(args: Vec<String>) -> Result<u64, String> {
    match args.as_slice() {
        [] => Ok(42),
        [flag, n] if flag == "--seed" => n.parse().map_err(|e| format!("--seed {n}: {e}")),
        other => Err(format!("unexpected arguments {other:?}")),
    }
}
