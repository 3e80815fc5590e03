//! The main job on PocketIC: both drills against demo_vault, with readable reports.
//! Run by scripts/demo.sh when a PocketIC server is available.

use chaos_api::{Scenario, Verdict};
use fleet_sim::fixtures::OPS_DURING_HOLD;
use integration_tests::{server_binary, Env};

fn main() {
    let server = match server_binary() {
        Ok(s) => s,
        Err(why) => {
            eprintln!("demo_pocketic: {why}");
            std::process::exit(2);
        }
    };
    println!("engine: PocketIC ({})", server.display());
    let env = Env::new(server);
    env.fund_and_register();
    let mut all_passed = true;
    for scenario in [Scenario::CanisterLoss, Scenario::BadUpgrade] {
        let d = env.run_drill(scenario, OPS_DURING_HOLD);
        println!("{}", chaos_api::render::drill_report(&d));
        all_passed &= d.report.is_some_and(|r| r.verdict == Verdict::Passed);
    }
    if !all_passed {
        std::process::exit(1);
    }
}
