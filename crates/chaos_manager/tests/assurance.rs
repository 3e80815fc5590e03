//! Assurance wired to the event log, as scenarios: given a suite with a registered vault, when
//! it is scanned, hardened under approval, drilled and assessed, then the recorded events, the
//! register and the readiness verdict are ... Every scenario records through a real `Journal`,
//! so each one also ends with `self_check` (replay equals the live state).

mod common;

use chaos_manager::assurance::{
    self, abandon_hardening, decide_hardening, due_for_scan, evidence_from_outcome,
    expire_accepted_risks, finish_hardening, hardening_effects, hardening_in_progress,
    ready_to_perform, record_scan, request_hardening, set_policy, set_scan_interval,
    stranded_hardening, HardeningStatus,
};
use chaos_manager::command;
use chaos_manager::drill::{DrillOptions, ScenarioKind, Verdict};
use chaos_manager::effect::{Effect, Outcome, RejectCode};
use chaos_manager::hardening::fixtures::{apply_plan, policy_approving_release, weak_evidence};
use chaos_manager::hardening::{ControlId, Evidence, HardeningError, Severity, Visibility};
use chaos_manager::journal::{replay, Journal, RecordContext};
use chaos_manager::readiness::ReadinessVerdict;
use chaos_manager::state::State;
use chaos_manager::target::{ControlEvidence, Target};
use chaos_manager::vulnerability::{FindingSource, FindingStatus, RegisterChange};
use chaos_manager::{CoreError, DrillId, DurationNs, Event, Role, SnapshotId, TimestampNs};
use common::{healthy_target, principal, vault_target, ADMIN, AUDITOR, OPERATOR, SUITE, VAULT};
use event_log::{LogConfig, LogMemories};
use ic_principal::Principal;
use ic_stable_structures::VectorMemory;

const ADMIN2: u8 = 5;
const HOUR: DurationNs = DurationNs::from_secs(3_600);
const DAY: DurationNs = DurationNs::from_secs(86_400);

/// The controls `weak_evidence` fails under `policy_approving_release` (see
/// tests/hardening.rs), and the automatically fixable ones among them.
const WEAK_FAILING: [&str; 6] = [
    "IC-CTRL-02",
    "IC-CTRL-06",
    "IC-CTRL-11",
    "IC-CTRL-15",
    "IC-CTRL-20",
    "IC-CTRL-21",
];
const FIXABLE: [&str; 4] = ["IC-CTRL-06", "IC-CTRL-11", "IC-CTRL-15", "IC-CTRL-20"];

fn ids(list: &[&str]) -> Vec<ControlId> {
    list.iter().map(|s| ControlId::new(s)).collect()
}

fn memories() -> LogMemories<VectorMemory> {
    LogMemories {
        log_index: VectorMemory::default(),
        log_data: VectorMemory::default(),
        dedup_keys: VectorMemory::default(),
        dedup_expiry: VectorMemory::default(),
    }
}

/// The suite under test: a journal over memory, a clock, and every event it recorded.
struct Suite {
    mem: LogMemories<VectorMemory>,
    j: Journal<VectorMemory>,
    now: TimestampNs,
    recorded: Vec<Event>,
}

impl Suite {
    /// Given a suite with two admins, an operator, an auditor, the vault registered and the
    /// policy approving the fixtures' release.
    fn new() -> Self {
        let mem = memories();
        let j = Journal::open(mem.clone(), LogConfig::default()).unwrap();
        let mut s = Suite {
            mem,
            j,
            now: TimestampNs(1_750_000_000_000_000_000),
            recorded: Vec::new(),
        };
        let admin = principal(ADMIN);
        s.record(
            admin,
            vec![Event::Init {
                admins: vec![admin],
                suite: principal(SUITE),
                dedup_window_ns: None,
            }],
        );
        for (p, role) in [
            (OPERATOR, Role::Operator),
            (AUDITOR, Role::Auditor),
            (ADMIN2, Role::Admin),
        ] {
            let ev = command::grant_role(s.state(), &admin, principal(p), role).unwrap();
            s.record(admin, ev);
        }
        s.register(vault_target());
        let ev = set_policy(s.state(), &admin, policy_approving_release()).unwrap();
        s.record(admin, ev);
        s
    }

