//! The emergency stop: one command aborts every running experiment, runs every rollback (with
//! backoff and circuit breakers), withdraws pending ones and refuses new ones until an admin
//! resumes.

use chaos_manager::council::MotionStatus;
use chaos_manager::experiment::fixtures::*;
use chaos_manager::experiment::{
    commands, AbortReason, Cause, ExperimentId, LabError, Phase, Status, Verdict,
};
use chaos_manager::fault::{Action, ExhaustionMode, FaultSpec, Ppm};
use chaos_manager::safety::SafetyRefusal;
use chaos_manager::DurationNs;

fn press(h: &mut LabHarness, reason: &str) {
    let op = LabHarness::operator();
    let ch = commands::emergency_stop(&h.lab, &op, reason.into()).unwrap();
    h.record(op.principal, ch);
}

/// Three experiments at different points (preflight, fault active with a wait in flight,
/// settings squeezed) and one waiting for the council.
fn busy_lab() -> (LabHarness, [ExperimentId; 4]) {
    let mut h = LabHarness::new();
    h.set_limits(chaos_manager::safety::SafetyLimits {
        max_target_share_pct: 60,
        max_concurrent: 4,
        ..Default::default()
    });
    let a = h.start(spec(stop(VAULT), SPARES[1])).unwrap();
    while h.lab.experiments[&a].phase != Phase::Observe {
        h.step(a);
    }
    let (_, wait) = h.issue(a).unwrap();
    assert!(matches!(wait, Action::WaitUntil { .. }));
    let squeeze = FaultSpec::ResourceExhaustion {
        target: principal(SPARES[2]),
        mode: ExhaustionMode::SqueezeMemory {
            wasm_memory_limit_bytes: 1 << 20,
        },
    };
    let b = h.start(spec(squeeze, SPARES[1])).unwrap();
    while h.step(b).is_some_and(|a| a.name() != "update_settings") {}
    let latency = FaultSpec::LatencyInjection {
        target: principal(SPARES[0]),
        methods: vec![],
        rounds: 2,
        probability: Ppm::ALWAYS,
    };
    let c = h.start(spec(latency, SPARES[1])).unwrap();
    h.step(c);
    let d = h.start(spec(stop(LEDGER), SPARES[1])).unwrap();
    assert_eq!(h.lab.experiments[&d].status(), Status::PendingApproval);
    (h, [a, b, c, d])
}

#[test]
fn one_stop_aborts_every_running_experiment_and_every_target_comes_back() {
    let (mut h, [a, b, c, d]) = busy_lab();
    assert_eq!(
        h.sim.canister(SPARES[2]).wasm_memory_limit_bytes,
        Some(1 << 20)
    );
    assert!(!h.sim.canister(VAULT).running);
    press(&mut h, "pager says stop");
    for id in [a, b, c] {
        assert_eq!(h.lab.experiments[&id].status(), Status::RollingBack, "{id}");
    }
    assert_eq!(
        h.lab.experiments[&d].status(),
        Status::Aborted,
        "withdrawn before it ran"
    );
    assert!(matches!(
        h.lab.council.motions.values().next().unwrap().status,
        MotionStatus::Cancelled { .. }
    ));
    // The experiment whose wait was cut short needs its shell's stale timer dropped; drive all.
    h.run_all();
    let op = principal(OPERATOR);
    for id in [a, b, c] {
        let e = &h.lab.experiments[&id];
        assert_eq!(e.report().unwrap().verdict, Verdict::Aborted, "{id}");
        assert_eq!(e.report().unwrap().restored, Some(true), "{id}");
        assert!(matches!(e.abort, Some(AbortReason::EmergencyStop { .. })));
        assert!(e
            .steps
            .iter()
            .filter(|s| s.phase == Phase::Rollback)
            .all(|s| s.cause == Cause::EmergencyStop(op)));
    }
    // Every target's status and settings equal their pre-experiment values.
    let fresh = SimFleet::new(&fleet());
    assert_eq!(
        h.sim.canisters,
        fresh
            .canisters
            .into_iter()
            .map(|(p, mut c)| {
                c.snapshots = h.sim.canisters[&p].snapshots.clone();
                (p, c)
            })
            .collect()
    );
    assert_eq!(h.replay(), h.lab);
}

