//! Scenario builders shared by the native scenarios (the PocketIC twins use the same
//! `fleet_sim::fixtures`).

#![allow(dead_code)]

use candid::Principal;
use chaos_manager::drill::{Drill, ScenarioKind};
use chaos_manager::effect::StateProbe;
use chaos_manager::{DrillId, DurationNs};
use fleet_sim::fixtures::{
    user, vault_target_spec, DEPOSITS_BEFORE_DRILL, HOLD_NS, OPS_DURING_HOLD,
};
use fleet_sim::sim::{admin, operator};
use fleet_sim::Sim;

pub const SEED: u64 = 42;

/// Given a fleet whose demo_vault holds `DEPOSITS_BEFORE_DRILL` and is registered.
pub fn registered_vault(seed: u64) -> (Sim, Principal) {
    let (mut sim, vault) = vault_with_deposits(seed);
    sim.register_target(admin(), vault_target_spec(vault))
        .expect("register the vault");
    (sim, vault)
}

/// Given a fleet whose demo_vault (controlled by chaos_system) holds `DEPOSITS_BEFORE_DRILL`.
pub fn vault_with_deposits(seed: u64) -> (Sim, Principal) {
    let mut sim = Sim::new(seed);
    let vault = sim.add_vault("demo_vault");
    deposit_fixtures(&mut sim, vault);
    (sim, vault)
}

pub fn deposit_fixtures(sim: &mut Sim, vault: Principal) {
    for &(u, amount) in DEPOSITS_BEFORE_DRILL {
        sim.deposit(vault, user(u), amount).expect("deposit");
    }
}

/// When the operator starts `scenario` with the fixture hold and hold operations.
pub fn start(sim: &mut Sim, vault: Principal, scenario: ScenarioKind) -> DrillId {
    sim.start_drill(
        operator(),
        vault,
        scenario,
        DurationNs(HOLD_NS),
        OPS_DURING_HOLD,
    )
    .expect("start_drill")
}

pub fn probe(sim: &Sim, vault: Principal) -> StateProbe {
    sim.probe(vault).expect("the vault answers its probe")
}

/// Then the drill passed, with RTO > 0 and exactly `OPS_DURING_HOLD` operations lost.
pub fn assert_passed_with_fixture_rpo(d: &Drill) {
    let report = d.report().expect("the drill finished");
    assert_eq!(
        report.verdict,
        chaos_manager::drill::Verdict::Passed,
        "{}",
        chaos_api::render::drill_report(&chaos_api::Drill::from(d))
    );
    assert!(report.rto.expect("RTO measured").0 > 0);
    let rpo = report.rpo.as_ref().expect("RPO measured");
    assert_eq!(rpo.operations_lost, OPS_DURING_HOLD as u64);
    assert!(!report.needs_attention);
}