    fn state(&self) -> &State {
        self.j.state()
    }

    /// Records `events` as `caller` now; returns the first sequence number.
    fn record(&mut self, caller: Principal, events: Vec<Event>) -> u64 {
        self.recorded.extend(events.iter().cloned());
        let ctx = RecordContext::new(caller, "test");
        let r = self.j.record_all(self.now, &ctx, events).unwrap();
        r.first().map_or(0, |r| r.seq())
    }

    fn tick(&mut self, d: DurationNs) {
        self.now = self.now.plus(d);
    }

    fn register(&mut self, target: Target) {
        let admin = principal(ADMIN);
        let ev = command::register_target(
            self.state(),
            &admin,
            target,
            ControlEvidence::Controllers(vec![admin, principal(SUITE)]),
        )
        .unwrap();
        self.record(admin, ev);
    }

    fn weak(&self) -> Evidence {
        weak_evidence(principal(VAULT), principal(SUITE), self.now)
    }

    /// When the operator scans `evidence`: the events recorded.
    fn scan(&mut self, evidence: Evidence) -> Vec<Event> {
        let op = principal(OPERATOR);
        let ev = record_scan(self.state(), &op, evidence, self.now).unwrap();
        self.record(op, ev.clone());
        ev
    }

    fn request(&mut self, by: u8, controls: &[&str]) -> u64 {
        let ev = request_hardening(
            self.state(),
            &principal(by),
            principal(VAULT),
            &ids(controls),
        )
        .unwrap();
        self.record(principal(by), ev)
    }

    fn decide(&mut self, by: u8, request: u64, approve: bool) {
        let ev =
            decide_hardening(self.state(), &principal(by), request, approve, "ok".into()).unwrap();
        self.record(principal(by), ev);
    }

    /// When the shell performs `request` successfully and rescans: the evidence is the
    /// scan's with the plan applied.
    fn perform(&mut self, request: u64) -> Vec<Event> {
        let plan = self.state().assurance.hardening[&request].plan.clone();
        let before = self.state().assurance.scans[&principal(VAULT)]
            .evidence
            .clone();
        let outcomes = hardening_effects(&plan)
            .iter()
            .map(|e| (e.name().to_string(), Outcome::Done))
            .collect();
        self.tick(DurationNs::from_secs(10));
        let after = apply_plan(&before, &plan, self.now);
        let ev = finish_hardening(self.state(), request, outcomes, after, self.now).unwrap();
        self.record(principal(SUITE), ev.clone());
        ev
    }

    /// A canister_loss drill that passes (the target answers like a healthy vault).
    fn run_passing_drill(&mut self) -> DrillId {
        let op = principal(OPERATOR);
        let ev = command::start_drill(
            self.state(),
            &op,
            principal(VAULT),
            ScenarioKind::CanisterLoss,
            DrillOptions::default(),
        )
        .unwrap();
        let drill = DrillId(self.record(op, ev));
        let mut respond = healthy_target(3, 3);
        while let Some((event, effect)) = command::issue_next_step(self.state(), drill) {
            let Event::DrillStepStarted { step, .. } = event else {
                unreachable!()
            };
            self.record(principal(SUITE), vec![event]);
            self.tick(DurationNs::SECOND);
            let outcome = match effect {
                Effect::TakeSnapshot { .. } => Outcome::SnapshotTaken {
                    id: SnapshotId(vec![7; 4]),
                    taken_at: self.now,
                },
                other => respond(&other),
            };
            let ev = command::complete_step(self.state(), drill, step, outcome, self.now).unwrap();
            self.record(principal(SUITE), ev);
        }
        let report = self.state().drills[&drill].report().unwrap();
        assert_eq!(report.verdict, Verdict::Passed, "{report:#?}");
        drill
    }

    fn assess(&mut self) -> chaos_manager::readiness::ReadinessAssessment {
        let op = principal(OPERATOR);
        let ev =
            assurance::assess_readiness(self.state(), &op, principal(VAULT), self.now).unwrap();
        self.record(op, ev.clone());
        match ev.into_iter().next() {
            Some(Event::ReadinessAssessed { assessment }) => *assessment,
            other => panic!("expected ReadinessAssessed, got {other:?}"),
        }
    }

