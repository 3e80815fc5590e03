//! Each fault run end to end against the simulated fleet: given the fixture fleet, when the
//! experiment runs, then these actions were performed, this was measured, and the rollback put
//! every target back.

use chaos_manager::experiment::fixtures::*;
use chaos_manager::experiment::run::PLAN_GRACE;
use chaos_manager::experiment::{ExperimentId, Status, Verdict};
use chaos_manager::fault::*;
use chaos_manager::hardening::SettingsChange;
use chaos_manager::DurationNs;

fn names(actions: &[Action]) -> Vec<&'static str> {
    actions.iter().map(Action::name).collect()
}

fn count(actions: &[Action], name: &str) -> usize {
    actions.iter().filter(|a| a.name() == name).count()
}

/// Runs `fault` with the steady state watched on `watched`; returns the actions.
fn run(h: &mut LabHarness, fault: FaultSpec, watched: u8) -> (ExperimentId, Vec<Action>) {
    let id = h.start(spec(fault, watched)).expect("admitted");
    let actions = h.run(id);
    (id, actions)
}

fn report(h: &LabHarness, id: ExperimentId) -> chaos_manager::experiment::ExperimentReport {
    h.lab.experiments[&id].report().expect("finished").clone()
}

/// Every target is as the simulation started it.
fn assert_fleet_restored(h: &LabHarness) {
    let fresh = SimFleet::new(&fleet());
    for (p, c) in &h.sim.canisters {
        let f = &fresh.canisters[p];
        assert_eq!(
            (
                c.running,
                c.freezing_threshold_secs,
                c.wasm_memory_limit_bytes,
                &c.plan,
                c.corrupted
            ),
            (
                f.running,
                f.freezing_threshold_secs,
                f.wasm_memory_limit_bytes,
                &f.plan,
                f.corrupted
            ),
            "{p} not restored"
        );
    }
}

#[test]
fn network_partition_sets_each_members_plan_and_clears_them_all() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::NetworkPartition {
        groups: vec![
            PartitionGroup {
                members: vec![principal(VAULT)],
            },
            PartitionGroup {
                members: vec![principal(ORACLE)],
            },
        ],
        methods: vec![],
    };
    let (id, actions) = run(&mut h, fault, LEDGER);
    assert_eq!(count(&actions, "set_fault_plan"), 2);
    assert_eq!(count(&actions, "clear_faults"), 2);
    let cleared: Vec<_> = actions
        .iter()
        .filter(|a| a.name() == "clear_faults")
        .filter_map(Action::canister)
        .collect();
    assert_eq!(cleared, vec![principal(VAULT), principal(ORACLE)]);
    assert_eq!(report(&h, id).verdict, Verdict::Completed);
    assert_fleet_restored(&h);
}

#[test]
fn freezing_records_the_original_threshold_first_and_restores_it() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::ResourceExhaustion {
        target: principal(VAULT),
        mode: ExhaustionMode::Freeze {
            freezing_threshold_secs: 10_000_000_000,
        },
    };
    let id = h.start(spec(fault, ORACLE)).unwrap();
    // Preflight reads the status before anything changes.
    assert_eq!(
        h.step(id),
        Some(Action::ReadStatus {
            canister: principal(VAULT)
        })
    );
    let actions = h.run(id);
    let updates: Vec<&SettingsChange> = actions
        .iter()
        .filter_map(|a| match a {
            Action::UpdateSettings { change, .. } => Some(change),
            _ => None,
        })
        .collect();
    assert_eq!(updates[0].freezing_threshold_secs, Some(10_000_000_000));
    assert_eq!(
        updates[1],
        &SettingsChange {
            freezing_threshold_secs: Some(ORIGINAL_FREEZING_SECS),
            ..Default::default()
        }
    );
    let r = report(&h, id);
    assert_eq!((r.verdict, r.restored), (Verdict::Completed, Some(true)));
    assert_fleet_restored(&h);
}

#[test]
fn the_vault_is_frozen_while_the_fault_is_active() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::ResourceExhaustion {
        target: principal(VAULT),
        mode: ExhaustionMode::Freeze {
            freezing_threshold_secs: 10_000_000_000,
        },
    };
    let id = h.start(spec(fault, ORACLE)).unwrap();
    while h.step(id).is_some_and(|a| a.name() != "update_settings") {}
    assert_eq!(
        h.sim.canister(VAULT).freezing_threshold_secs,
        10_000_000_000
    );
    let probe = h.sim.perform(
        &Action::ProbeVia {
            target: principal(VAULT),
            method: "health".into(),
        },
        h.now,
    );
    assert!(probe.is_failure(), "a frozen canister rejects calls");
}

