//! The main job on PocketIC: both drills against demo_vault, then, on a fresh lab (demo_vault
//! with its hooks armed, its dependent vault_consumer, chaos_probe), the native demo's two chaos
//! experiments: a latency injection that runs its course, and a service failure (stop) cut
//! short by the emergency stop, a new experiment refused while stopped, an admin resuming.
//! Drills and experiments are printed with the renderers the native demo uses
//! (`chaos_api::render`). Exits non-zero if a drill does not pass or an experiment does not end
//! as expected (completed / aborted, the vault given back as it was).
//! Run by scripts/demo.sh when a PocketIC server is available.

use chaos_api::render::{
    drill_report, drill_summary, experiment_report, experiment_summary_line, wrap,
};
use chaos_api::{
    EmergencyStopReply, Error, ErrorCode, Experiment, ExperimentPhase, ExperimentSpec,
    ExperimentStatus, ExperimentVerdict, FailureMode, FaultSpec, ProbeDef, Scenario, Verdict,
};
use fleet_sim::fixtures::OPS_DURING_HOLD;
use integration_tests::lab::{consumer_healthy, is_terminal, spec, vault_answers, Lab, RunStatus};
use integration_tests::{admin, operator, server_binary, Env};
use std::path::PathBuf;

/// How long each experiment's fault stays active, as in the native demo.
const FAULT_NS: u64 = 60_000_000_000;
/// Rounds of steady-state checks under the service failure before the emergency stop.
const CHECKS_BEFORE_STOP: usize = 2;
const ALWAYS: u32 = 1_000_000;

fn main() {
    let server = match server_binary() {
        Ok(s) => s,
        Err(why) => {
            eprintln!("demo_pocketic: {why}");
            std::process::exit(2);
        }
    };
    println!("engine: PocketIC ({})", server.display());
    let mut summary = Vec::new();
    let mut all_passed = true;
    {
        let env = Env::new(server.clone());
        env.fund_and_register();
        for scenario in [Scenario::CanisterLoss, Scenario::BadUpgrade] {
            let d = env.run_drill(scenario, OPS_DURING_HOLD);
            println!("{}", drill_report(&d));
            summary.push(drill_summary(&d));
            all_passed &= d.report.is_some_and(|r| r.verdict == Verdict::Passed);
        }
    }
    match experiments(server) {
        Ok(lines) => summary.extend(lines),
        Err(why) => {
            eprintln!("demo_pocketic: {why}");
            all_passed = false;
        }
    }
    println!("summary");
    for line in &summary {
        println!("  {line}");
    }
    if !all_passed {
        std::process::exit(1);
    }
}