    fn finding_status(&self, control: &str) -> FindingStatus {
        self.state()
            .assurance
            .register
            .for_control(principal(VAULT), &ControlId::new(control))
            .unwrap_or_else(|| panic!("no finding for {control}"))
            .status
            .clone()
    }

    /// Then the log replays to the live state, from the log and from a reopened journal.
    fn assert_replays(&self) {
        self.j.self_check().unwrap();
        assert_eq!(&replay(self.j.log(), u64::MAX).unwrap(), self.state());
        let reopened = Journal::open(self.mem.clone(), LogConfig::default()).unwrap();
        assert_eq!(reopened.state(), self.state());
    }
}

fn opened_controls(events: &[Event]) -> Vec<String> {
    let mut v: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::FindingsChanged { changes } => Some(changes),
            _ => None,
        })
        .flatten()
        .filter_map(|c| match c {
            RegisterChange::Opened { finding } => match &finding.source {
                FindingSource::FailedControl(c) => Some(c.to_string()),
                other => panic!("a scan opened a {other:?} finding"),
            },
            _ => None,
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_weak_scan_records_the_scan_and_one_finding_per_failing_control() {
    let mut s = Suite::new();
    let events = s.scan(s.weak());
    let kinds: Vec<&str> = events.iter().map(Event::kind).collect();
    assert_eq!(kinds, ["target_scanned", "findings_changed"]);
    let Event::TargetScanned { report } = &events[0] else {
        unreachable!()
    };
    let failing: Vec<String> = report.failing().map(|r| r.control.to_string()).collect();
    assert_eq!(failing, WEAK_FAILING);
    assert_eq!(opened_controls(&events), WEAK_FAILING);
    assert_eq!(s.state().assurance.register.len(), WEAK_FAILING.len());
    assert_eq!(s.state().assurance.scans[&principal(VAULT)], **report);
    // The suite's own drill history fills the drill evidence: never drilled.
    assert_eq!(report.evidence.last_drill, None);
    s.assert_replays();
}

#[test]
fn a_rescan_of_the_same_evidence_changes_nothing_in_the_register() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let register = s.state().assurance.register.clone();
    s.tick(HOUR);
    let again = s.scan(s.weak());
    assert_eq!(again.len(), 1, "only TargetScanned: {again:?}");
    assert_eq!(s.state().assurance.register, register);
    s.assert_replays();
}

#[test]
fn scans_need_an_operator_a_registered_target_and_the_suites_own_evidence() {
    let s = Suite::new();
    let auditor = principal(AUDITOR);
    let err = record_scan(s.state(), &auditor, s.weak(), s.now).unwrap_err();
    assert!(matches!(err, CoreError::NotAuthorized { .. }), "{err:?}");
    let stranger_target = weak_evidence(principal(77), principal(SUITE), s.now);
    for caller in [principal(OPERATOR), principal(SUITE)] {
        let err = record_scan(s.state(), &caller, stranger_target.clone(), s.now).unwrap_err();
        assert!(matches!(err, CoreError::TargetNotFound { .. }), "{err:?}");
    }
    let foreign = weak_evidence(principal(VAULT), principal(78), s.now);
    let err = record_scan(s.state(), &principal(OPERATOR), foreign, s.now).unwrap_err();
    assert!(matches!(err, CoreError::InvalidArgument { .. }), "{err:?}");
}

#[test]
fn a_failed_evidence_collection_scans_as_unknown_and_changes_no_finding() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let register = s.state().assurance.register.clone();
    let failed = Outcome::failed(RejectCode::SysTransient, "not delivered");
    let e = evidence_from_outcome(principal(VAULT), principal(SUITE), &failed, s.now);
    assert!(e.status.as_ref().unwrap_err().contains("not delivered"));
    let events = s.scan(e);
    let Event::TargetScanned { report } = &events[0] else {
        unreachable!()
    };
    let status_unknown = report
        .outcome("IC-CTRL-06")
        .is_some_and(|o| o.result.is_unknown());
    assert!(status_unknown);
    // The drill control still reads the suite's own history: it fails again, unchanged.
    assert_eq!(s.state().assurance.register, register);
}