#[test]
fn a_freeze_that_would_not_freeze_is_refused_before_any_change() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::ResourceExhaustion {
        target: principal(VAULT),
        mode: ExhaustionMode::Freeze {
            freezing_threshold_secs: 40 * 24 * 3600,
        },
    };
    let (id, actions) = run(&mut h, fault, ORACLE);
    assert_eq!(count(&actions, "update_settings"), 0);
    let r = report(&h, id);
    assert_eq!(r.verdict, Verdict::Aborted);
    assert!(
        r.abort_reason
            .as_deref()
            .unwrap()
            .contains("choose more than 8640000001 s"),
        "{r:?}"
    );
    assert_eq!(r.resilience_score, None, "nothing was injected");
}

#[test]
fn a_squeeze_is_not_made_when_the_original_limit_is_unknown() {
    let mut h = LabHarness::new();
    h.sim
        .canisters
        .get_mut(&principal(VAULT))
        .unwrap()
        .wasm_memory_limit_bytes = None;
    let fault = FaultSpec::ResourceExhaustion {
        target: principal(VAULT),
        mode: ExhaustionMode::SqueezeMemory {
            wasm_memory_limit_bytes: 1 << 20,
        },
    };
    let (id, actions) = run(&mut h, fault, ORACLE);
    assert_eq!(count(&actions, "update_settings"), 0);
    assert!(report(&h, id)
        .abort_reason
        .unwrap()
        .contains("could not be undone"));
}

#[test]
fn a_squeeze_restores_the_original_wasm_memory_limit() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::ResourceExhaustion {
        target: principal(VAULT),
        mode: ExhaustionMode::SqueezeMemory {
            wasm_memory_limit_bytes: 1 << 20,
        },
    };
    let (id, actions) = run(&mut h, fault, ORACLE);
    let last_update = actions.iter().rev().find_map(|a| match a {
        Action::UpdateSettings { change, .. } => Some(change.clone()),
        _ => None,
    });
    assert_eq!(
        last_update.unwrap().wasm_memory_limit_bytes,
        Some(ORIGINAL_WASM_LIMIT)
    );
    assert_eq!(report(&h, id).restored, Some(true));
    assert_fleet_restored(&h);
}

#[test]
fn ballast_goes_through_the_hook_and_is_cleared() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::ResourceExhaustion {
        target: principal(VAULT),
        mode: ExhaustionMode::Ballast { bytes: 1 << 20 },
    };
    let (_, actions) = run(&mut h, fault, ORACLE);
    let plan = actions.iter().find_map(|a| match a {
        Action::SetFaultPlan { plan, .. } => Some(plan.faults.clone()),
        _ => None,
    });
    assert_eq!(plan, Some(vec![HookFault::Ballast { bytes: 1 << 20 }]));
    assert_eq!(count(&actions, "clear_faults"), 1);
    assert_fleet_restored(&h);
}

#[test]
fn a_stopped_service_is_started_again_and_its_dependent_was_degraded() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::ServiceFailure {
        target: principal(VAULT),
        mode: FailureMode::Stop,
    };
    let (id, actions) = run(&mut h, fault, ORACLE);
    let n = names(&actions);
    let stop = n.iter().position(|a| *a == "stop_canister").unwrap();
    let start = n.iter().position(|a| *a == "start_canister").unwrap();
    assert!(stop < start);
    assert_eq!(report(&h, id).verdict, Verdict::Completed);
    assert_fleet_restored(&h);
}

#[test]
fn a_reject_rate_plan_carries_the_experiment_id_seed_and_an_expiry() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::ServiceFailure {
        target: principal(VAULT),
        mode: FailureMode::Reject {
            methods: vec!["withdraw".into()],
            probability: Ppm(300_000),
        },
    };
    let (id, actions) = run(&mut h, fault, ORACLE);
    let plan = actions
        .iter()
        .find_map(|a| match a {
            Action::SetFaultPlan { plan, .. } => Some(plan.clone()),
            _ => None,
        })
        .unwrap();
    let e = &h.lab.experiments[&id];
    assert_eq!((plan.plan_id, plan.seed), (id.0, 42));
    assert_eq!(plan.expires_at, e.deadline().unwrap().plus(PLAN_GRACE));
    assert_eq!(
        plan.faults,
        vec![HookFault::Reject {
            methods: vec!["withdraw".into()],
            probability: Ppm(300_000)
        }]
    );
    assert_eq!(count(&actions, "clear_faults"), 1);
    assert_eq!(count(&actions, "stop_canister"), 0);
}

