//! The drill engine as scenarios: given a target, when a drill runs and the shell answers each
//! effect so, then the timeline, RTO, RPO and verdict are ...

mod common;

use chaos_manager::command;
use chaos_manager::drill::{ScenarioKind, Verdict};
use chaos_manager::effect::{Effect, Outcome, RejectCode};
use chaos_manager::{CoreError, DurationNs, Event};
use common::*;

#[test]
fn canister_loss_passes_and_measures_rpo_as_operations_lost() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs::from_secs(30));
    let effects = h.run(id, healthy_target(5, 8));
    let names: Vec<&str> = effects.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "read_controllers",
            "probe",
            "list_canister_snapshots",
            "stop_canister",
            "take_canister_snapshot",
            "start_canister",
            "wait",
            "probe",
            "uninstall_code",
            "probe",
            "stop_canister",
            "load_canister_snapshot",
            "start_canister",
            "probe"
        ]
    );
    let report = h.state.drills[&id].report().expect("finished").clone();
    assert_eq!(report.verdict, Verdict::Passed, "{report:#?}");
    assert_eq!(report.rpo.as_ref().unwrap().operations_lost, 3);
    let rto = report.rto.unwrap();
    assert!(rto.0 > 0);
    // From the disaster's issue: 6 steps of 1 s each (disaster, detect, stop, load, start,
    // verify) in this harness.
    assert_eq!(rto, DurationNs::from_secs(6));
    assert!(report.criteria.iter().all(|c| c.passed));
    assert!(!report.needs_attention);
}

#[test]
fn bad_upgrade_installs_the_broken_module_and_rolls_back() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::BadUpgrade, DurationNs(0));
    let effects = h.run(id, healthy_target(2, 2));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::InstallBrokenModule { .. })));
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::UninstallCode { .. })));
    let report = h.state.drills[&id].report().unwrap();
    assert_eq!(report.verdict, Verdict::Passed);
    assert_eq!(report.rpo.as_ref().unwrap().operations_lost, 0);
}

#[test]
fn a_target_the_suite_does_not_control_aborts_before_touching_it() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    let effects = h.run(id, |e| match e {
        Effect::ReadControllers { .. } => Outcome::Controllers {
            controllers: vec![principal(ADMIN)],
        },
        other => panic!("no effect may follow a failed control check, got {other:?}"),
    });
    assert_eq!(effects.len(), 1);
    let report = h.state.drills[&id].report().unwrap();
    assert_eq!(report.verdict, Verdict::Aborted);
    let reason = report.abort_reason.as_deref().unwrap();
    assert!(reason.contains("is not a controller"), "{reason}");
    assert!(!report.needs_attention);
}

#[test]
fn a_failed_snapshot_aborts_and_restarts_the_stopped_target() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    let mut healthy = healthy_target(1, 1);
    let effects = h.run(id, |e| match e {
        Effect::TakeSnapshot { .. } => {
            Outcome::failed(RejectCode::CanisterError, "snapshot limit reached")
        }
        other => healthy(other),
    });
    assert!(matches!(effects.last(), Some(Effect::StartCanister { .. })));
    let d = &h.state.drills[&id];
    assert_eq!(d.timeline.last().unwrap().phase.name(), "cleanup");
    let report = d.report().unwrap();
    assert_eq!(report.verdict, Verdict::Aborted);
    assert!(!report.needs_attention, "the target was restarted");
}

#[test]
fn a_failed_cleanup_restart_flags_the_drill_for_a_person() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    let mut healthy = healthy_target(1, 1);
    h.run(id, |e| match e {
        Effect::TakeSnapshot { .. } => Outcome::failed(RejectCode::SysTransient, "busy"),
        Effect::StartCanister { .. } => Outcome::failed(RejectCode::SysTransient, "busy"),
        other => healthy(other),
    });
    let report = h.state.drills[&id].report().unwrap();
    assert_eq!(report.verdict, Verdict::Aborted);
    assert!(report.needs_attention);
}