#[test]
fn a_hardening_request_needs_a_scan_an_unprotected_target_and_known_failing_controls() {
    let mut s = Suite::new();
    let op = principal(OPERATOR);
    let vault = principal(VAULT);
    let err = request_hardening(s.state(), &op, vault, &ids(&["IC-CTRL-06"])).unwrap_err();
    assert_eq!(err, CoreError::NoScan { canister: vault });
    s.scan(s.weak());
    let err = request_hardening(s.state(), &op, vault, &ids(&["IC-CTRL-99"])).unwrap_err();
    assert!(matches!(
        err,
        CoreError::Hardening(HardeningError::UnknownControl { .. })
    ));
    let err = request_hardening(s.state(), &op, vault, &ids(&["IC-CTRL-10"])).unwrap_err();
    assert!(
        matches!(err, CoreError::Hardening(HardeningError::NotFailing { .. })),
        "IC-CTRL-10 passes on the weak vault: {err:?}"
    );
    let err = request_hardening(s.state(), &principal(AUDITOR), vault, &ids(&["IC-CTRL-06"]))
        .unwrap_err();
    assert!(matches!(err, CoreError::NotAuthorized { .. }));
    let protected = Target {
        protected: true,
        ..vault_target()
    };
    let ev = command::update_target(s.state(), &principal(ADMIN), protected).unwrap();
    s.record(principal(ADMIN), ev);
    let err = request_hardening(s.state(), &op, vault, &ids(&["IC-CTRL-06"])).unwrap_err();
    assert_eq!(err, CoreError::TargetProtected { canister: vault });
}

#[test]
fn a_request_records_its_plan_and_the_score_before() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let id = s.request(OPERATOR, &FIXABLE);
    let r = &s.state().assurance.hardening[&id];
    assert_eq!(r.status, HardeningStatus::Pending);
    assert_eq!(r.requested_by, principal(OPERATOR));
    assert_eq!(
        r.before_score,
        s.state().assurance.scans[&principal(VAULT)].score
    );
    let planned: Vec<String> = r.plan.controls().map(|c| c.to_string()).collect();
    assert_eq!(planned, FIXABLE);
    s.assert_replays();
}

#[test]
fn four_eyes_the_proposer_non_admins_and_decided_requests_cannot_approve() {
    let mut s = Suite::new();
    s.scan(s.weak());
    // An admin proposes (admins hold every operator right) and may not approve it.
    let own = s.request(ADMIN, &["IC-CTRL-06"]);
    let err = decide_hardening(s.state(), &principal(ADMIN), own, true, String::new());
    assert_eq!(err.unwrap_err(), CoreError::SelfApproval { request: own });
    // An operator may propose but not decide.
    let id = s.request(OPERATOR, &["IC-CTRL-15"]);
    let err = decide_hardening(s.state(), &principal(OPERATOR), id, true, String::new());
    assert!(matches!(err.unwrap_err(), CoreError::NotAuthorized { .. }));
    let err = decide_hardening(s.state(), &principal(ADMIN), 9_999, true, String::new());
    assert_eq!(
        err.unwrap_err(),
        CoreError::HardeningRequestNotFound { request: 9_999 }
    );
    // Another admin approves once; any second decision is refused.
    s.decide(ADMIN, id, true);
    assert_eq!(
        s.state().assurance.hardening[&id].status,
        HardeningStatus::Approved {
            by: principal(ADMIN)
        }
    );
    for approve in [true, false] {
        let err = decide_hardening(s.state(), &principal(ADMIN2), id, approve, String::new());
        assert_eq!(
            err.unwrap_err(),
            CoreError::HardeningNotPending { request: id }
        );
    }
    // The second admin rejects the first admin's own request, with a note.
    let ev = decide_hardening(s.state(), &principal(ADMIN2), own, false, "later".into()).unwrap();
    s.record(principal(ADMIN2), ev);
    assert!(matches!(
        &s.state().assurance.hardening[&own].status,
        HardeningStatus::Rejected { by, note } if *by == principal(ADMIN2) && note == "later"
    ));
    s.assert_replays();
}

