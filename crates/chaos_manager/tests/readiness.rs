//! Production readiness as scenarios: a weakly configured target is not ready, and says why;
//! after remediation, a passing drill and experiments it becomes ready; the history shows the
//! trend; the reports render safely.

use chaos_manager::drill::{DrillReport, Verdict};
use chaos_manager::hardening::fixtures::{
    apply_plan, backup_owner, policy_approving_release, weak_evidence,
};
use chaos_manager::hardening::plan::plan_hardening;
use chaos_manager::hardening::policy::{days, HardeningPolicy};
use chaos_manager::hardening::scan::{scan, ScanReport};
use chaos_manager::hardening::{
    AccessProbeEvidence, ControlId, ControlResult, DrillEvidence, Evidence, RunStatus,
};
use chaos_manager::readiness::{
    assess, render_html, render_json, verdict, Category, Criterion, DrillHistorySummary,
    ExperimentSummary, ReadinessAssessment, ReadinessHistory, ReadinessInputs, ReadinessSummary,
    ReadinessVerdict, Trend,
};
use chaos_manager::vulnerability::{Finding, Register};
use chaos_manager::{DurationNs, TimestampNs};
use ic_principal::Principal;

fn target() -> Principal {
    Principal::from_slice(&[0x0a, 0x01])
}
fn suite() -> Principal {
    Principal::from_slice(&[0x05, 0x01])
}
const T0: TimestampNs = TimestampNs(1_750_000_000_000_000_000);
fn at(d: DurationNs) -> TimestampNs {
    T0.plus(d)
}
fn policy() -> HardeningPolicy {
    policy_approving_release()
}

/// One target under watch: its evidence, the register, drills and experiments.
struct Fixture {
    evidence: Evidence,
    register: Register,
    drills: Vec<DrillReport>,
    experiments: Option<ExperimentSummary>,
    history: ReadinessHistory,
}

impl Fixture {
    fn weak() -> Self {
        Fixture {
            evidence: weak_evidence(target(), suite(), T0),
            register: Register::default(),
            drills: vec![],
            experiments: None,
            history: ReadinessHistory::default(),
        }
    }

    /// Scans at `now`, folds the scan into the register, assesses and records the assessment.
    fn assess(&mut self, now: TimestampNs) -> ReadinessAssessment {
        self.evidence.collected_at = now;
        let report = scan(&self.evidence, &policy(), now);
        self.register.apply_scan(&report, &policy().sla, now);
        let a = self.assess_scan(&report, now);
        self.history.record(target(), a.summary());
        a
    }

    fn assess_scan(&self, report: &ScanReport, now: TimestampNs) -> ReadinessAssessment {
        let active = self.register.active_for(target());
        let findings: Vec<&Finding> = active.to_vec();
        let drills = DrillHistorySummary::from_reports(&self.drills);
        assess(&ReadinessInputs {
            scan: report,
            findings: &findings,
            drills: &drills,
            experiments: self.experiments.as_ref(),
            policy: &policy(),
            previous: self.history.latest(target()),
            now,
        })
    }

    /// Applies every automatic remediation the last scan allows.
    fn harden(&mut self, now: TimestampNs) {
        self.evidence.collected_at = now;
        let report = scan(&self.evidence, &policy(), now);
        let fixable: Vec<ControlId> = report
            .failing()
            .filter(|r| {
                chaos_manager::hardening::control(&r.control)
                    .is_some_and(|c| c.auto_remediation.is_some())
            })
            .map(|r| r.control.clone())
            .collect();
        let plan = plan_hardening(&report, &fixable, &policy()).unwrap();
        self.evidence = apply_plan(&self.evidence, &plan, now);
    }

    fn drill(&mut self, verdict: Verdict, now: TimestampNs) {
        let report = drill_report(verdict, now);
        self.evidence.last_drill = Some(DrillEvidence::from_report(&report));
        self.drills.push(report);
    }
}

fn drill_report(verdict: Verdict, finished_at: TimestampNs) -> DrillReport {
    let ok = verdict == Verdict::Passed;
    let crit = |name: &str| chaos_manager::drill::Criterion {
        name: name.into(),
        passed: ok,
        detail: String::new(),
    };
    DrillReport {
        verdict,
        rto: Some(DurationNs::from_secs(30)),
        rpo: None,
        criteria: vec![crit("rto_within_objective"), crit("rpo_within_objective")],
        finished_at,
        abort_reason: None,
        needs_attention: false,
    }
}

