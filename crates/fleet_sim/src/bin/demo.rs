//! The native demo: one demo_vault with deposits, registered with the simulated chaos_system,
//! then a canister_loss drill and a bad_upgrade drill with `OPS_DURING_HOLD` deposits during
//! each hold. Prints both reports and a summary; exits non-zero if a drill does not pass.
//!
//! `cargo run -p fleet_sim --bin demo -- [--seed N]` (default seed 42).

use chaos_api::render::{drill_report, drill_summary};
use chaos_manager::drill::{ScenarioKind, Verdict};
use chaos_manager::DurationNs;
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
    if drills.iter().all(|(_, v)| *v == Some(Verdict::Passed)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn parse_seed(args: Vec<String>) -> Result<u64, String> {
    match args.as_slice() {
        [] => Ok(42),
        [flag, n] if flag == "--seed" => n.parse().map_err(|e| format!("--seed {n}: {e}")),
        other => Err(format!("unexpected arguments {other:?}")),
    }
}
