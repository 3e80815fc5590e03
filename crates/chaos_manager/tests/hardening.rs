//! Hardening as scenarios: given a target's evidence, when it is scanned, then each control,
//! the score, the level, the framework coverage and the remediation plan are ...

use chaos_manager::hardening::catalog::catalog;
use chaos_manager::hardening::evaluate::evaluate;
use chaos_manager::hardening::fixtures::{
    hardened_evidence, owner, policy_approving_release, weak_evidence,
};
use chaos_manager::hardening::framework::{
    framework_report, requirement_title, watched, Framework, RequirementStatus, REQUIREMENTS,
};
use chaos_manager::hardening::policy::{days, nns_root, HardeningPolicy, Severity};
use chaos_manager::hardening::scan::{level, scan, ControlOutcome, HardeningLevel};
use chaos_manager::hardening::{
    ControlId, ControlResult, Cycles, Evidence, ModuleHash, RunStatus, StatusEvidence, Visibility,
};
use chaos_manager::{DurationNs, SnapshotId, TimestampNs};
use ic_principal::Principal;
use std::collections::BTreeSet;

fn target() -> Principal {
    Principal::from_slice(&[0x0a, 0x01])
}
fn suite() -> Principal {
    Principal::from_slice(&[0x05, 0x01])
}
fn now() -> TimestampNs {
    TimestampNs(1_750_000_000_000_000_000)
}
fn ago(d: DurationNs) -> TimestampNs {
    TimestampNs(now().0 - d.0)
}
fn hardened() -> Evidence {
    hardened_evidence(target(), suite(), now())
}
fn weak() -> Evidence {
    weak_evidence(target(), suite(), now())
}
fn status(e: &mut Evidence) -> &mut StatusEvidence {
    e.status.as_mut().expect("fixture has a status")
}
fn ids(list: &[&str]) -> Vec<ControlId> {
    list.iter().map(|s| ControlId::new(s)).collect()
}
fn failing_ids(e: &Evidence, p: &HardeningPolicy) -> Vec<String> {
    scan(e, p, now())
        .failing()
        .map(|r| r.control.to_string())
        .collect()
}

type Mutation = fn(&mut Evidence);

fn unreadable(e: &mut Evidence) {
    e.status = Err("the suite is not a controller".into());
}

/// For every control: evidence that makes it fail, and evidence that makes it unknown (the
/// hardened fixture makes every control pass).
fn cases() -> Vec<(&'static str, Mutation, Mutation)> {
    vec![
        (
            "IC-CTRL-01",
            |e| status(e).controllers.push(Principal::anonymous()),
            unreadable,
        ),
        (
            "IC-CTRL-02",
            |e| status(e).controllers = vec![owner(), suite()],
            unreadable,
        ),
        (
            "IC-CTRL-03",
            |e| status(e).controllers = vec![suite()],
            unreadable,
        ),
        (
            "IC-CTRL-04",
            |e| status(e).controllers = vec![owner(), nns_root()],
            unreadable,
        ),
        (
            "IC-CTRL-05",
            |e| {
                status(e).controllers = (1..=10u8).map(|i| Principal::from_slice(&[9, i])).collect()
            },
            unreadable,
        ),
        (
            "IC-CTRL-06",
            |e| status(e).freezing_threshold_secs = 30 * 86_400,
            unreadable,
        ),
        (
            "IC-CTRL-07",
            |e| status(e).cycles = Cycles(1_000_000_000_000),
            unreadable,
        ),
        (
            "IC-CTRL-08",
            |e| status(e).reserved_cycles_limit = Some(Cycles(0)),
            |e| status(e).reserved_cycles_limit = None,
        ),
        (
            "IC-CTRL-09",
            |e| status(e).reserved_cycles = Cycles(4_600_000_000_000),
            |e| status(e).reserved_cycles_limit = None,
        ),
        (
            "IC-CTRL-10",
            |e| status(e).wasm_memory_limit_bytes = Some(0),
            |e| status(e).wasm_memory_limit_bytes = None,
        ),
        (
            "IC-CTRL-11",
            |e| status(e).wasm_memory_threshold_bytes = Some(0),
            |e| status(e).wasm_memory_threshold_bytes = None,
        ),
        (
            "IC-CTRL-12",
            |e| status(e).wasm_memory_size_bytes = Some(2_900 << 20),
            |e| {
                let s = status(e);
                s.wasm_memory_size_bytes = None;
                s.memory_size_bytes = 2_900 << 20;
            },
        ),
        (
            "IC-CTRL-13",
            |e| status(e).memory_allocation_bytes = 210 << 20,
            unreadable,
        ),
        (
            "IC-CTRL-14",
            |e| status(e).status = RunStatus::Stopped,
            unreadable,
        ),
        (
            "IC-CTRL-15",
            |e| status(e).log_visibility = Some(Visibility::Public),
            unreadable,
        ),
        (
            "IC-CTRL-16",
            |e| status(e).snapshot_visibility = Some(Visibility::Public),
            |e| status(e).snapshot_visibility = None,
        ),
        (
            "IC-CTRL-17",
            |e| {
                status(e).status_visibility =
                    Some(Visibility::AllowedViewers(vec![Principal::anonymous()]))
            },
            |e| status(e).status_visibility = None,
        ),
        (
            "IC-CTRL-18",
            |e| status(e).module_hash = Some(ModuleHash(vec![0xcd; 32])),
            unreadable,
        ),
        (
            "IC-CTRL-19",
            |e| e.candid_service_public = Some(false),
            |e| e.candid_service_public = None,
        ),
        (
            "IC-CTRL-20",
            |e| e.snapshots = Some(vec![(SnapshotId(vec![1]), ago(days(8)))]),
            |e| e.snapshots = None,
        ),
        (
            "IC-CTRL-21",
            |e| e.last_drill = None,
            // The drill history is the suite's own log: only staleness makes it unknown.
            |e| e.collected_at = ago(days(2)),
        ),
        (
            "IC-CTRL-22",
            |e| e.last_drill.as_mut().unwrap().rto_within = Some(false),
            |e| {
                let d = e.last_drill.as_mut().unwrap();
                d.passed = false;
                d.rto_within = None;
                d.rpo_within = None;
            },
        ),
        (
            "IC-CTRL-23",
            |e| e.access_probe.as_mut().unwrap().accepted_unprivileged = vec!["withdraw".into()],
            |e| e.access_probe = None,
        ),
    ]
}