#[test]
fn approval_is_refused_once_the_target_is_protected_but_rejection_is_not() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let id = s.request(OPERATOR, &["IC-CTRL-06"]);
    let protected = Target {
        protected: true,
        ..vault_target()
    };
    let ev = command::update_target(s.state(), &principal(ADMIN), protected).unwrap();
    s.record(principal(ADMIN), ev);
    let err = decide_hardening(s.state(), &principal(ADMIN), id, true, String::new());
    assert_eq!(
        err.unwrap_err(),
        CoreError::TargetProtected {
            canister: principal(VAULT)
        }
    );
    s.decide(ADMIN, id, false);
}

#[test]
fn hardening_effects_update_settings_first_then_stop_snapshot_start() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let all = s.request(OPERATOR, &FIXABLE);
    let plan = &s.state().assurance.hardening[&all].plan;
    let effects = hardening_effects(plan);
    let names: Vec<&str> = effects.iter().map(Effect::name).collect();
    assert_eq!(
        names,
        [
            "update_settings",
            "stop_canister",
            "take_canister_snapshot",
            "start_canister"
        ]
    );
    let Effect::UpdateSettings { canister, change } = &effects[0] else {
        unreachable!()
    };
    assert_eq!(*canister, principal(VAULT));
    assert_eq!(change.freezing_threshold_secs, Some(90 * 86_400));
    assert_eq!(change.log_visibility, Some(Visibility::Controllers));
    assert!(change.wasm_memory_threshold_bytes.is_some_and(|t| t > 0));
    assert!(matches!(
        &effects[2],
        Effect::TakeSnapshot { replace: None, .. }
    ));

    let settings_only = s.request(OPERATOR, &["IC-CTRL-15"]);
    let plan = &s.state().assurance.hardening[&settings_only].plan;
    let names: Vec<&str> = hardening_effects(plan).iter().map(Effect::name).collect();
    assert_eq!(names, ["update_settings"]);

    let snapshot_only = s.request(OPERATOR, &["IC-CTRL-20"]);
    let plan = &s.state().assurance.hardening[&snapshot_only].plan;
    let names: Vec<&str> = hardening_effects(plan).iter().map(Effect::name).collect();
    assert_eq!(
        names,
        ["stop_canister", "take_canister_snapshot", "start_canister"]
    );
}

#[test]
fn finishing_an_approved_request_resolves_the_fixed_findings_and_raises_the_score() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let id = s.request(OPERATOR, &FIXABLE);
    // Not approved yet: it cannot be finished.
    let e = s.weak();
    let err = finish_hardening(s.state(), id, vec![], e, s.now).unwrap_err();
    assert_eq!(err, CoreError::HardeningNotPending { request: id });
    s.decide(ADMIN, id, true);
    assert_eq!(ready_to_perform(s.state()).len(), 1);
    assert_eq!(hardening_in_progress(s.state(), principal(VAULT)), Some(id));
    // Evidence of another canister is refused.
    let other = weak_evidence(principal(77), principal(SUITE), s.now);
    let err = finish_hardening(s.state(), id, vec![], other, s.now).unwrap_err();
    assert!(matches!(err, CoreError::InvalidArgument { .. }), "{err:?}");

    let events = s.perform(id);
    let kinds: Vec<&str> = events.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        ["hardening_finished", "target_scanned", "findings_changed"]
    );
    let r = &s.state().assurance.hardening[&id];
    let HardeningStatus::Finished { after_score, .. } = r.status else {
        panic!("{:?}", r.status)
    };
    assert!(
        after_score > r.before_score,
        "{after_score} > {}",
        r.before_score
    );
    assert_eq!(r.finished_at, Some(s.now));
    assert!(!r.needs_attention());
    for c in FIXABLE {
        assert_eq!(s.finding_status(c), FindingStatus::Resolved, "{c}");
    }
    for c in ["IC-CTRL-02", "IC-CTRL-21"] {
        assert_eq!(s.finding_status(c), FindingStatus::Open, "{c}");
    }
    assert!(ready_to_perform(s.state()).is_empty());
    assert_eq!(hardening_in_progress(s.state(), principal(VAULT)), None);
    let err = finish_hardening(s.state(), id, vec![], s.weak(), s.now).unwrap_err();
    assert_eq!(err, CoreError::HardeningNotPending { request: id });
    s.assert_replays();
}

