//! The experiment lifecycle as scenarios: given the fixture fleet, when an experiment runs and
//! the simulated fleet answers, then its states, journal, causes and report are ...

use chaos_manager::experiment::fixtures::*;
use chaos_manager::experiment::{
    commands, AbortReason, Cause, ExperimentChange, ExperimentId, LabChange, LabError, Phase,
    RollbackStrategy, Status, StepKind, Timer, Tolerance, Verdict,
};
use chaos_manager::fault::{Action, FailureMode, FaultSpec, Observation, Ppm};
use chaos_manager::safety::{SafetyLimits, StopReason};
use chaos_manager::DurationNs;

fn stop_vault() -> FaultSpec {
    FaultSpec::ServiceFailure {
        target: principal(VAULT),
        mode: FailureMode::Stop,
    }
}

fn latency_on_vault() -> FaultSpec {
    FaultSpec::LatencyInjection {
        target: principal(VAULT),
        methods: vec![],
        rounds: 7,
        probability: Ppm::ALWAYS,
    }
}

fn status(h: &LabHarness, id: ExperimentId) -> Status {
    h.lab.experiments[&id].status()
}

fn names(actions: &[Action]) -> Vec<&'static str> {
    actions.iter().map(Action::name).collect()
}

/// Causes of the steps journaled for `id`, from phase `from` on.
fn causes_from(h: &LabHarness, id: ExperimentId, from: Phase) -> Vec<Cause> {
    h.lab.experiments[&id]
        .steps
        .iter()
        .filter(|s| s.phase >= from)
        .map(|s| s.cause)
        .collect()
}

#[test]
fn the_happy_path_walks_draft_running_rolling_back_completed() {
    let mut h = LabHarness::new();
    let id = h.create(spec(stop_vault(), ORACLE)).unwrap();
    assert_eq!(status(&h, id), Status::Draft);
    h.submit(id).unwrap();
    assert_eq!(status(&h, id), Status::Running);
    let mut seen = vec![Status::Running];
    while h.step(id).is_some() {
        let s = status(&h, id);
        if seen.last() != Some(&s) {
            seen.push(s);
        }
    }
    assert_eq!(
        seen,
        [Status::Running, Status::RollingBack, Status::Completed]
    );
    let r = h.lab.experiments[&id].report().unwrap().clone();
    assert_eq!(
        (r.hypothesis_held, r.resilience_score, r.restored),
        (Some(true), Some(100), Some(true))
    );
    assert_eq!((r.before.total, r.during.total, r.after.total), (1, 6, 1));
    assert!(r.rolled_back && !r.needs_attention);
    // Every step was caused by the operator who submitted it.
    let op = LabHarness::operator().principal;
    assert!(causes_from(&h, id, Phase::Preflight)
        .iter()
        .all(|c| *c == Cause::Operator(op)));
}

#[test]
fn every_step_is_journaled_before_it_is_performed_and_the_journal_replays() {
    let mut h = LabHarness::new();
    let id = h.start(spec(stop_vault(), ORACLE)).unwrap();
    let (step, action) = h.issue(id).unwrap();
    // Journaled, not yet performed: a shell upgraded now performs it again.
    assert_eq!(h.lab.in_flight(), vec![(id, step, action.clone())]);
    assert!(matches!(
        h.journal.last().map(|(_, c)| c),
        Some(LabChange::Experiment(ExperimentChange::StepStarted { action: a, .. })) if *a == action
    ));
    let obs = h.sim.perform(&action, h.now);
    h.complete(id, step, obs).unwrap();
    h.run(id);
    assert_eq!(
        h.replay(),
        h.lab,
        "replaying the journal rebuilds the same lab"
    );
}

#[test]
fn a_stale_or_wrong_completion_is_refused() {
    let mut h = LabHarness::new();
    let id = h.start(spec(stop_vault(), ORACLE)).unwrap();
    let (step, _) = h.issue(id).unwrap();
    let e = commands::complete_step(&h.lab, id, step + 1, Observation::Done, h.now).unwrap_err();
    assert_eq!(
        e,
        LabError::StepMismatch {
            id,
            expected: Some(step),
            got: step + 1
        }
    );
    assert!(
        commands::complete_step(&h.lab, ExperimentId(99), 0, Observation::Done, h.now).is_err()
    );
}