fn ids(a: &ReadinessAssessment, pred: fn(&Criterion) -> bool) -> Vec<&str> {
    a.criteria
        .iter()
        .filter(|c| pred(c))
        .map(|c| c.id.as_str())
        .collect()
}

#[test]
fn a_weak_target_is_not_ready_because_it_never_passed_a_drill() {
    let mut f = Fixture::weak();
    let a = f.assess(T0);
    assert_eq!(a.verdict, ReadinessVerdict::NotReady);
    assert_eq!(a.blocking_issues.len(), 1, "{:?}", a.blocking_issues);
    assert!(a.blocking_issues[0]
        .starts_with("RDY-DR-01 A DR drill passed recently: no DR drill has ever passed"));
    assert_eq!(a.trend, Trend::First);
    assert_eq!(a.categories.len(), 8);
    assert_eq!(a.criteria.len(), 26);
    // Every non-passing criterion says what to do.
    for c in a.criteria.iter().filter(|c| !c.result.is_pass()) {
        assert!(!c.remediation.is_empty(), "{} has no guidance", c.id);
        assert!(!c.evidence.is_empty(), "{} shows no evidence", c.id);
    }
    assert!(a
        .criteria
        .iter()
        .filter(|c| c.result.is_pass())
        .all(|c| c.remediation.is_empty()));
}

#[test]
fn the_weak_target_fails_the_criteria_its_evidence_shows() {
    let mut f = Fixture::weak();
    let a = f.assess(T0);
    assert_eq!(
        ids(&a, |c| c.result.is_fail()),
        [
            "RDY-MON-02",
            "RDY-DR-01",
            "RDY-DR-03",
            "RDY-DR-04",
            "RDY-CMP-01",
            "RDY-OPS-03",
            "RDY-CAP-02",
        ]
    );
    assert_eq!(
        ids(&a, |c| c.result.is_unknown()),
        [
            "RDY-SEC-01",
            "RDY-PERF-01",
            "RDY-PERF-02",
            "RDY-MON-03",
            "RDY-DR-02",
            "RDY-DOC-02"
        ]
    );
    let perf = a.criterion("RDY-PERF-01").unwrap();
    assert!(
        matches!(&perf.result, ControlResult::Unknown { reason } if reason.contains("experiment"))
    );
    let ops = a.criterion("RDY-OPS-03").unwrap();
    assert_eq!(
        ops.remediation,
        "run perform_hardening for [IC-CTRL-06, IC-CTRL-11, IC-CTRL-15, IC-CTRL-20]"
    );
    let security = a
        .categories
        .iter()
        .find(|c| c.category == Category::Security)
        .unwrap();
    // SEC-01 (3) unknown; SEC-02 (3), SEC-03 (2), SEC-04 (2) pass: 7 of 10.
    assert_eq!(
        (
            security.score,
            security.passed,
            security.failed,
            security.unknown
        ),
        (70, 3, 0, 1)
    );
    assert!(!a.checklist[0].done, "controllers: no backup controller");
    assert!(a.checklist[1].done, "approved release installed");
}

#[test]
fn anonymous_controller_stopped_canister_and_critical_findings_block() {
    let mut f = Fixture::weak();
    f.evidence
        .status
        .as_mut()
        .unwrap()
        .controllers
        .push(Principal::anonymous());
    f.evidence.status.as_mut().unwrap().status = RunStatus::Stopped;
    let a = f.assess(T0);
    assert_eq!(a.verdict, ReadinessVerdict::NotReady);
    let blocking: Vec<&str> = a
        .blocking_issues
        .iter()
        .map(|s| s.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        blocking,
        ["RDY-SEC-01", "RDY-SEC-02", "RDY-DR-01", "RDY-OPS-01"]
    );
    assert!(a.blocking_issues[0].contains("IC-CTRL-01: the anonymous principal is a controller"));
}