#[test]
fn a_failed_disaster_injection_aborts_without_recovery_steps() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::BadUpgrade, DurationNs(0));
    let mut healthy = healthy_target(1, 1);
    let effects = h.run(id, |e| match e {
        Effect::InstallBrokenModule { .. } => {
            Outcome::failed(RejectCode::CanisterReject, "wasm rejected")
        }
        other => healthy(other),
    });
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::LoadSnapshot { .. })));
    assert_eq!(
        h.state.drills[&id].report().unwrap().verdict,
        Verdict::Aborted
    );
}

#[test]
fn a_failed_load_still_attempts_start_and_the_drill_fails_needing_attention() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    let mut healthy = healthy_target(1, 1);
    let effects = h.run(id, |e| match e {
        Effect::LoadSnapshot { .. } => {
            Outcome::failed(RejectCode::CanisterReject, "no such snapshot")
        }
        Effect::Probe { .. } if false => unreachable!(),
        other => healthy(other),
    });
    let n = effects.len();
    assert!(matches!(effects[n - 2], Effect::StartCanister { .. }));
    let report = h.state.drills[&id].report().unwrap();
    assert_eq!(report.verdict, Verdict::Failed);
    let failed: Vec<&str> = report
        .criteria
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    assert!(failed.contains(&"recovery_steps_succeeded"), "{failed:?}");
    assert!(failed.contains(&"service_restored"), "{failed:?}");
    assert!(report.needs_attention);
}

#[test]
fn rpo_over_objective_fails_the_verdict() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    h.run(id, healthy_target(0, 11));
    let report = h.state.drills[&id].report().unwrap();
    assert_eq!(report.rpo.as_ref().unwrap().operations_lost, 11);
    assert_eq!(report.verdict, Verdict::Failed);
    let rpo = report
        .criteria
        .iter()
        .find(|c| c.name == "rpo_within_objective")
        .unwrap();
    assert!(!rpo.passed);
}

#[test]
fn a_disaster_the_probe_does_not_notice_fails_the_detection_criterion() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::BadUpgrade, DurationNs(0));
    h.run(id, |e| match e {
        Effect::ReadControllers { .. } => Outcome::Controllers {
            controllers: vec![principal(SUITE)],
        },
        Effect::TakeSnapshot { .. } => Outcome::SnapshotTaken {
            id: chaos_manager::SnapshotId(vec![1]),
            taken_at: h_now(),
        },
        Effect::Probe { .. } => probe(4),
        Effect::ListSnapshots { .. } => Outcome::Snapshots { snapshots: vec![] },
        _ => Outcome::Done,
    });
    let report = h.state.drills[&id].report().unwrap();
    let c = report
        .criteria
        .iter()
        .find(|c| c.name == "disaster_observed")
        .unwrap();
    assert!(!c.passed);
    assert_eq!(report.verdict, Verdict::Failed);
}

fn h_now() -> chaos_manager::TimestampNs {
    chaos_manager::TimestampNs(1_000_000_000_000)
}

#[test]
fn the_hold_waits_from_the_restore_point() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs::from_secs(30));
    let effects = h.run(id, healthy_target(1, 1));
    let until = effects
        .iter()
        .find_map(|e| match e {
            Effect::WaitUntil { until } => Some(*until),
            _ => None,
        })
        .unwrap();
    assert_eq!(until.0, 1_000_000_000_000 + 3_000_000_000 + 30_000_000_000);
}

#[test]
fn the_second_drill_rotates_the_first_drills_snapshot() {
    let mut h = Harness::with_vault();
    let first = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    h.run(first, healthy_target(1, 1));
    let second = h.start(ScenarioKind::BadUpgrade, DurationNs(0));
    let effects = h.run(second, healthy_target(1, 1));
    let replace = effects.iter().find_map(|e| match e {
        Effect::TakeSnapshot { replace, .. } => Some(replace.clone()),
        _ => None,
    });
    assert_eq!(replace, Some(Some(chaos_manager::SnapshotId(vec![7; 4]))));
}