#[test]
fn every_control_reaches_pass_fail_and_unknown() {
    let policy = policy_approving_release();
    let table = cases();
    let covered: BTreeSet<&str> = table.iter().map(|(id, _, _)| *id).collect();
    let all: BTreeSet<&str> = catalog().iter().map(|c| c.id).collect();
    assert_eq!(
        covered, all,
        "every control needs a case, and only controls"
    );
    for (id, make_fail, make_unknown) in table {
        let c = catalog().iter().find(|c| c.id == id).unwrap();
        let pass = evaluate(c, &hardened(), &policy, now());
        assert_eq!(pass, ControlResult::Pass, "{id} on hardened evidence");

        let mut e = hardened();
        make_fail(&mut e);
        let r = evaluate(c, &e, &policy, now());
        assert!(r.is_fail(), "{id} should fail, got {r:?}");

        let mut e = hardened();
        make_unknown(&mut e);
        let r = evaluate(c, &e, &policy, now());
        assert!(r.is_unknown(), "{id} should be unknown, got {r:?}");
    }
}

#[test]
fn each_fail_case_fails_only_its_own_kind_of_control() {
    // The failure mutations are precise: they do not also break unrelated controls.
    let policy = policy_approving_release();
    for (id, make_fail, _) in cases() {
        let mut e = hardened();
        make_fail(&mut e);
        let failing = failing_ids(&e, &policy);
        assert!(failing.contains(&id.to_string()), "{id}: {failing:?}");
        assert!(failing.len() <= 3, "{id} broke too much: {failing:?}");
    }
}

#[test]
fn catalog_ids_are_unique_and_every_control_is_mapped_and_actionable() {
    let cat = catalog();
    assert!(cat.len() >= 20, "{} controls", cat.len());
    let unique: BTreeSet<&str> = cat.iter().map(|c| c.id).collect();
    assert_eq!(unique.len(), cat.len(), "duplicate control id");
    for c in cat {
        assert!(!c.mappings.is_empty(), "{} has no mapping", c.id);
        assert!(
            !c.remediation.is_empty() && !c.rationale.is_empty(),
            "{}",
            c.id
        );
        assert!(!c.reads.is_empty(), "{}", c.id);
        let expected_weight = match c.severity {
            Severity::Critical => 10,
            Severity::High => 6,
            Severity::Medium => 3,
            Severity::Low => 1,
        };
        assert_eq!(c.weight, expected_weight, "{} weight", c.id);
        for m in c.mappings {
            assert!(
                requirement_title(m.framework, m.requirement).is_some(),
                "{} maps to unknown requirement {} {}",
                c.id,
                m.framework.name(),
                m.requirement
            );
        }
        let mut seen = c.mappings.to_vec();
        seen.dedup();
        assert_eq!(seen.len(), c.mappings.len(), "{} maps twice", c.id);
    }
    // No requirement is listed without a control mapping to it.
    for (f, req, _) in REQUIREMENTS {
        assert!(
            cat.iter().any(|c| c
                .mappings
                .iter()
                .any(|m| m.framework == *f && m.requirement == *req)),
            "{req} is listed but unmapped"
        );
    }
}