#[test]
fn a_hardening_whose_start_failed_needs_attention_whatever_its_stop_answered() {
    let failed = |m: &str| Outcome::failed(RejectCode::SysTransient, m);
    // The stop may have failed now and still have acted in an attempt an upgrade cut short.
    for stop in [Outcome::Done, failed("stop")] {
        let mut s = Suite::new();
        s.scan(s.weak());
        let id = s.request(OPERATOR, &["IC-CTRL-20"]);
        s.decide(ADMIN, id, true);
        let outcomes = vec![
            ("stop_canister".to_string(), stop),
            ("take_canister_snapshot".to_string(), failed("take")),
            ("start_canister".to_string(), failed("start")),
        ];
        let ev = finish_hardening(s.state(), id, outcomes, s.weak(), s.now).unwrap();
        s.record(principal(SUITE), ev);
        assert!(s.state().assurance.hardening[&id].needs_attention());
    }
}

#[test]
fn approved_requests_go_one_per_target_and_block_new_drills() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let first = s.request(OPERATOR, &["IC-CTRL-15"]);
    let second = s.request(OPERATOR, &["IC-CTRL-06"]);
    s.decide(ADMIN, first, true);
    s.decide(ADMIN, second, true);
    let ready: Vec<u64> = ready_to_perform(s.state()).iter().map(|r| r.id).collect();
    assert_eq!(ready, [first]);
    // A drill would stop and start the same canister: refused while hardening is pending.
    let err = command::start_drill(
        s.state(),
        &principal(OPERATOR),
        principal(VAULT),
        ScenarioKind::BadUpgrade,
        DrillOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, CoreError::HardeningInProgress { request, .. } if request == first),
        "{err:?}"
    );
}

#[test]
fn approved_requests_wait_for_a_running_drill() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let id = s.request(OPERATOR, &["IC-CTRL-15"]);
    let op = principal(OPERATOR);
    let ev = command::start_drill(
        s.state(),
        &op,
        principal(VAULT),
        ScenarioKind::BadUpgrade,
        DrillOptions::default(),
    )
    .unwrap();
    s.record(op, ev);
    s.decide(ADMIN, id, true);
    assert!(ready_to_perform(s.state()).is_empty(), "a drill runs");
}

#[test]
fn a_request_approved_for_a_target_that_is_then_removed_is_abandoned_without_acting() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let id = s.request(OPERATOR, &["IC-CTRL-15"]);
    s.decide(ADMIN, id, true);
    let ev = command::remove_target(s.state(), &principal(ADMIN), principal(VAULT)).unwrap();
    s.record(principal(ADMIN), ev);
    assert!(ready_to_perform(s.state()).is_empty());
    let stranded = stranded_hardening(s.state());
    assert_eq!(stranded.len(), 1);
    let (sid, reason) = &stranded[0];
    assert_eq!(*sid, id);
    let ev = abandon_hardening(s.state(), id, reason).unwrap();
    s.record(principal(SUITE), ev);
    let r = &s.state().assurance.hardening[&id];
    assert!(matches!(
        &r.status,
        HardeningStatus::Finished { outcomes, after_score }
            if outcomes.len() == 1 && outcomes[0].1.is_failure() && *after_score == r.before_score
    ));
    assert!(stranded_hardening(s.state()).is_empty());
    s.assert_replays();
}

