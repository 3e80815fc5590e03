//! Safety limits: each can be violated, and then the experiment is refused or stopped.

use chaos_manager::council::MotionId;
use chaos_manager::experiment::fixtures::*;
use chaos_manager::experiment::{
    commands, Cause, ExperimentChange, ExperimentId, LabChange, LabError, Status, Timer, Tolerance,
};
use chaos_manager::fault::{FaultError, Occupant};
use chaos_manager::safety::*;
use chaos_manager::{DrillId, DurationNs, TimestampNs};

fn refusal(r: Result<ExperimentId, LabError>) -> SafetyRefusal {
    match r {
        Err(LabError::Safety(s)) => s,
        other => panic!("expected a safety refusal, got {other:?}"),
    }
}

#[test]
fn a_duration_or_probe_interval_beyond_the_limits_is_refused() {
    let mut h = LabHarness::new();
    let mut s = spec(stop(VAULT), ORACLE);
    s.duration = DurationNs::from_secs(3601);
    let r = refusal(h.start(s));
    assert!(matches!(r, SafetyRefusal::TooLong { .. }));
    assert!(r.to_string().contains("shorten the experiment"));
    let mut s = spec(stop(VAULT), ORACLE);
    s.probe_interval = DurationNs::from_secs(1);
    assert!(matches!(
        refusal(h.start(s)),
        SafetyRefusal::ProbeIntervalTooShort { .. }
    ));
}

#[test]
fn the_impact_scope_is_capped_by_count_and_by_share_of_the_registry() {
    let mut h = LabHarness::new();
    h.set_limits(SafetyLimits {
        max_targets: 1,
        ..limits()
    });
    // Stopping the vault also degrades its consumer: two targets.
    assert_eq!(
        refusal(h.start(spec(stop(VAULT), ORACLE))),
        SafetyRefusal::ScopeTooLarge { touched: 2, max: 1 }
    );
    h.start(spec(stop(LEDGER), ORACLE))
        .expect("one target fits");

    let mut h = LabHarness::new();
    h.set_limits(SafetyLimits {
        max_target_share_pct: 10,
        ..limits()
    });
    assert_eq!(
        refusal(h.start(spec(stop(VAULT), ORACLE))),
        SafetyRefusal::ShareTooLarge {
            touched: 2,
            registered: 10,
            max_pct: 10
        }
    );
}

#[test]
fn protected_targets_are_never_touched() {
    let mut h = LabHarness::new();
    assert_eq!(
        h.start(spec(latency(PROTECTED), ORACLE)).unwrap_err(),
        LabError::Fault(FaultError::Protected {
            canister: principal(PROTECTED)
        })
    );
    // A schedule cannot smuggle it in either.
    let e = commands::schedule_experiment(
        &h.lab,
        &h.fleet,
        &LabHarness::operator(),
        spec(stop(PROTECTED), ORACLE),
        h.now,
        None,
        h.now,
    );
    assert!(matches!(
        e,
        Err(LabError::Fault(FaultError::Protected { .. }))
    ));
}