#[test]
fn an_abort_cuts_the_fault_window_short_and_rolls_back_caused_by_whoever_aborted() {
    let mut h = LabHarness::new();
    let id = h.start(spec(stop_vault(), ORACLE)).unwrap();
    while h.lab.experiments[&id].phase != Phase::Observe {
        h.step(id);
    }
    let (wait_step, wait) = h.issue(id).unwrap();
    assert!(matches!(wait, Action::WaitUntil { .. }));
    assert!(h.lab.timers().contains(&Timer::Wait(
        id,
        wait_step,
        match wait {
            Action::WaitUntil { until } => until,
            _ => unreachable!(),
        }
    )));
    let admin = LabHarness::admin();
    let ch = commands::abort_experiment(&h.lab, &admin, id, "enough".into()).unwrap();
    h.record(admin.principal, ch);
    assert_eq!(status(&h, id), Status::RollingBack);
    // The shell's timer fires later: its completion is stale and dropped.
    assert!(matches!(
        h.complete(id, wait_step, Observation::Done),
        Err(LabError::StepMismatch { .. })
    ));
    let rest = h.run(id);
    assert_eq!(names(&rest)[0], "start_canister");
    assert!(causes_from(&h, id, Phase::Rollback)
        .iter()
        .all(|c| *c == Cause::Operator(admin.principal)));
    let r = h.lab.experiments[&id].report().unwrap();
    assert_eq!(r.verdict, Verdict::Aborted);
    assert!(r.abort_reason.as_deref().unwrap().contains("enough"));
    // Aborting twice is refused.
    assert!(commands::abort_experiment(&h.lab, &admin, id, "again".into()).is_err());
}

#[test]
fn an_unmet_steady_state_aborts_before_anything_is_injected() {
    let mut h = LabHarness::new();
    h.sim.canisters.get_mut(&principal(ORACLE)).unwrap().running = false;
    let id = h.start(spec(stop_vault(), ORACLE)).unwrap();
    let actions = h.run(id);
    assert!(!names(&actions).contains(&"stop_canister"));
    let r = h.lab.experiments[&id].report().unwrap();
    assert_eq!(r.verdict, Verdict::Aborted);
    assert!(matches!(
        h.lab.experiments[&id].abort,
        Some(AbortReason::SteadyStateNotMet { .. })
    ));
    assert_eq!(r.resilience_score, None);
    assert!(!r.rolled_back);
}

#[test]
fn a_failed_injection_aborts_and_undoes_what_may_have_acted() {
    let mut h = LabHarness::new();
    // The stop's reply is lost: it may have acted, so a start is owed anyway.
    h.sim.fail("stop_canister", VAULT, 1);
    let id = h.start(spec(stop_vault(), ORACLE)).unwrap();
    let actions = h.run(id);
    assert_eq!(
        names(&actions)
            .iter()
            .filter(|n| **n == "start_canister")
            .count(),
        1
    );
    assert!(matches!(
        h.lab.experiments[&id].abort,
        Some(AbortReason::StepFailed { .. })
    ));
    assert_eq!(
        h.lab.experiments[&id].report().unwrap().verdict,
        Verdict::Aborted
    );
    assert!(causes_from(&h, id, Phase::Rollback)
        .iter()
        .all(|c| *c == Cause::Engine));
}

#[test]
fn consecutive_deviations_stop_the_experiment() {
    let mut h = LabHarness::new();
    // The consumer depends on the stopped vault: every check fails.
    let id = h.start(spec(stop_vault(), CONSUMER)).unwrap();
    h.run(id);
    let e = &h.lab.experiments[&id];
    assert_eq!(
        e.abort,
        Some(AbortReason::StopCondition(StopReason::Deviations {
            consecutive: 5
        }))
    );
    assert_eq!(
        e.report().unwrap().during.total,
        5,
        "stopped at the fifth deviation, before the sixth tick"
    );
    assert!(causes_from(&h, id, Phase::Rollback)
        .iter()
        .all(|c| *c == Cause::StopCondition));
    assert_eq!(e.report().unwrap().verdict, Verdict::Aborted);
}

