//! Drill scenarios on the simulated fleet: the native twins of the PocketIC scenarios.

mod common;

use chaos_manager::drill::{Action, Phase, ScenarioKind, Verdict};
use chaos_manager::effect::{Outcome, RejectCode};
use chaos_manager::Event;
use common::*;
use fleet_sim::canister::{CanisterStatus, Module};
use fleet_sim::fixtures::{DEPOSITS_BEFORE_DRILL, OPS_DURING_HOLD};

#[test]
fn canister_loss_drill_passes_and_loses_exactly_the_hold_operations() {
    // Given a registered vault with deposits
    let (mut sim, vault) = registered_vault(SEED);
    // When a canister_loss drill runs with OPS_DURING_HOLD deposits during the hold
    let id = start(&mut sim, vault, ScenarioKind::CanisterLoss);
    sim.run_until_idle();
    // Then it passes with RTO > 0 and RPO == OPS_DURING_HOLD
    let d = sim.drill(id);
    assert_passed_with_fixture_rpo(d);
    assert!(d.timeline.iter().any(|e| e.action == Action::UninstallCode));
    // And the vault serves the restore point's state again
    let restored = probe(&sim, vault);
    assert_eq!(restored.operation_count, DEPOSITS_BEFORE_DRILL.len() as u64);
    assert_eq!(Some(&restored), d.baseline.as_ref());
}

#[test]
fn bad_upgrade_drill_passes_and_loses_exactly_the_hold_operations() {
    let (mut sim, vault) = registered_vault(SEED);
    let id = start(&mut sim, vault, ScenarioKind::BadUpgrade);
    sim.run_until_idle();
    let d = sim.drill(id);
    assert_passed_with_fixture_rpo(d);
    let down = d
        .timeline
        .iter()
        .find(|e| e.action == Action::ProbeExpectDown)
        .and_then(|e| e.outcome.clone());
    assert!(
        matches!(&down, Some(Outcome::Failed { failure }) if failure.message.contains("has no query method")),
        "the broken module answers no method: {down:?}"
    );
    assert_eq!(sim.canister(vault).unwrap().module(), Module::Vault);
}

#[test]
fn a_transient_failure_of_the_disaster_step_aborts_and_leaves_the_target_serving() {
    // Given a registered vault whose uninstall_code will be rejected as SysTransient
    let (mut sim, vault) = registered_vault(SEED);
    sim.fail_next(vault, "uninstall_code", RejectCode::SysTransient);
    // When a canister_loss drill runs
    let id = start(&mut sim, vault, ScenarioKind::CanisterLoss);
    sim.run_until_idle();
    // Then it is aborted, says why, and nothing is lost: the hold's deposits are still there
    let d = sim.drill(id);
    let report = d.report().unwrap();
    assert_eq!(report.verdict, Verdict::Aborted);
    let reason = report.abort_reason.as_deref().unwrap();
    assert!(
        reason.contains("uninstall_code") && reason.contains("SysTransient"),
        "{reason}"
    );
    assert!(!report.needs_attention);
    let c = sim.canister(vault).unwrap();
    assert_eq!(
        (c.status(), c.module()),
        (CanisterStatus::Running, Module::Vault)
    );
    let expected_ops = (DEPOSITS_BEFORE_DRILL.len() as u32 + OPS_DURING_HOLD) as u64;
    assert_eq!(probe(&sim, vault).operation_count, expected_ops);
}

#[test]
fn a_transient_failure_while_taking_the_restore_point_aborts_and_restarts_the_target() {
    // Given a registered vault whose next snapshot will be rejected as SysTransient
    let (mut sim, vault) = registered_vault(SEED);
    sim.fail_next(vault, "take_canister_snapshot", RejectCode::SysTransient);
    // When a bad_upgrade drill runs (it stops the target before the snapshot)
    let id = start(&mut sim, vault, ScenarioKind::BadUpgrade);
    sim.run_until_idle();
    // Then it is aborted, its cleanup restarted the target, and no disaster was injected
    let d = sim.drill(id);
    let report = d.report().unwrap();
    assert_eq!(report.verdict, Verdict::Aborted);
    assert!(!report.needs_attention);
    let last = d.timeline.last().unwrap();
    assert_eq!((last.phase, last.action), (Phase::Cleanup, Action::Start));
    assert_eq!(last.outcome, Some(Outcome::Done));
    assert!(d.disaster_at.is_none());
    assert_eq!(
        sim.canister(vault).unwrap().status(),
        CanisterStatus::Running
    );
    assert_eq!(
        probe(&sim, vault).operation_count,
        DEPOSITS_BEFORE_DRILL.len() as u64
    );
}

#[test]
fn a_failed_restart_after_an_abort_is_flagged_as_needing_attention() {
    // Given a snapshot failure followed by a failed cleanup restart
    let (mut sim, vault) = registered_vault(SEED);
    sim.fail_next(vault, "take_canister_snapshot", RejectCode::SysTransient);
    sim.fail_next(vault, "start_canister", RejectCode::SysTransient);
    // When the drill runs
    let id = start(&mut sim, vault, ScenarioKind::CanisterLoss);
    sim.run_until_idle();
    // Then the target stays stopped and the report says a person must look
    let report = sim.drill(id).report().unwrap();
    assert_eq!(report.verdict, Verdict::Aborted);
    assert!(report.needs_attention);
    assert_eq!(
        sim.canister(vault).unwrap().status(),
        CanisterStatus::Stopped
    );
}

#[test]
fn every_step_is_journaled_before_its_effect_and_completed_after_it() {
    let (mut sim, vault) = registered_vault(SEED);
    let id = start(&mut sim, vault, ScenarioKind::CanisterLoss);
    sim.run_until_idle();
    let log = sim.journal().log();
    let mut open: Option<u16> = None;
    for env in log.read(0, log.len() as usize) {
        let (_, event) = chaos_manager::journal::decode_envelope(&env).unwrap();
        match event {
            Event::DrillStepStarted { drill, step, .. } if drill == id => {
                assert_eq!(open, None, "step {step} started while another was open");
                open = Some(step);
            }
            Event::DrillStepCompleted { drill, step, .. } if drill == id => {
                assert_eq!(open.take(), Some(step));
            }
            _ => {}
        }
    }
    assert_eq!(open, None);
}