#[test]
fn after_remediation_a_passing_drill_and_experiments_the_target_becomes_ready() {
    let mut f = Fixture::weak();
    assert_eq!(f.assess(T0).verdict, ReadinessVerdict::NotReady);

    // Automatic fixes, a backup controller added by hand, the access probe run.
    f.harden(at(days(1)));
    f.evidence
        .status
        .as_mut()
        .unwrap()
        .controllers
        .push(backup_owner());
    f.evidence.access_probe = Some(AccessProbeEvidence {
        probed_at: at(days(1)),
        probed_methods: vec!["withdraw".into()],
        accepted_unprivileged: vec![],
    });
    let a = f.assess(at(days(1)));
    assert_eq!(a.verdict, ReadinessVerdict::NotReady, "still no drill");
    assert_eq!(a.trend, Trend::Improving, "same verdict, higher score");

    f.drill(Verdict::Failed, at(days(2)));
    let a = f.assess(at(days(2)));
    assert_eq!(
        a.verdict,
        ReadinessVerdict::NotReady,
        "a failed drill does not count"
    );
    assert!(
        a.criterion("RDY-DR-02").unwrap().result.is_fail(),
        "missed RTO/RPO"
    );

    f.drill(Verdict::Passed, at(days(3)));
    let a = f.assess(at(days(3)));
    assert_eq!(
        a.verdict,
        ReadinessVerdict::ReadyWithConditions,
        "{:#?}",
        a.conditions
    );
    assert!(a.blocking_issues.is_empty());
    assert_eq!(a.trend, Trend::Improving);
    assert!(
        a.conditions.iter().any(|c| c.starts_with("RDY-PERF-01")),
        "no experiment evidence yet"
    );
    assert!(
        f.register.active_for(target()).is_empty(),
        "every finding auto-resolved"
    );

    f.experiments = Some(ExperimentSummary {
        total: 3,
        held: 3,
        deviated: 0,
        last_finished_at: Some(at(days(3))),
    });
    let a = f.assess(at(days(3)));
    assert_eq!(a.verdict, ReadinessVerdict::Ready, "{:#?}", a.conditions);
    assert_eq!(a.trend, Trend::Improving);
    // What is still unverified is said, even when ready.
    assert_eq!(
        ids(&a, |c| c.result.is_unknown()),
        ["RDY-PERF-02", "RDY-MON-03", "RDY-DOC-02"]
    );
    let done: Vec<bool> = a.checklist.iter().map(|i| i.done).collect();
    assert_eq!(
        done,
        [true, true, true, true, true, true, true, true, true, true, true, false]
    );

    let again = f.assess(at(days(3)));
    assert_eq!(again.trend, Trend::Stable);

    f.evidence.status.as_mut().unwrap().status = RunStatus::Stopped;
    let a = f.assess(at(days(4)));
    assert_eq!(
        (a.verdict, a.trend),
        (ReadinessVerdict::NotReady, Trend::Declining)
    );
    assert_eq!(f.history.history(target()).count(), 7);
    assert_eq!(f.history.trend(target()), Trend::Declining);
}

#[test]
fn an_old_passing_drill_no_longer_counts() {
    let mut f = Fixture::weak();
    f.drill(Verdict::Passed, T0);
    let a = f.assess(at(days(31)));
    let c = a.criterion("RDY-DR-01").unwrap();
    assert!(
        matches!(&c.result, ControlResult::Fail { reason } if reason.contains("31.0 days")),
        "{c:?}"
    );
}