#[test]
fn outcomes_for_the_wrong_step_are_refused() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    let (step, _) = h.issue(id).unwrap();
    let err = command::complete_step(&h.state, id, step + 1, Outcome::Done, h.now).unwrap_err();
    assert!(matches!(err, CoreError::StepMismatch { .. }));
    // Nothing new is issued while a step is in flight.
    assert!(command::issue_next_step(&h.state, id).is_none());
    assert_eq!(command::in_flight_effects(&h.state).len(), 1);
}

#[test]
fn drill_finished_carries_the_report_and_the_drill_stops_running() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    h.run(id, healthy_target(1, 1));
    assert!(h.state.running_drills().next().is_none());
    assert!(command::issue_next_step(&h.state, id).is_none());
    // Events round-trip through their encoding.
    let e = Event::DrillFinished {
        drill: id,
        report: h.state.drills[&id].report().unwrap().clone(),
    };
    assert_eq!(Event::decode(&e.encode()).unwrap(), e);
}

#[test]
fn an_injection_whose_reply_was_lost_is_recovered_when_the_target_is_down() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    let mut healthy = healthy_target(2, 2);
    let effects = h.run(id, |e| match e {
        Effect::UninstallCode { .. } => {
            // The uninstall acted, but its reply was lost.
            healthy(e);
            Outcome::failed(RejectCode::SysUnknown, "reply lost")
        }
        other => healthy(other),
    });
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::LoadSnapshot { .. })));
    let report = h.state.drills[&id].report().unwrap();
    assert_eq!(report.verdict, Verdict::Passed, "{report:#?}");
    assert!(!report.needs_attention);
}

#[test]
fn a_stop_whose_reply_was_lost_is_undone_by_the_cleanup_restart() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    let mut healthy = healthy_target(1, 1);
    let effects = h.run(id, |e| match e {
        Effect::StopCanister { .. } => Outcome::failed(RejectCode::SysUnknown, "reply lost"),
        other => healthy(other),
    });
    assert!(matches!(effects.last(), Some(Effect::StartCanister { .. })));
    let report = h.state.drills[&id].report().unwrap();
    assert_eq!(report.verdict, Verdict::Aborted);
    assert!(!report.needs_attention);
}

#[test]
fn a_previous_snapshot_the_target_no_longer_holds_is_not_rotated() {
    let mut h = Harness::with_vault();
    let first = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    h.run(first, healthy_target(1, 1));
    let second = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    let mut healthy = healthy_target(1, 1);
    let effects = h.run(second, |e| match e {
        Effect::ListSnapshots { .. } => Outcome::Snapshots { snapshots: vec![] },
        other => healthy(other),
    });
    let replace = effects.iter().find_map(|e| match e {
        Effect::TakeSnapshot { replace, .. } => Some(replace.clone()),
        _ => None,
    });
    assert_eq!(replace, Some(None));
    assert_eq!(
        h.state.drills[&second].report().unwrap().verdict,
        Verdict::Passed
    );
}

#[test]
fn ten_snapshots_none_of_them_the_suites_abort_before_stopping() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    let mut healthy = healthy_target(1, 1);
    let effects = h.run(id, |e| match e {
        Effect::ListSnapshots { .. } => Outcome::Snapshots {
            snapshots: (0..10u8)
                .map(|i| chaos_manager::effect::SnapshotInfo {
                    id: chaos_manager::SnapshotId(vec![i]),
                    taken_at: h_now(),
                })
                .collect(),
        },
        other => healthy(other),
    });
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::StopCanister { .. })));
    let report = h.state.drills[&id].report().unwrap();
    assert_eq!(report.verdict, Verdict::Aborted);
    assert!(report
        .abort_reason
        .as_deref()
        .unwrap()
        .contains("snapshot delete"));
}

#[test]
fn a_target_down_before_the_drill_is_flagged() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::BadUpgrade, DurationNs(0));
    let mut healthy = healthy_target(1, 1);
    let effects = h.run(id, |e| match e {
        Effect::Probe { .. } => Outcome::failed(RejectCode::CanisterError, "is stopped"),
        other => healthy(other),
    });
    assert_eq!(effects.len(), 2);
    let report = h.state.drills[&id].report().unwrap();
    assert_eq!(report.verdict, Verdict::Aborted);
    assert!(report.needs_attention);
}
