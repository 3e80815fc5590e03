//! Determinism and the random run generator.

mod common;

use chaos_manager::drill::ScenarioKind;
use common::*;
use fleet_sim::random_run;
use fleet_sim::Sim;

/// The demo's script: both drills on one registered vault. Returns the log's tip hash.
fn demo_script(seed: u64) -> ([u8; 32], u64) {
    let (mut sim, vault) = registered_vault(seed);
    for scenario in ScenarioKind::ALL {
        start(&mut sim, vault, scenario);
        sim.run_until_idle();
    }
    let log = sim.journal().log();
    (log.tip_hash(), log.len())
}

#[test]
fn the_same_seed_gives_the_identical_event_log() {
    assert_eq!(demo_script(7), demo_script(7));
}

#[test]
fn a_different_seed_gives_different_timings_hence_a_different_log() {
    let (a, len_a) = demo_script(7);
    let (b, len_b) = demo_script(8);
    assert_eq!(len_a, len_b, "the same script records the same events");
    assert_ne!(
        a, b,
        "latencies come from the seed and are recorded in the log"
    );
}

#[test]
fn random_runs_replay_exactly_from_their_seed() {
    for seed in [3, 11] {
        assert_eq!(
            random_run::run(seed).unwrap(),
            random_run::run(seed).unwrap()
        );
    }
}

#[test]
fn twenty_seeded_random_runs_keep_every_invariant() {
    let mut drills = 0;
    for seed in 0..20 {
        let summary = random_run::run(seed).unwrap_or_else(|v| panic!("{v}"));
        drills += summary.drills;
    }
    assert!(drills > 0, "the generator started no drill in 20 seeds");
}

#[test]
fn a_violation_names_its_seed_and_the_last_events() {
    let sim = Sim::new(99);
    let v = sim.violation("example");
    let text = v.to_string();
    assert!(text.contains("seed 99"), "{text}");
    assert!(text.contains("init"), "{text}");
    assert!(text.contains("--start 99"), "{text}");
}