#[test]
fn a_request_whose_target_is_removed_while_performed_finishes_without_a_rescan() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let id = s.request(OPERATOR, &["IC-CTRL-15"]);
    s.decide(ADMIN, id, true);
    let after = s.weak();
    let ev = command::remove_target(s.state(), &principal(ADMIN), principal(VAULT)).unwrap();
    s.record(principal(ADMIN), ev);
    let outcomes = vec![("update_settings".to_string(), Outcome::Done)];
    let ev = finish_hardening(s.state(), id, outcomes, after, s.now).unwrap();
    let kinds: Vec<&str> = ev.iter().map(Event::kind).collect();
    assert_eq!(kinds, ["hardening_finished"]);
    s.record(principal(SUITE), ev);
    assert!(s.state().assurance.approved_pending().next().is_none());
    s.assert_replays();
}

#[test]
fn readiness_is_blocked_on_dr_until_a_passing_drill_is_folded() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let before = s.assess();
    assert_eq!(before.verdict, ReadinessVerdict::NotReady);
    assert!(
        before
            .blocking_issues
            .iter()
            .any(|b| b.starts_with("RDY-DR-01")),
        "{:?}",
        before.blocking_issues
    );
    // When a drill passes, the remediations are applied and the target is rescanned
    let id = s.request(OPERATOR, &FIXABLE);
    s.decide(ADMIN2, id, true);
    s.perform(id);
    s.tick(HOUR);
    s.run_passing_drill();
    let mut e = s.weak();
    e.status = s.state().assurance.scans[&principal(VAULT)]
        .evidence
        .status
        .clone();
    e.snapshots = Some(vec![(SnapshotId(vec![7; 4]), s.now)]);
    s.scan(e);
    let after = s.assess();
    // Then DR no longer blocks; the access probe has never run (a blocking criterion is
    // unknown), so the target is ready with conditions
    assert!(after.criterion("RDY-DR-01").unwrap().result.is_pass());
    assert!(
        after.blocking_issues.is_empty(),
        "{:?}",
        after.blocking_issues
    );
    assert_eq!(after.verdict, ReadinessVerdict::ReadyWithConditions);
    assert!(after.overall_score > before.overall_score);
    assert_eq!(s.finding_status("IC-CTRL-21"), FindingStatus::Resolved);
    assert_eq!(
        s.state()
            .assurance
            .readiness
            .history(principal(VAULT))
            .count(),
        2
    );
    s.assert_replays();
}

#[test]
fn accepted_risks_reopen_when_their_acceptance_expires() {
    let mut s = Suite::new();
    s.scan(s.weak());
    let id = s
        .state()
        .assurance
        .register
        .for_control(principal(VAULT), &ControlId::new("IC-CTRL-02"))
        .unwrap()
        .id;
    let op = principal(OPERATOR);
    let accepted = FindingStatus::AcceptedRisk {
        reason: "the backup controller is being provisioned".into(),
        expires_at: s.now.plus(DAY),
    };
    let ev = assurance::transition_finding(s.state(), &op, id, accepted, "ack", s.now).unwrap();
    s.record(op, ev);
    s.tick(HOUR);
    assert!(expire_accepted_risks(s.state(), s.now).is_empty());
    s.tick(DAY);
    let ev = expire_accepted_risks(s.state(), s.now);
    assert_eq!(ev.len(), 1);
    s.record(principal(SUITE), ev);
    let f = s.state().assurance.register.get(id).unwrap();
    assert_eq!(f.status, FindingStatus::Open);
    assert_eq!(f.due_at, s.now.plus(f.sla));
    assert!(expire_accepted_risks(s.state(), s.now).is_empty());
    s.assert_replays();
}

#[test]
fn manual_findings_are_reported_by_operators_only() {
    let mut s = Suite::new();
    let (op, vault) = (principal(OPERATOR), principal(VAULT));
    let err = assurance::report_finding(
        s.state(),
        &principal(AUDITOR),
        vault,
        Severity::High,
        "t",
        "d",
        s.now,
    );
    assert!(matches!(err.unwrap_err(), CoreError::NotAuthorized { .. }));
    let ev =
        assurance::report_finding(s.state(), &op, vault, Severity::High, "t", "d", s.now).unwrap();
    s.record(op, ev);
    let f = s.state().assurance.register.findings().next().unwrap();
    assert_eq!(f.source, FindingSource::Manual { reporter: op });
    s.assert_replays();
}