#[test]
fn new_experiments_are_refused_until_an_admin_resumes() {
    let (mut h, _) = busy_lab();
    press(&mut h, "incident 42");
    h.run_all();
    let id = h
        .create(spec(stop(ORACLE), LEDGER))
        .expect("drafting is harmless");
    let e = h.submit(id).unwrap_err();
    assert!(matches!(e, LabError::Safety(SafetyRefusal::Halted(_))));
    assert!(e.to_string().contains("an admin must resume"), "{e}");
    // An operator may stop everything, but not resume.
    let op = LabHarness::operator();
    assert!(matches!(
        commands::resume(&h.lab, &op),
        Err(LabError::NotAuthorized { .. })
    ));
    let admin = LabHarness::admin();
    let ch = commands::resume(&h.lab, &admin).unwrap();
    h.record(admin.principal, ch);
    assert_eq!(commands::resume(&h.lab, &admin), Err(LabError::NotHalted));
    h.submit(id).expect("admitted after the resume");
    let (halt, resumed) = h.lab.safety.halts.last().unwrap();
    assert_eq!(
        (halt.by, halt.reason.as_str()),
        (op.principal, "incident 42")
    );
    assert_eq!(resumed.map(|(_, by)| by), Some(admin.principal));
}

#[test]
fn a_scheduled_run_during_an_emergency_stop_is_skipped_with_the_reason() {
    let mut h = LabHarness::new();
    let at = h.now.plus(DurationNs::from_secs(60));
    let latency = FaultSpec::LatencyInjection {
        target: principal(ORACLE),
        methods: vec![],
        rounds: 2,
        probability: Ppm::ALWAYS,
    };
    let ch = commands::schedule_experiment(
        &h.lab,
        &h.fleet,
        &LabHarness::operator(),
        spec(latency, LEDGER),
        at,
        None,
        h.now,
    )
    .unwrap();
    h.record(principal(OPERATOR), ch);
    press(&mut h, "freeze everything");
    h.now = at;
    let ch = commands::tick(&h.lab, &h.fleet, h.now, 3);
    h.record(principal(OPERATOR), ch);
    let run = h
        .lab
        .safety
        .schedules
        .values()
        .next()
        .unwrap()
        .last
        .clone()
        .unwrap();
    assert!(run.result.unwrap_err().contains("emergency stop"));
    assert!(h.lab.experiments.is_empty());
}

#[test]
fn a_target_that_refuses_its_rollback_is_retried_paced_by_its_breaker_then_flagged() {
    let (mut h, [a, b, c, _]) = busy_lab();
    // The vault will not start again.
    h.sim.fail("start_canister", VAULT, 1000);
    press(&mut h, "stop");
    h.run_all();
    let ea = &h.lab.experiments[&a];
    let r = ea.report().unwrap();
    assert_eq!((r.verdict, r.needs_attention), (Verdict::Failed, true));
    assert_eq!(ea.status(), Status::Failed);
    assert!(ea
        .steps
        .iter()
        .any(|s| matches!(s.action, Action::WaitUntil { .. }) && s.phase == Phase::Rollback));
    // The others were not held back by the vault.
    for id in [b, c] {
        assert_eq!(
            h.lab.experiments[&id].report().unwrap().verdict,
            Verdict::Aborted
        );
    }
    // Six attempts; after the third consecutive failure the breaker holds the next one 30 s.
    let starts: Vec<_> = ea
        .steps
        .iter()
        .filter(|s| s.action.name() == "start_canister")
        .map(|s| s.started_at)
        .collect();
    assert_eq!(starts.len(), 6);
    assert!(starts[3].since(starts[2]) >= DurationNs::from_secs(30));
    // The final status read answered: the breaker closed again, the vault is left stopped.
    assert!(!h.sim.canister(VAULT).running);
    assert_eq!(
        h.lab.experiments[&a].report().unwrap().restored,
        Some(false)
    );
}

#[test]
fn an_emergency_stop_with_nothing_running_only_halts() {
    let mut h = LabHarness::new();
    let ch = commands::emergency_stop(&h.lab, &LabHarness::operator(), "drill".into()).unwrap();
    assert_eq!(ch.len(), 1);
    h.record(principal(OPERATOR), ch);
    assert!(h.lab.safety.halt.is_some());
}