#[test]
fn verdict_rules_for_unknowns() {
    let c = |id: &str, category, weight, blocking, result| Criterion {
        id: id.into(),
        category,
        title: id.into(),
        weight,
        blocking,
        result,
        evidence: String::new(),
        remediation: String::new(),
    };
    let pass = || ControlResult::Pass;
    let unknown = || ControlResult::Unknown { reason: "r".into() };
    use Category::*;
    // 25% of the weight unknown is tolerated; more is a condition.
    let quarter = [
        c("a", Security, 2, false, pass()),
        c("b", Capacity, 1, false, unknown()),
        c("c", Capacity, 1, false, pass()),
    ];
    assert_eq!(verdict(&quarter), ReadinessVerdict::Ready);
    let more = [
        c("a", Security, 2, false, pass()),
        c("b", Capacity, 2, false, unknown()),
        c("c", Capacity, 1, false, pass()),
    ];
    assert_eq!(verdict(&more), ReadinessVerdict::ReadyWithConditions);
    let blocking_unknown = [
        c("a", Security, 10, false, pass()),
        c("b", Capacity, 1, true, unknown()),
        c("c", Capacity, 1, false, pass()),
    ];
    assert_eq!(
        verdict(&blocking_unknown),
        ReadinessVerdict::ReadyWithConditions
    );
    let dark_category = [
        c("a", Security, 10, false, pass()),
        c("b", Documentation, 1, false, unknown()),
    ];
    assert_eq!(
        verdict(&dark_category),
        ReadinessVerdict::ReadyWithConditions
    );
    let blocking_fail = [c(
        "a",
        Security,
        10,
        true,
        ControlResult::Fail { reason: "x".into() },
    )];
    assert_eq!(verdict(&blocking_fail), ReadinessVerdict::NotReady);
}

#[test]
fn trend_follows_verdict_first_then_score() {
    let s = |score: u8, verdict| ReadinessSummary {
        assessed_at: T0,
        overall_score: score,
        verdict,
        blocking: 0,
    };
    use ReadinessVerdict::*;
    assert_eq!(Trend::between(None, &s(50, Ready)), Trend::First);
    assert_eq!(
        Trend::between(Some(&s(90, NotReady)), &s(40, ReadyWithConditions)),
        Trend::Improving
    );
    assert_eq!(
        Trend::between(Some(&s(40, Ready)), &s(90, ReadyWithConditions)),
        Trend::Declining
    );
    assert_eq!(
        Trend::between(Some(&s(60, Ready)), &s(65, Ready)),
        Trend::Improving
    );
    assert_eq!(
        Trend::between(Some(&s(60, Ready)), &s(64, Ready)),
        Trend::Stable
    );
    assert_eq!(
        Trend::between(Some(&s(60, Ready)), &s(55, Ready)),
        Trend::Declining
    );

    let mut h = ReadinessHistory::default();
    for i in 0..150u8 {
        h.record(target(), s(i % 100, Ready));
    }
    assert_eq!(h.history(target()).count(), 100, "bounded");
    assert_eq!(h.latest(target()).unwrap().overall_score, 49);
    assert_eq!(h.trend(Principal::anonymous()), Trend::First);
}

#[test]
fn drill_history_summary_counts_verdicts_and_the_last_pass() {
    let reports = [
        drill_report(Verdict::Passed, at(days(1))),
        drill_report(Verdict::Failed, at(days(3))),
        drill_report(Verdict::Aborted, at(days(2))),
    ];
    let s = DrillHistorySummary::from_reports(&reports);
    assert_eq!((s.total, s.passed, s.failed, s.aborted), (3, 1, 1, 1));
    assert_eq!(s.last_passed_at, Some(at(days(1))));
    assert_eq!(s.last_finished_at, Some(at(days(3))));
}

#[test]
fn the_report_renders_as_escaped_html_and_valid_json() {
    let mut f = Fixture::weak();
    let a = f.assess(T0);
    let name = "<script>alert(\"pwn\")</script>";
    let html = render_html(&a, name);
    assert!(!html.contains("<script>"), "unescaped name");
    assert!(html.contains("&lt;script&gt;alert(&quot;pwn&quot;)&lt;/script&gt;"));
    assert!(html.contains("Blocking issues") && html.contains("RDY-DR-01"));
    assert!(html.contains("Deployment checklist"));

    let json: serde_json::Value = serde_json::from_str(&render_json(&a)).unwrap();
    assert_eq!(json["verdict"], "not_ready");
    assert_eq!(json["trend"], "first");
    assert_eq!(json["target"], target().to_text());
    assert_eq!(json["criteria"].as_array().unwrap().len(), a.criteria.len());
    assert_eq!(json["categories"].as_array().unwrap().len(), 8);
    assert_eq!(json["criteria"][0]["result"], "unknown");
    assert_eq!(json["assessed_at"], T0.0);
    assert_eq!(json["overall_score"], a.overall_score);

    let back: ReadinessAssessment = minicbor::decode(&minicbor::to_vec(&a).unwrap()).unwrap();
    assert_eq!(back, a);
}