/// A latency injection on the vault, then a service failure stopped by the emergency stop and
/// an admin resuming, on a fresh lab. One summary line each, or what did not end as expected.
fn experiments(server: PathBuf) -> Result<Vec<String>, String> {
    let lab = Lab::new(server);
    println!("\nchaos experiments on a fresh lab");
    println!("  chaos_system   {}", lab.chaos);
    println!("  demo_vault     {} (hooks armed)", lab.vault);
    println!("  vault_consumer {} (depends on demo_vault)", lab.consumer);
    println!("  chaos_probe    {} (probes as a stranger)", lab.probe);
    let probes = vec![vault_answers(lab.vault), consumer_healthy(lab.consumer)];
    let demo_spec = |fault: FaultSpec, probes: Vec<ProbeDef>| ExperimentSpec {
        duration_ns: FAULT_NS,
        ..spec(fault, probes)
    };

    // A latency injection that runs its course.
    let latency = FaultSpec::LatencyInjection {
        target: lab.vault,
        methods: vec![],
        rounds: 20,
        probability_ppm: ALWAYS,
    };
    let a = lab.start_experiment(demo_spec(latency, probes.clone())).id;
    let (ea, _) = lab.drive_until_finished(a);
    println!("\n{}", experiment_report(&ea));

    // A service failure: two rounds of checks while the vault is down, then the emergency stop.
    let failure = FaultSpec::ServiceFailure {
        target: lab.vault,
        mode: FailureMode::Stop,
    };
    let eb = lab.start_experiment(demo_spec(failure, probes.clone()));
    let b = eb.id;
    let during = probes.iter().filter(|p| p.phases.during).count().max(1);
    let eb = lab.drive_until(b, "two rounds of checks under the fault", |e| {
        observed(e) >= CHECKS_BEFORE_STOP * during || is_terminal(e.status)
    });
    if is_terminal(eb.status) {
        println!("\n{}", experiment_report(&eb));
        return Err(format!(
            "the service failure ended before the emergency stop: {:?}",
            eb.status
        ));
    }
    let vault_status = lab.canister_view(lab.vault).status;
    if vault_status != RunStatus::Stopped {
        return Err(format!(
            "the service failure did not stop the vault: {vault_status:?}"
        ));
    }
    let elapsed = lab
        .now_ns()
        .saturating_sub(eb.started_at_ns.unwrap_or(eb.created_at_ns));
    println!(
        "\n[t+{:.1}s] demo_vault is stopped; the operator presses the emergency stop",
        elapsed as f64 / 1e9
    );
    let stop: Result<EmergencyStopReply, Error> = lab.update(
        operator(),
        "emergency_stop",
        "demo: stop everything".to_string(),
    );
    let stop = stop.map_err(|e| format!("emergency_stop: {e:?}"))?;
    if !stop.aborted.contains(&b) {
        return Err(format!(
            "the emergency stop did not abort experiment {b}: {stop:?}"
        ));
    }
    // A draft may be written while stopped; submitting it is refused.
    let again = FaultSpec::LatencyInjection {
        target: lab.consumer,
        methods: vec![],
        rounds: 1,
        probability_ppm: ALWAYS,
    };
    let refused = match lab.create_experiment(operator(), demo_spec(again, probes.clone())) {
        Err(e) => Err(e),
        Ok(draft) => lab.submit_experiment(operator(), draft).map(|e| e.id),
    };
    let refused_ok = matches!(&refused, Err(e) if e.code == ErrorCode::LabHalted);
    println!(
        "{}",
        wrap(
            "a new experiment while stopped: ",
            &match &refused {
                Ok(id) => format!("ACCEPTED as experiment {id} (wrong)"),
                Err(e) => format!("refused ({:?}: {})", e.code, e.message),
            }
        )
    );
    let (eb, _) = lab.drive_until_finished(b);
    println!("\n{}", experiment_report(&eb));
    let resumed: Result<(), Error> = lab.update(admin(), "resume_experiments", ());
    resumed.map_err(|e| format!("resume_experiments: {e:?}"))?;
    let halted = lab.lab_status().halted;
    println!("an admin resumed experiments");

    let ea = lab.experiment(a);
    let mut ok = refused_ok && halted.is_none();
    ok &= ended_as(
        &ea,
        ExperimentStatus::Completed,
        ExperimentVerdict::Completed,
    );
    ok &= ended_as(&eb, ExperimentStatus::Aborted, ExperimentVerdict::Aborted);
    let vault_back = lab.canister_view(lab.vault).status == RunStatus::Running
        && lab.hook_status(lab.vault).active_plan.is_none();
    ok &= vault_back;
    let lines = vec![experiment_summary_line(&ea), experiment_summary_line(&eb)];
    if ok {
        Ok(lines)
    } else {
        Err(format!(
            "an experiment did not end as expected: {lines:?}; refused while stopped: \
             {refused_ok}; halt lifted: {}; vault running with no hook plan: {vault_back}",
            halted.is_none()
        ))
    }
}

/// Steady-state checks made while the fault was active.
fn observed(e: &Experiment) -> usize {
    e.checks
        .iter()
        .filter(|c| c.phase == ExperimentPhase::Observe)
        .count()
}

/// Ended with `status` and `verdict`, every target given back, nothing for a person to check.
fn ended_as(e: &Experiment, status: ExperimentStatus, verdict: ExperimentVerdict) -> bool {
    e.status == status
        && e.report.as_ref().is_some_and(|r| {
            r.verdict == verdict
                && r.restored == Some(true)
                && !r.needs_attention
                && r.rollback_failures.is_empty()
        })
}