#[test]
fn mapping_counts_per_framework() {
    let count = |f: Framework| {
        catalog()
            .iter()
            .flat_map(|c| c.mappings.iter())
            .filter(|m| m.framework == f)
            .count()
    };
    for f in Framework::ALL {
        let reqs = REQUIREMENTS.iter().filter(|(g, _, _)| *g == f).count();
        println!(
            "{}: {} mappings onto {reqs} requirements",
            f.name(),
            count(f)
        );
        assert!(count(f) >= reqs);
    }
    println!("controls: {}", catalog().len());
}

#[test]
fn stale_evidence_makes_every_control_unknown() {
    let mut e = hardened();
    e.collected_at = ago(days(2));
    let report = scan(&e, &policy_approving_release(), now());
    assert!(report.results.iter().all(|r| r.result.is_unknown()));
    assert_eq!((report.score, report.evaluated_pct), (0, 0));
    assert_eq!(report.level, HardeningLevel::Basic);
}

#[test]
fn governance_controller_counts_as_backup_but_the_suite_does_not() {
    let policy = policy_approving_release();
    let mut e = hardened();
    status(&mut e).controllers = vec![nns_root(), suite()];
    assert!(!failing_ids(&e, &policy).contains(&"IC-CTRL-02".to_string()));
    status(&mut e).controllers = vec![owner(), suite()];
    assert!(failing_ids(&e, &policy).contains(&"IC-CTRL-02".to_string()));
}

#[test]
fn runway_is_measured_to_the_freezing_threshold_and_zero_burn_passes_with_a_note() {
    let policy = policy_approving_release();
    let report = scan(&hardened(), &policy, now());
    let r = report.outcome("IC-CTRL-07").unwrap();
    // 10T cycles at 20B per day: 500 days to zero, 410 before the 90-day threshold.
    assert!(
        r.evidence.contains("410 days until frozen"),
        "{}",
        r.evidence
    );

    let mut e = hardened();
    status(&mut e).idle_cycles_burned_per_day = Cycles(0);
    let r = scan(&e, &policy, now());
    let r = r.outcome("IC-CTRL-07").unwrap();
    assert!(
        r.result.is_pass() && r.evidence.contains("no idle burn"),
        "{r:?}"
    );

    // 3.6T at 20B: 180 days to zero, 90 before freezing: exactly the minimum passes.
    status(&mut e).idle_cycles_burned_per_day = Cycles(20_000_000_000);
    status(&mut e).cycles = Cycles(3_600_000_000_000);
    assert!(scan(&e, &policy, now())
        .outcome("IC-CTRL-07")
        .unwrap()
        .result
        .is_pass());
    status(&mut e).cycles = Cycles(3_599_000_000_000);
    assert!(scan(&e, &policy, now())
        .outcome("IC-CTRL-07")
        .unwrap()
        .result
        .is_fail());
}

#[test]
fn policy_switches_change_the_verdicts_they_should() {
    let mut e = hardened();
    status(&mut e).log_visibility = Some(Visibility::Public);
    let mut policy = policy_approving_release();
    policy.allow_public_logs = true;
    assert!(scan(&e, &policy, now())
        .outcome("IC-CTRL-15")
        .unwrap()
        .result
        .is_pass());

    let no_releases = HardeningPolicy::default();
    let r = scan(&hardened(), &no_releases, now());
    assert!(r.outcome("IC-CTRL-18").unwrap().result.is_unknown());

    // Without the heap metric, total memory proves a pass when it is small enough.
    let mut e = hardened();
    status(&mut e).wasm_memory_size_bytes = None;
    let r = scan(&e, &policy, now());
    let o = r.outcome("IC-CTRL-12").unwrap();
    assert!(
        o.result.is_pass() && o.evidence.contains("at most"),
        "{o:?}"
    );
}

#[test]
fn hardened_evidence_scores_100_at_maximum_and_satisfies_every_framework() {
    let report = scan(&hardened(), &policy_approving_release(), now());
    assert_eq!(report.failing().count() + report.unknown().count(), 0);
    assert_eq!((report.score, report.evaluated_pct), (100, 100));
    assert_eq!(report.level, HardeningLevel::Maximum);
    assert_eq!(report.frameworks.len(), 4);
    for f in &report.frameworks {
        assert_eq!(
            (f.not_satisfied, f.undetermined),
            (0, 0),
            "{:?}",
            f.framework
        );
        assert!(f.satisfied > 0);
    }
}