#[test]
fn latency_is_injected_in_rounds_and_measured_by_the_probes() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::LatencyInjection {
        target: principal(VAULT),
        methods: vec![],
        rounds: 7,
        probability: Ppm::ALWAYS,
    };
    let mut s = spec(fault, VAULT);
    s.hypothesis.probes[0].tolerance = chaos_manager::experiment::Tolerance::LatencyAtMost {
        max: DurationNs::from_secs(5),
    };
    s.duration = DurationNs::from_secs(30);
    let id = h.start(s).unwrap();
    let actions = h.run(id);
    assert!(actions.iter().any(|a| matches!(a, Action::SetFaultPlan { plan, .. } if plan.faults == vec![HookFault::Delay { methods: vec![], rounds: 7, probability: Ppm::ALWAYS }])));
    let r = report(&h, id);
    // 3 ticks at 8 s each: out of tolerance while active, back within after the clear.
    assert_eq!((r.during.within, r.during.total), (0, 3));
    assert_eq!((r.after.within, r.after.total), (1, 1));
    assert_eq!(r.hypothesis_held, Some(false));
    assert!(
        r.alerts.is_empty()
            || r.alerts.iter().all(|a| matches!(
                a,
                chaos_manager::safety::Alert::SlowProbe { .. }
                    | chaos_manager::safety::Alert::ErrorRate { .. }
            ))
    );
    assert_fleet_restored(&h);
}

#[test]
fn data_corruption_snapshots_first_measures_detection_and_loads_the_snapshot_back() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::DataCorruption {
        target: principal(VAULT),
        intensity: 5,
    };
    let (id, actions) = run(&mut h, fault, ORACLE);
    let n = names(&actions);
    let pos = |name: &str| n.iter().position(|a| *a == name).unwrap();
    assert!(pos("stop_canister") < pos("take_canister_snapshot"));
    assert!(pos("take_canister_snapshot") < pos("set_fault_plan"));
    let tail: Vec<&str> = n.iter().rev().take(7).rev().copied().collect();
    assert_eq!(
        tail,
        [
            "clear_faults",
            "stop_canister",
            "load_canister_snapshot",
            "start_canister",
            "delete_canister_snapshot",
            "probe_via",
            "read_status"
        ]
    );
    // The restore point was given back once loaded.
    assert!(h.sim.canisters[&principal(VAULT)].snapshots.is_empty());
    let snapshot = actions.iter().find_map(|a| match a {
        Action::LoadSnapshot { snapshot, .. } => Some(snapshot.clone()),
        _ => None,
    });
    assert_eq!(
        snapshot.as_ref(),
        h.lab.experiments[&id].snapshots.get(&principal(VAULT))
    );
    let r = report(&h, id);
    // First tick 10 s after the injection; the watch runs after the steady-state probe, and
    // each call takes 1 s in this harness.
    let detected = r
        .findings
        .detection_time()
        .expect("the invariant check noticed");
    assert_eq!(detected, DurationNs::from_secs(12));
    assert_eq!(r.verdict, Verdict::Completed);
    assert!(
        !h.sim.canister(VAULT).corrupted,
        "the snapshot was loaded back"
    );
    assert_fleet_restored(&h);
}

#[test]
fn no_corruption_without_a_restore_point_and_the_stopped_target_is_restarted() {
    let mut h = LabHarness::new();
    h.sim.fail("take_canister_snapshot", VAULT, 1);
    let fault = FaultSpec::DataCorruption {
        target: principal(VAULT),
        intensity: 5,
    };
    let (id, actions) = run(&mut h, fault, ORACLE);
    assert_eq!(count(&actions, "set_fault_plan"), 0);
    assert_eq!(count(&actions, "load_canister_snapshot"), 0);
    assert_eq!(
        count(&actions, "start_canister"),
        1,
        "the stop before the snapshot owes a start"
    );
    let r = report(&h, id);
    assert_eq!(r.verdict, Verdict::Aborted);
    assert!(r
        .abort_reason
        .unwrap()
        .contains("take_canister_snapshot failed"));
    assert_fleet_restored(&h);
}