#[test]
fn cycles_below_the_floor_stop_the_experiment_before_the_fault() {
    let mut h = LabHarness::new();
    let mut limits = SafetyLimits {
        max_target_share_pct: 50,
        ..Default::default()
    };
    limits.stop.cycles_floor = Some(chaos_manager::hardening::Cycles(200_000_000_000_000));
    h.set_limits(limits);
    let id = h.start(spec(stop_vault(), ORACLE)).unwrap();
    let actions = h.run(id);
    assert!(!names(&actions).contains(&"stop_canister"));
    assert!(matches!(
        h.lab.experiments[&id].abort,
        Some(AbortReason::StopCondition(
            StopReason::CyclesBelowFloor { .. }
        ))
    ));
}

#[test]
fn a_high_probe_error_rate_stops_the_experiment() {
    let mut h = LabHarness::new();
    let mut limits = SafetyLimits {
        max_target_share_pct: 50,
        ..Default::default()
    };
    limits.stop.max_consecutive_deviations = 0;
    limits.stop.max_error_rate_ppm = 200_000;
    limits.stop.min_samples = 4;
    h.set_limits(limits);
    let mut s = spec(stop_vault(), ORACLE);
    s.hypothesis
        .probes
        .push(probe("consumer", CONSUMER, Tolerance::Answers));
    s.hypothesis.probes[1].phases.before = false;
    let id = h.start(s).unwrap();
    h.run(id);
    match &h.lab.experiments[&id].abort {
        Some(AbortReason::StopCondition(StopReason::ErrorRate {
            rate_ppm,
            threshold_ppm,
        })) => {
            assert_eq!((*rate_ppm, *threshold_ppm), (500_000, 200_000))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_max_duration_timer_rolls_back_a_run_stuck_on_a_hung_call() {
    let mut h = LabHarness::new();
    h.set_limits(SafetyLimits {
        max_target_share_pct: 50,
        max_duration: DurationNs::from_secs(120),
        ..Default::default()
    });
    let id = h.start(spec(stop_vault(), ORACLE)).unwrap();
    let deadline = h.lab.experiments[&id].deadline().unwrap();
    assert!(h
        .lab
        .timers()
        .contains(&Timer::ExperimentDeadline(id, deadline)));
    h.step(id);
    h.step(id);
    let (hung, action) = h.issue(id).unwrap();
    assert_eq!(action.name(), "stop_canister");
    h.now = deadline;
    let ch = commands::tick(&h.lab, &h.fleet, h.now, 1);
    assert_eq!(
        ch,
        vec![LabChange::Experiment(ExperimentChange::AbortRequested {
            id,
            reason: AbortReason::MaxDuration
        })]
    );
    h.record(principal(OPERATOR), ch);
    // While the hung call is still out, the past deadline is no timer to arm any more.
    assert!(!h
        .lab
        .timers()
        .iter()
        .any(|t| matches!(t, Timer::ExperimentDeadline(..))));
    // The hung stop finally answers: the rollback follows at once.
    let obs = h.sim.perform(&action, h.now);
    h.complete(id, hung, obs).unwrap();
    let rest = h.run(id);
    assert_eq!(names(&rest)[0], "start_canister");
    assert!(causes_from(&h, id, Phase::Rollback)
        .iter()
        .all(|c| *c == Cause::MaxDuration));
    assert_eq!(
        h.lab.experiments[&id].report().unwrap().verdict,
        Verdict::Aborted
    );
    assert!(
        commands::tick(&h.lab, &h.fleet, h.now, 1).is_empty(),
        "nothing overdue any more"
    );
}

#[test]
fn on_deviation_skips_the_rollback_when_the_steady_state_held() {
    let mut h = LabHarness::new();
    let mut s = spec(latency_on_vault(), ORACLE);
    s.rollback = RollbackStrategy::OnDeviation;
    let id = h.start(s).unwrap();
    let actions = h.run(id);
    assert!(!names(&actions).contains(&"clear_faults"));
    let r = h.lab.experiments[&id].report().unwrap();
    assert_eq!((r.verdict, r.rolled_back), (Verdict::Completed, false));
    assert!(
        !h.sim.canister(VAULT).plan.is_empty(),
        "left to expire by itself"
    );
}

/// A skipped rollback leaves plans that lapse by themselves: until they do the fault is live,
/// so the run keeps its target (nothing else is admitted on it) and verifies after the lapse.
#[test]
fn a_skipped_rollback_keeps_the_target_until_the_plans_lapse() {
    let mut h = LabHarness::new();
    let mut s = spec(latency_on_vault(), ORACLE);
    s.rollback = RollbackStrategy::OnDeviation;
    let id = h.start(s).unwrap();
    while h.lab.experiments[&id].phase < Phase::Rollback {
        h.step(id).expect("the run reaches its rollback phase");
    }
    let e = &h.lab.experiments[&id];
    let expires = e
        .deadline()
        .unwrap()
        .plus(chaos_manager::experiment::run::PLAN_GRACE);
    assert!(e.is_active());
    assert_eq!(h.lab.occupant(&principal(VAULT)), Some(id));
    let refused = h.start(spec(latency_on_vault(), ORACLE)).unwrap_err();
    assert!(
        matches!(
            refused,
            LabError::Safety(chaos_manager::safety::SafetyRefusal::TargetBusy { .. })
        ),
        "{refused:?}"
    );
    h.run(id);
    let e = &h.lab.experiments[&id];
    let r = e.report().unwrap();
    assert_eq!((r.verdict, r.rolled_back), (Verdict::Completed, false));
    assert!(
        r.finished_at >= expires,
        "verified only after the plans lapsed"
    );
    assert!(
        !names(&e.steps.iter().map(|s| s.action.clone()).collect::<Vec<_>>())
            .contains(&"clear_faults")
    );
    assert_eq!(h.lab.occupant(&principal(VAULT)), None);
}

/// An emergency stop while a skipped rollback's plans lapse clears them at once.
#[test]
fn an_abort_while_plans_lapse_clears_them() {
    let mut h = LabHarness::new();
    let mut s = spec(latency_on_vault(), ORACLE);
    s.rollback = RollbackStrategy::Never;
    let id = h.start(s).unwrap();
    while h.lab.experiments[&id].phase < Phase::Rollback {
        h.step(id).expect("the run reaches its rollback phase");
    }
    // The lapse wait is in flight.
    let (_, action) = h.issue(id).expect("the lapse wait");
    assert!(matches!(action, Action::WaitUntil { .. }), "{action:?}");
    let ch = commands::emergency_stop(&h.lab, &LabHarness::operator(), "stop".into()).unwrap();
    h.record(principal(OPERATOR), ch);
    let actions = h.run(id);
    assert!(
        names(&actions).contains(&"clear_faults"),
        "{:?}",
        names(&actions)
    );
    assert!(h.sim.canister(VAULT).plan.is_empty());
    let r = h.lab.experiments[&id].report().unwrap();
    assert_eq!((r.verdict, r.rolled_back), (Verdict::Aborted, true));
}

#[test]
fn on_deviation_rolls_back_when_the_steady_state_deviated() {
    let mut h = LabHarness::new();
    let mut s = spec(latency_on_vault(), VAULT);
    s.hypothesis.probes[0].tolerance = Tolerance::LatencyAtMost {
        max: DurationNs::from_secs(5),
    };
    s.duration = DurationNs::from_secs(30);
    s.rollback = RollbackStrategy::OnDeviation;
    let id = h.start(s).unwrap();
    assert!(names(&h.run(id)).contains(&"clear_faults"));
    assert!(h.lab.experiments[&id].report().unwrap().rolled_back);
}

#[test]
fn on_deviation_still_rolls_back_a_fault_that_does_not_undo_itself() {
    // The steady state is watched on the oracle, which the stop does not touch: it holds.
    let mut h = LabHarness::new();
    let mut s = spec(stop_vault(), ORACLE);
    s.rollback = RollbackStrategy::OnDeviation;
    let id = h.start(s).unwrap();
    assert!(names(&h.run(id)).contains(&"start_canister"));
    let r = h.lab.experiments[&id].report().unwrap();
    assert_eq!(r.hypothesis_held, Some(true));
    assert_eq!(
        (r.verdict, r.rolled_back, r.restored),
        (Verdict::Completed, true, Some(true))
    );
    assert!(h.sim.canister(VAULT).running);
}

#[test]
fn never_is_refused_for_faults_that_do_not_undo_themselves_and_an_abort_still_rolls_back() {
    let mut h = LabHarness::new();
    let mut s = spec(stop_vault(), ORACLE);
    s.rollback = RollbackStrategy::Never;
    let e = h.create(s).unwrap_err();
    assert!(
        e.to_string()
            .contains("`never` is refused for service_failure"),
        "{e}"
    );

    let mut s = spec(latency_on_vault(), ORACLE);
    s.rollback = RollbackStrategy::Never;
    let id = h.start(s.clone()).unwrap();
    assert!(!names(&h.run(id)).contains(&"clear_faults"));

    let mut h = LabHarness::new();
    let id = h.start(s).unwrap();
    for _ in 0..5 {
        h.step(id);
    }
    let ch =
        commands::abort_experiment(&h.lab, &LabHarness::operator(), id, "stop it".into()).unwrap();
    h.record(principal(OPERATOR), ch);
    assert!(
        names(&h.run(id)).contains(&"clear_faults"),
        "an abort always rolls back"
    );
}

#[test]
fn a_failing_rollback_is_retried_with_growing_waits_then_flagged_for_a_person() {
    let mut h = LabHarness::new();
    h.sim.fail("start_canister", VAULT, 100);
    let id = h.start(spec(stop_vault(), ORACLE)).unwrap();
    h.run(id);
    let e = &h.lab.experiments[&id];
    let starts: Vec<_> = e
        .steps
        .iter()
        .filter(|s| s.action.name() == "start_canister")
        .map(|s| s.started_at)
        .collect();
    assert_eq!(starts.len(), 6, "the backoff's max attempts");
    let gaps: Vec<u64> = starts
        .windows(2)
        .map(|w| w[1].since(w[0]).0 / 1_000_000_000)
        .collect();
    // Backoff 2 s then 4 s (+1 s per call); from the third consecutive failure the vault's
    // circuit breaker is open 30 s, then 60 s, then 120 s, and the retry waits for it.
    assert_eq!(gaps, [3, 5, 31, 61, 121]);
    assert!(e.steps.iter().any(|s| s.kind == StepKind::Backoff));
    let r = e.report().unwrap();
    assert_eq!(r.verdict, Verdict::Failed);
    assert!(r.needs_attention);
    assert!(
        r.rollback_failures[0].contains("given up after 6 attempts"),
        "{:?}",
        r.rollback_failures
    );
    assert_eq!(status(&h, id), Status::Failed);
}

#[test]
fn a_rollback_that_succeeds_on_retry_completes_with_a_lower_score() {
    let mut h = LabHarness::new();
    h.sim.fail("start_canister", VAULT, 2);
    let id = h.start(spec(stop_vault(), ORACLE)).unwrap();
    h.run(id);
    let r = h.lab.experiments[&id].report().unwrap();
    assert_eq!(
        (r.verdict, r.restored, r.resilience_score),
        (Verdict::Completed, Some(true), Some(90))
    );
}

/// Runs `id` until its rollback is done and it verifies.
fn run_to_verify(h: &mut LabHarness, id: ExperimentId) {
    while h.lab.experiments[&id].phase < Phase::Verify {
        h.step(id).expect("the run reaches its verify phase");
    }
}

#[test]
fn a_lost_status_read_after_the_rollback_is_retried_not_flagged() {
    let mut h = LabHarness::new();
    let id = h.start(spec(stop_vault(), ORACLE)).unwrap();
    run_to_verify(&mut h, id);
    h.sim.fail("read_status", VAULT, 2);
    h.run(id);
    let e = &h.lab.experiments[&id];
    let reads = e
        .steps
        .iter()
        .filter(|s| s.phase == Phase::Verify && s.action.name() == "read_status")
        .count();
    assert_eq!(reads, 3, "two failed reads, then the one that answered");
    assert!(e
        .steps
        .iter()
        .any(|s| s.phase == Phase::Verify && s.kind == StepKind::Backoff));
    let r = e.report().unwrap();
    assert_eq!((r.verdict, r.restored), (Verdict::Completed, Some(true)));
    assert!(!r.needs_attention);
}

#[test]
fn a_target_whose_status_stays_unreadable_after_the_rollback_is_flagged() {
    let mut h = LabHarness::new();
    let id = h.start(spec(stop_vault(), ORACLE)).unwrap();
    run_to_verify(&mut h, id);
    h.sim.fail("read_status", VAULT, 100);
    h.run(id);
    let r = h.lab.experiments[&id].report().unwrap();
    assert_eq!((r.verdict, r.restored), (Verdict::Failed, None));
    assert!(
        r.needs_attention,
        "a person must look: nobody saw it restored"
    );
}

#[test]
fn drafts_and_pending_experiments_are_withdrawn_without_running() {
    let mut h = LabHarness::new();
    let id = h.create(spec(stop_vault(), ORACLE)).unwrap();
    let ch = commands::abort_experiment(&h.lab, &LabHarness::operator(), id, "not today".into())
        .unwrap();
    h.record(principal(OPERATOR), ch);
    assert_eq!(status(&h, id), Status::Aborted);
    assert!(h.lab.experiments[&id].steps.is_empty());
    assert!(matches!(h.submit(id), Err(LabError::WrongState { .. })));
}

#[test]
fn experiments_need_an_operator() {
    let h = LabHarness::new();
    let auditor = commands::Caller {
        principal: principal(4),
        role: Some(chaos_manager::Role::Auditor),
    };
    let e = commands::create_experiment(&h.lab, &h.fleet, &auditor, spec(stop_vault(), ORACLE), 1)
        .unwrap_err();
    assert!(matches!(
        e,
        LabError::NotAuthorized {
            required: chaos_manager::Role::Operator,
            ..
        }
    ));
    let nobody = commands::Caller {
        principal: principal(5),
        role: None,
    };
    assert!(commands::emergency_stop(&h.lab, &nobody, "x".into()).is_err());
}

#[test]
fn the_spec_is_validated_with_messages_that_say_what_to_fix() {
    let mut h = LabHarness::new();
    let field = |r: Result<ExperimentId, LabError>| match r {
        Err(LabError::InvalidSpec { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    let mut s = spec(stop_vault(), ORACLE);
    s.title = " ".into();
    assert_eq!(field(h.create(s)), "title");
    let mut s = spec(stop_vault(), ORACLE);
    s.hypothesis.probes[0].phases.during = false;
    assert_eq!(field(h.create(s)), "hypothesis.probes.phases");
    let mut s = spec(stop_vault(), ORACLE);
    s.hypothesis.probes[0].tolerance = Tolerance::ValueWithin { min: 5, max: 1 };
    assert_eq!(field(h.create(s)), "hypothesis.probes.tolerance");
    let mut s = spec(stop_vault(), ORACLE);
    s.duration = DurationNs(0);
    assert_eq!(field(h.create(s)), "duration_ns");
    let mut s = spec(stop_vault(), ORACLE);
    s.hypothesis.probes.push(s.hypothesis.probes[0].clone());
    assert_eq!(field(h.create(s)), "hypothesis.probes.name");
    let mut s = spec(stop_vault(), ORACLE);
    s.hypothesis.probes[0].name = "n".repeat(65);
    assert_eq!(field(h.create(s)), "hypothesis.probes.name");
    let mut s = spec(stop_vault(), ORACLE);
    s.hypothesis.probes[0].name = "n".repeat(64);
    assert!(h.create(s).is_ok());
    let e = h.create(spec(stop_vault(), ORACLE).clone()).map(|_| ());
    assert!(e.is_ok());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Whatever fails, every experiment ends, its score stays within 0..=100, and the
        /// journal replays to the same lab.
        #[test]
        fn any_failure_pattern_ends_with_a_bounded_score(
            fails in proptest::collection::vec((0usize..6, 1u32..8), 0..4),
            fault in 0usize..3,
        ) {
            let mut h = LabHarness::new();
            let actions = ["stop_canister", "start_canister", "probe_via", "read_status", "set_fault_plan", "clear_faults"];
            for (a, n) in fails {
                h.sim.fail(actions[a], VAULT, n);
                h.sim.fail(actions[a], ORACLE, n);
            }
            let f = [stop_vault(), latency_on_vault(), FaultSpec::DataCorruption { target: principal(VAULT), intensity: 1 }][fault].clone();
            let id = h.start(spec(f, ORACLE)).unwrap();
            h.run(id);
            let e = &h.lab.experiments[&id];
            let r = e.report().expect("every experiment ends");
            prop_assert!(r.resilience_score.is_none_or(|s| s <= 100));
            prop_assert!(matches!(e.status(), Status::Completed | Status::Aborted | Status::Failed));
            prop_assert_eq!(h.replay(), h.lab.clone());
        }
    }
}