#[test]
fn weak_evidence_fails_exactly_the_weak_settings() {
    let report = scan(&weak(), &policy_approving_release(), now());
    let failing: Vec<&str> = report.failing().map(|r| r.control.as_str()).collect();
    assert_eq!(
        failing,
        [
            "IC-CTRL-02",
            "IC-CTRL-06",
            "IC-CTRL-11",
            "IC-CTRL-15",
            "IC-CTRL-20",
            "IC-CTRL-21"
        ]
    );
    let unknown: Vec<&str> = report.unknown().map(|r| r.control.as_str()).collect();
    assert_eq!(unknown, ["IC-CTRL-22", "IC-CTRL-23"]);
    // Total weight 103; failing 28 and unknown 16: 59 passing.
    assert_eq!(report.score, 57);
    assert_eq!(report.evaluated_pct, 84);
    assert_eq!(report.level, HardeningLevel::Standard);

    let mut e = weak();
    status(&mut e).controllers.push(Principal::anonymous());
    assert_eq!(
        scan(&e, &policy_approving_release(), now()).level,
        HardeningLevel::Basic
    );
}

#[test]
fn levels_follow_their_thresholds() {
    let outcome = |s: Severity, r: ControlResult| ControlOutcome {
        control: ControlId::new("X"),
        severity: s,
        weight: 1,
        result: r,
        evidence: String::new(),
    };
    let fail = || ControlResult::Fail { reason: "x".into() };
    let clean = vec![outcome(Severity::Low, ControlResult::Pass)];
    let high_fails = vec![outcome(Severity::High, fail())];
    let critical_fails = vec![outcome(Severity::Critical, fail())];
    assert_eq!(level(90, &clean), HardeningLevel::Maximum);
    assert_eq!(level(89, &clean), HardeningLevel::Advanced);
    assert_eq!(level(95, &high_fails), HardeningLevel::Advanced);
    assert_eq!(level(74, &clean), HardeningLevel::Standard);
    assert_eq!(level(50, &high_fails), HardeningLevel::Standard);
    assert_eq!(level(49, &clean), HardeningLevel::Basic);
    assert_eq!(level(99, &critical_fails), HardeningLevel::Basic);
}

#[test]
fn framework_coverage_tracks_each_requirement() {
    let report = scan(&weak(), &policy_approving_release(), now());
    let req = |f: Framework, id: &str| {
        report
            .frameworks
            .iter()
            .find(|c| c.framework == f)
            .unwrap()
            .requirements
            .iter()
            .find(|r| r.requirement == id)
            .unwrap()
            .clone()
    };
    let a12 = req(Framework::Soc2, "A1.2");
    assert_eq!(
        a12.controls,
        ids(&["IC-CTRL-02", "IC-CTRL-04", "IC-CTRL-20"])
    );
    assert_eq!((a12.passing, a12.failing, a12.unknown), (1, 2, 0));
    assert_eq!(a12.status, RequirementStatus::NotSatisfied);
    assert_eq!(
        req(Framework::Nist80053, "SC-6").status,
        RequirementStatus::Satisfied
    );
    assert_eq!(
        req(Framework::Nist80053, "RA-5").status,
        RequirementStatus::Undetermined
    );
    assert_eq!(
        req(Framework::Gdpr, "Art. 32(1)(d)").status,
        RequirementStatus::NotSatisfied
    );
    for cov in &report.frameworks {
        let total = cov.satisfied + cov.not_satisfied + cov.undetermined;
        assert_eq!(usize::from(total), cov.requirements.len());
        for r in &cov.requirements {
            assert_eq!(
                usize::from(r.passing + r.failing + r.unknown),
                r.controls.len()
            );
        }
    }
}

#[test]
fn framework_report_lists_failures_before_unknowns_and_watchlist_filters() {
    let report = scan(&weak(), &policy_approving_release(), now());
    let nist = framework_report(&report, Framework::Nist80053);
    let gaps: Vec<(&str, &str)> = nist
        .gaps
        .iter()
        .map(|g| (g.control.as_str(), g.finding.split(':').next().unwrap()))
        .collect();
    assert_eq!(
        gaps,
        [
            ("IC-CTRL-06", "fail"),
            ("IC-CTRL-20", "fail"),
            ("IC-CTRL-21", "fail"),
            ("IC-CTRL-15", "fail"),
            ("IC-CTRL-23", "unknown"),
            ("IC-CTRL-22", "unknown"),
        ]
    );
    let six = &nist.gaps[0];
    assert_eq!(six.requirements, ["CM-6", "SC-5"]);

    let w = watched(&report, &[Framework::Gdpr, Framework::Soc2]);
    let order: Vec<Framework> = w.iter().map(|c| c.framework).collect();
    assert_eq!(order, [Framework::Gdpr, Framework::Soc2]);
    assert!(watched(&report, &[]).is_empty());
}