/// A one-shot access probe of the vault's declared privileged methods.
fn one_shot_breach() -> chaos_manager::experiment::ExperimentSpec {
    let mut s = spec(
        FaultSpec::SecurityBreach {
            target: principal(VAULT),
            methods: vec![],
        },
        VAULT,
    );
    s.duration = DurationNs(0);
    s
}

#[test]
fn a_security_breach_records_every_privileged_method_that_accepts_a_stranger() {
    let mut h = LabHarness::new();
    h.sim.accepting.insert("set_owner".into());
    let id = h.start(one_shot_breach()).unwrap();
    let actions = h.run(id);
    assert_eq!(count(&actions, "access_probe"), 1);
    assert_eq!(count(&actions, "wait"), 0, "a one-shot probe has no window");
    let r = report(&h, id);
    assert_eq!(
        r.findings.probed_methods,
        vec!["admin_withdraw".to_string(), "set_owner".into()]
    );
    assert_eq!(r.findings.accepted_methods, vec!["set_owner".to_string()]);
    assert!(!r.rolled_back, "nothing to undo");
    // No window: steadiness is the recovery (1000); half the methods refused (500).
    assert_eq!(r.resilience_score, Some(90));
}

/// An inconclusive method (its probe never reached its guard) neither hides another method's
/// finding nor counts as a refusal in the score.
#[test]
fn an_inconclusive_method_keeps_the_others_findings_and_counts_neither_way() {
    let mut h = LabHarness::new();
    h.sim.accepting.insert("set_owner".into());
    h.sim.inconclusive.insert("admin_withdraw".into());
    let id = h.start(one_shot_breach()).unwrap();
    h.run(id);
    let r = report(&h, id);
    assert_eq!(r.findings.accepted_methods, vec!["set_owner".to_string()]);
    assert_eq!(
        r.findings.inconclusive_methods,
        vec!["admin_withdraw: argument does not decode".to_string()]
    );
    assert_eq!(r.verdict, chaos_manager::experiment::Verdict::Completed);
    // The one conclusive method accepted: F = 0; steadiness 1000 → (30·1000 + 20·0) / 1000.
    assert_eq!(r.resilience_score, Some(80));
}

#[test]
fn a_cascade_maps_when_each_dependent_degraded() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::CascadingFailure {
        dependency: principal(VAULT),
        mode: FailureMode::Stop,
        dependents: vec![],
    };
    let (id, _) = run(&mut h, fault, LEDGER);
    let r = report(&h, id);
    // First tick at 10 s, after the steady-state probe (each call takes 1 s here).
    assert_eq!(
        r.findings.propagation_map(),
        vec![(principal(CONSUMER), Some(DurationNs::from_secs(12)))]
    );
    assert_eq!(
        r.findings.watches[0].degraded,
        r.findings.watches[0].samples
    );
    assert_eq!(r.verdict, Verdict::Completed);
    assert_fleet_restored(&h);
}

#[test]
fn a_cascade_through_a_hook_reject_is_cleared() {
    let mut h = LabHarness::new();
    let fault = FaultSpec::CascadingFailure {
        dependency: principal(ORACLE),
        mode: FailureMode::Trap {
            methods: vec![],
            probability: Ppm::ALWAYS,
        },
        dependents: vec![principal(CONSUMER)],
    };
    let (id, actions) = run(&mut h, fault, LEDGER);
    assert_eq!(count(&actions, "stop_canister"), 0);
    assert!(report(&h, id).findings.propagation_map()[0].1.is_some());
    assert_fleet_restored(&h);
}

#[test]
fn byzantine_answers_are_caught_by_consumers_that_check_them_and_missed_by_others() {
    for detecting in [true, false] {
        let mut h = LabHarness::new();
        if detecting {
            h.sim.detectors.insert(principal(CONSUMER));
        }
        let fault = FaultSpec::ByzantineFault {
            target: principal(ORACLE),
            methods: vec!["price".into()],
            probability: Ppm::ALWAYS,
            consumers: vec![],
        };
        let (id, actions) = run(&mut h, fault, LEDGER);
        assert_eq!(count(&actions, "clear_faults"), 1);
        let r = report(&h, id);
        let expected = if detecting {
            vec![principal(CONSUMER)]
        } else {
            vec![]
        };
        assert_eq!(r.findings.detected_by(), expected);
        let full = 50 + 30 + if detecting { 20 } else { 0 };
        assert_eq!(r.resilience_score, Some(full));
        assert_eq!(h.lab.experiments[&id].status(), Status::Completed);
        assert_fleet_restored(&h);
    }
}