/// A probe is a call that could act: a protected target is probed only through the methods its
/// registration declares for reading.
#[test]
fn a_protected_target_is_probed_only_through_its_declared_probe_method() {
    let mut h = LabHarness::new();
    // Its declared probe method (`health`): allowed, as a read of a bystander.
    let mut s = spec(latency(VAULT), ORACLE);
    s.hypothesis
        .probes
        .push(probe("bystander", PROTECTED, Tolerance::Answers));
    h.create(s.clone()).expect("the declared probe method");
    // Any other method of it: refused, saying which methods are allowed.
    s.hypothesis.probes.last_mut().unwrap().method = "withdraw_all".into();
    match h.create(s).unwrap_err() {
        LabError::InvalidSpec { field, reason } => {
            assert_eq!(field, "hypothesis.probes.method");
            assert!(reason.contains("protected"), "{reason}");
            assert!(reason.contains("`health`"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Other targets may be probed through any method the operator names.
    let mut s = spec(latency(VAULT), ORACLE);
    s.hypothesis.probes[0].method = "get_price".into();
    h.create(s).expect("an unprotected target's method");
}

#[test]
fn destructive_faults_on_critical_targets_need_approval_and_others_do_not() {
    let mut h = LabHarness::new();
    let id = h.start(spec(stop(LEDGER), ORACLE)).unwrap();
    assert_eq!(h.lab.experiments[&id].status(), Status::PendingApproval);
    let m = h.lab.council.motions.values().next().unwrap();
    assert!(
        m.summary.reasons[0].contains("critical target"),
        "{:?}",
        m.summary.reasons
    );
    assert_eq!(m.summary.critical, vec![principal(LEDGER)]);
    // Latency is not destructive: it runs at once, even on the critical ledger.
    let id = h.start(spec(latency(SPARES[0]), ORACLE)).unwrap();
    assert_eq!(h.lab.experiments[&id].status(), Status::Running);
    let id = h.start(spec(latency(LEDGER), ORACLE)).unwrap();
    assert_eq!(h.lab.experiments[&id].status(), Status::Running);
}

#[test]
fn approval_can_be_required_for_every_experiment() {
    let mut h = LabHarness::new();
    let mut l = limits();
    l.approval.always = true;
    h.set_limits(l);
    let id = h.start(spec(latency(ORACLE), LEDGER)).unwrap();
    assert_eq!(h.lab.experiments[&id].status(), Status::PendingApproval);
}

#[test]
fn the_global_concurrency_limit_is_enforced() {
    let mut h = LabHarness::new();
    h.set_limits(SafetyLimits {
        max_concurrent: 1,
        ..limits()
    });
    h.start(spec(latency(ORACLE), LEDGER)).unwrap();
    assert_eq!(
        refusal(h.start(spec(latency(SPARES[0]), LEDGER))),
        SafetyRefusal::TooManyConcurrent { max: 1 }
    );
}

#[test]
fn one_activity_per_target_experiments_drills_and_hardening_alike() {
    let mut h = LabHarness::new();
    let first = h.start(spec(stop(VAULT), ORACLE)).unwrap();
    assert_eq!(h.lab.occupant(&principal(VAULT)), Some(first));
    // The consumer is degraded by the first experiment: it is busy too.
    assert_eq!(h.lab.occupant(&principal(CONSUMER)), Some(first));
    assert_eq!(
        refusal(h.start(spec(latency(CONSUMER), LEDGER))),
        SafetyRefusal::TargetBusy {
            canister: principal(CONSUMER),
            occupant: Occupant::Experiment(first)
        }
    );
    h.run(first);
    assert_eq!(
        h.lab.occupant(&principal(VAULT)),
        None,
        "released when finished"
    );

    h.fleet
        .busy
        .insert(principal(ORACLE), Occupant::Drill(DrillId(5)));
    assert_eq!(
        refusal(h.start(spec(latency(ORACLE), LEDGER))),
        SafetyRefusal::TargetBusy {
            canister: principal(ORACLE),
            occupant: Occupant::Drill(DrillId(5))
        }
    );
    h.fleet
        .busy
        .insert(principal(ORACLE), Occupant::Hardening(3));
    assert!(matches!(
        refusal(h.start(spec(latency(ORACLE), LEDGER))),
        SafetyRefusal::TargetBusy { .. }
    ));
}

#[test]
fn an_open_circuit_breaker_refuses_new_experiments_until_it_half_opens() {
    let mut h = LabHarness::new();
    for _ in 0..3 {
        h.record(
            principal(OPERATOR),
            vec![LabChange::Safety(SafetyChange::BreakerObserved {
                canister: principal(VAULT),
                success: false,
            })],
        );
    }
    let until = h.now.plus(DurationNs::from_secs(30));
    assert_eq!(
        refusal(h.start(spec(stop(VAULT), ORACLE))),
        SafetyRefusal::BreakerOpen {
            canister: principal(VAULT),
            until
        }
    );
    h.now = until;
    assert_eq!(
        h.lab.safety.breaker_phase(&principal(VAULT), h.now),
        BreakerPhase::HalfOpen
    );
    let id = h.create(spec(stop(VAULT), ORACLE)).unwrap();
    h.submit(id).expect("half-open lets a trial through");
    h.run(id);
    assert_eq!(
        h.lab.safety.breaker_phase(&principal(VAULT), h.now),
        BreakerPhase::Closed,
        "successes close it"
    );
}

#[test]
fn backoff_doubles_from_the_base_up_to_the_cap_and_gives_up() {
    let b = Backoff {
        base: DurationNs::from_secs(2),
        max: DurationNs::from_secs(20),
        max_attempts: 5,
    };
    let delays: Vec<u64> = (1..=6).map(|n| b.delay(n).0 / 1_000_000_000).collect();
    assert_eq!(delays, [2, 4, 8, 16, 20, 20]);
    let t = TimestampNs(1_000);
    assert_eq!(
        b.next_retry_at(t, 1),
        Some(t.plus(DurationNs::from_secs(2)))
    );
    assert_eq!(
        b.next_retry_at(t, 4),
        Some(t.plus(DurationNs::from_secs(16)))
    );
    assert_eq!(b.next_retry_at(t, 5), None, "five attempts made");
    assert_eq!(
        Backoff {
            base: DurationNs(1),
            max: DurationNs(u64::MAX),
            max_attempts: 3
        }
        .delay(200),
        DurationNs(1 << 63)
    );
}

#[test]
fn circuit_breaker_closed_open_half_open_and_back() {
    let cfg = BreakerConfig {
        failure_threshold: 2,
        open_for: DurationNs::from_secs(10),
        max_open_for: DurationNs::from_secs(25),
    };
    let t = |s: u64| TimestampNs(s * 1_000_000_000);
    let mut b = CircuitBreaker::default();
    b.record(false, t(0));
    assert_eq!(b.phase(&cfg, t(0)), BreakerPhase::Closed);
    b.record(false, t(1));
    assert_eq!(b.phase(&cfg, t(1)), BreakerPhase::Open { until: t(11) });
    assert_eq!(b.phase(&cfg, t(11)), BreakerPhase::HalfOpen);
    // The trial fails: open again, twice as long.
    b.record(false, t(12));
    assert_eq!(b.phase(&cfg, t(12)), BreakerPhase::Open { until: t(32) });
    b.record(false, t(40));
    assert_eq!(
        b.phase(&cfg, t(40)),
        BreakerPhase::Open { until: t(65) },
        "capped at max_open_for"
    );
    b.record(true, t(70));
    assert_eq!(
        (b.phase(&cfg, t(70)), b.consecutive_failures),
        (BreakerPhase::Closed, 0)
    );
}

#[test]
fn limits_are_validated_and_only_admins_set_them() {
    let h = LabHarness::new();
    let admin = LabHarness::admin();
    let bad = |l: SafetyLimits| match commands::set_limits(&h.lab, &admin, l) {
        Err(LabError::InvalidLimits { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        bad(SafetyLimits {
            max_duration: DurationNs(0),
            ..limits()
        }),
        "max_duration_ns"
    );
    assert_eq!(
        bad(SafetyLimits {
            max_duration: DurationNs::from_secs(25 * 3600),
            ..limits()
        }),
        "max_duration_ns"
    );
    assert_eq!(
        bad(SafetyLimits {
            max_targets: 0,
            ..limits()
        }),
        "max_targets"
    );
    assert_eq!(
        bad(SafetyLimits {
            max_target_share_pct: 0,
            ..limits()
        }),
        "max_target_share_pct"
    );
    assert_eq!(
        bad(SafetyLimits {
            max_concurrent: 0,
            ..limits()
        }),
        "max_concurrent"
    );
    let mut l = limits();
    l.approval.rule = chaos_manager::council::Rule::AnyOf(vec![]);
    assert_eq!(bad(l), "approval.rule");
    let mut l = limits();
    l.backoff.max_attempts = 0;
    assert_eq!(bad(l), "backoff");
    assert!(matches!(
        commands::set_limits(&h.lab, &LabHarness::operator(), limits()),
        Err(LabError::NotAuthorized { .. })
    ));
}

#[test]
fn a_schedule_fires_once_at_its_time_and_its_steps_name_the_schedule() {
    let mut h = LabHarness::new();
    let at = h.now.plus(DurationNs::from_secs(100));
    let ch = commands::schedule_experiment(
        &h.lab,
        &h.fleet,
        &LabHarness::operator(),
        spec(latency(ORACLE), LEDGER),
        at,
        None,
        h.now,
    )
    .unwrap();
    h.record(principal(OPERATOR), ch);
    let sid = ScheduleId(0);
    assert!(
        h.lab.timers().contains(&Timer::Schedule(sid, at)),
        "a shell re-arms this after an upgrade"
    );
    assert!(
        commands::tick(&h.lab, &h.fleet, h.now, 7).is_empty(),
        "not due yet"
    );
    h.now = at;
    let ch = commands::tick(&h.lab, &h.fleet, h.now, 7);
    h.record(principal(OPERATOR), ch);
    let s = &h.lab.safety.schedules[&sid];
    assert_eq!((s.fired, s.next_at), (1, None));
    let id = s.last.as_ref().unwrap().result.clone().expect("started");
    assert_eq!(h.lab.experiments[&id].status(), Status::Running);
    h.run(id);
    let e = &h.lab.experiments[&id];
    assert!(e.steps.iter().all(|s| s.cause == Cause::Schedule(sid)));
    assert_eq!(e.requested_by, principal(OPERATOR));
}

#[test]
fn an_interval_schedule_skips_missed_runs_and_records_refusals() {
    let mut h = LabHarness::new();
    let every = DurationNs::from_secs(3600);
    let first = h.now.plus(every);
    let ch = commands::schedule_experiment(
        &h.lab,
        &h.fleet,
        &LabHarness::operator(),
        spec(latency(ORACLE), LEDGER),
        first,
        Some(every),
        h.now,
    )
    .unwrap();
    h.record(principal(OPERATOR), ch);
    // chaos_system was down for three and a half intervals.
    h.now = first.plus(DurationNs(every.0 * 7 / 2));
    h.fleet
        .busy
        .insert(principal(ORACLE), Occupant::Drill(DrillId(1)));
    let ch = commands::tick(&h.lab, &h.fleet, h.now, 7);
    assert_eq!(ch.len(), 1, "only the schedule's record: {ch:?}");
    h.record(principal(OPERATOR), ch);
    let s = &h.lab.safety.schedules[&ScheduleId(0)];
    assert_eq!(s.next_at, Some(first.plus(DurationNs(every.0 * 4))));
    assert!(s
        .last
        .as_ref()
        .unwrap()
        .result
        .as_ref()
        .unwrap_err()
        .contains("busy"));
    assert!(
        h.lab.experiments.is_empty(),
        "a refused run leaves no experiment behind"
    );
    let ch = commands::cancel_schedule(&h.lab, &LabHarness::operator(), ScheduleId(0)).unwrap();
    h.record(principal(OPERATOR), ch);
    assert!(h.lab.timers().is_empty());
    assert!(commands::cancel_schedule(&h.lab, &LabHarness::operator(), ScheduleId(0)).is_err());
}

#[test]
fn schedules_due_together_respect_the_concurrency_limit() {
    let mut h = LabHarness::new();
    h.set_limits(SafetyLimits {
        max_concurrent: 1,
        ..limits()
    });
    let at = h.now.plus(DurationNs::from_secs(10));
    for target in [ORACLE, SPARES[0]] {
        let ch = commands::schedule_experiment(
            &h.lab,
            &h.fleet,
            &LabHarness::operator(),
            spec(latency(target), LEDGER),
            at,
            None,
            h.now,
        )
        .unwrap();
        h.record(principal(OPERATOR), ch);
    }
    h.now = at;
    let ch = commands::tick(&h.lab, &h.fleet, h.now, 7);
    h.record(principal(OPERATOR), ch);
    let results: Vec<_> = h
        .lab
        .safety
        .schedules
        .values()
        .map(|s| s.last.clone().unwrap().result)
        .collect();
    assert_eq!(results[0], Ok(ExperimentId(0)));
    assert!(
        results[1].as_ref().unwrap_err().contains("already active"),
        "{results:?}"
    );
    assert_eq!(h.lab.active().count(), 1);
}

#[test]
fn schedules_are_validated() {
    let h = LabHarness::new();
    let op = LabHarness::operator();
    let s = || spec(latency(ORACLE), LEDGER);
    let past =
        commands::schedule_experiment(&h.lab, &h.fleet, &op, s(), TimestampNs(1), None, h.now);
    assert!(matches!(past, Err(LabError::InvalidSpec { field, .. }) if field == "first_at_ns"));
    let often = commands::schedule_experiment(
        &h.lab,
        &h.fleet,
        &op,
        s(),
        h.now,
        Some(DurationNs::from_secs(60)),
        h.now,
    );
    assert!(matches!(often, Err(LabError::InvalidSpec { field, .. }) if field == "interval_ns"));
}

#[test]
fn a_submitted_experiment_that_needs_approval_opens_one_motion_with_the_next_id() {
    let mut h = LabHarness::new();
    let id = h.start(spec(stop(LEDGER), ORACLE)).unwrap();
    let submitted = h.journal.iter().find_map(|(_, c)| match c {
        LabChange::Experiment(ExperimentChange::Submitted { motion, .. }) => Some(*motion),
        _ => None,
    });
    assert_eq!(submitted, Some(Some(MotionId(0))));
    assert_eq!(
        h.lab.council.motions[&MotionId(0)].subject,
        chaos_manager::council::Subject::Experiment(id)
    );
}