#[test]
fn scheduled_scans_respect_the_interval_the_limit_and_go_most_overdue_first() {
    let mut s = Suite::new();
    let admin = principal(ADMIN);
    assert!(due_for_scan(s.state(), s.now, 10).is_empty(), "no schedule");
    let err = set_scan_interval(s.state(), &admin, Some(DurationNs::from_secs(60)));
    assert!(matches!(
        err.unwrap_err(),
        CoreError::InvalidArgument { .. }
    ));
    let err = set_scan_interval(s.state(), &principal(OPERATOR), Some(HOUR));
    assert!(matches!(err.unwrap_err(), CoreError::NotAuthorized { .. }));
    let ev = set_scan_interval(s.state(), &admin, Some(HOUR)).unwrap();
    s.record(admin, ev);
    for n in [11, 12] {
        s.register(Target {
            canister_id: principal(n),
            ..vault_target()
        });
    }
    assert_eq!(due_for_scan(s.state(), s.now, 10).len(), 3);
    assert_eq!(due_for_scan(s.state(), s.now, 2).len(), 2);
    // The vault is scanned now, target 11 half an hour later.
    s.scan(s.weak());
    s.tick(DurationNs::from_secs(1_800));
    let suite = principal(SUITE);
    let e11 = weak_evidence(principal(11), suite, s.now);
    let ev = record_scan(s.state(), &suite, e11, s.now).unwrap();
    s.record(suite, ev);
    assert_eq!(due_for_scan(s.state(), s.now, 10), [principal(12)]);
    s.tick(HOUR);
    // Never scanned first, then the oldest scan.
    assert_eq!(
        due_for_scan(s.state(), s.now, 10),
        [principal(12), principal(VAULT), principal(11)]
    );
    assert_eq!(due_for_scan(s.state(), s.now, 1), [principal(12)]);
    let ev = set_scan_interval(s.state(), &admin, None).unwrap();
    s.record(admin, ev);
    assert!(due_for_scan(s.state(), s.now, 10).is_empty());
    s.assert_replays();
}

#[test]
fn every_assurance_event_round_trips_through_its_encoding() {
    let mut s = Suite::new();
    let admin = principal(ADMIN);
    let ev = set_scan_interval(s.state(), &admin, Some(HOUR)).unwrap();
    s.record(admin, ev);
    s.scan(s.weak());
    let id = s.request(OPERATOR, &FIXABLE);
    s.decide(ADMIN2, id, true);
    s.perform(id);
    s.assess();
    let kinds: std::collections::BTreeSet<&str> = s.recorded.iter().map(Event::kind).collect();
    for kind in [
        "hardening_policy_set",
        "scan_schedule_set",
        "target_scanned",
        "findings_changed",
        "hardening_requested",
        "hardening_decided",
        "hardening_finished",
        "readiness_assessed",
    ] {
        assert!(kinds.contains(kind), "{kind} was not recorded");
    }
    for e in &s.recorded {
        assert_eq!(&Event::decode(&e.encode()).unwrap(), e, "{}", e.kind());
    }
    s.assert_replays();
}

#[test]
fn a_journal_with_the_whole_assurance_story_replays_to_the_live_state() {
    // Given scans, a rejected and a performed request, a drill, assessments, an accepted
    // and expired risk and a schedule change, recorded over days
    let mut s = Suite::new();
    s.scan(s.weak());
    let rejected = s.request(OPERATOR, &["IC-CTRL-06"]);
    s.decide(ADMIN, rejected, false);
    s.assess();
    let id = s.request(OPERATOR, &FIXABLE);
    s.decide(ADMIN2, id, true);
    s.perform(id);
    s.tick(DAY);
    s.run_passing_drill();
    s.scan(s.weak());
    s.assess();
    let admin = principal(ADMIN);
    let ev = set_scan_interval(s.state(), &admin, Some(HOUR)).unwrap();
    s.record(admin, ev);
    // Then the live state and every replay agree, and the fold kept what happened
    s.assert_replays();
    let a = &s.state().assurance;
    assert_eq!(a.hardening.len(), 2);
    assert_eq!(a.readiness.history(principal(VAULT)).count(), 2);
    assert_eq!(a.scan_interval, Some(HOUR));
}
