//! Hardening remediation and reporting as scenarios: given a scan, when fixes are planned,
//! the policy changes, or the report is rendered, then ...

use chaos_manager::hardening::catalog::catalog;
use chaos_manager::hardening::fixtures::{
    apply_plan, hardened_evidence, policy_approving_release, weak_evidence,
};
use chaos_manager::hardening::framework::{framework_report, Framework};
use chaos_manager::hardening::plan::{plan_hardening, AutoRemediation};
use chaos_manager::hardening::policy::{days, HardeningPolicy};
use chaos_manager::hardening::render::{
    escape_html, render_framework_html, render_framework_json, render_scan_html, render_scan_json,
    utc_text,
};
use chaos_manager::hardening::scan::scan;
use chaos_manager::hardening::{
    ControlId, Cycles, DrillEvidence, Evidence, HardeningError, ModuleHash, StatusEvidence,
    Visibility,
};
use chaos_manager::{DurationNs, SnapshotId, TimestampNs};
use ic_principal::Principal;

const GIB: u64 = 1 << 30;

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
#[test]
fn plan_merges_chosen_fixes_and_the_rescan_passes_them() {
    let policy = policy_approving_release();
    let before = scan(&weak(), &policy, now());
    let chosen = ids(&["IC-CTRL-06", "IC-CTRL-11", "IC-CTRL-15", "IC-CTRL-20"]);
    let plan = plan_hardening(&before, &chosen, &policy).unwrap();
    let s = plan.settings.clone().unwrap();
    assert_eq!(s.freezing_threshold_secs, Some(90 * 86_400));
    assert_eq!(s.wasm_memory_threshold_bytes, Some(3 * GIB / 100 * 20));
    assert_eq!(s.log_visibility, Some(Visibility::Controllers));
    assert_eq!(
        (s.wasm_memory_limit_bytes, s.reserved_cycles_limit),
        (None, None)
    );
    assert_eq!(
        plan.snapshot,
        Some(AutoRemediation::TakeSnapshot { replace: None })
    );
    assert_eq!(plan.controls().cloned().collect::<Vec<_>>(), chosen);

    let later = TimestampNs(now().0 + 60_000_000_000);
    let after = scan(&apply_plan(&weak(), &plan, later), &policy, later);
    let still: Vec<&str> = after.failing().map(|r| r.control.as_str()).collect();
    assert_eq!(
        still,
        ["IC-CTRL-02", "IC-CTRL-21"],
        "only the manual ones remain"
    );
    assert!(after.score > before.score);
}

#[test]
fn plan_resolves_parameters_from_policy_and_evidence() {
    let policy = policy_approving_release();
    let mut e = weak();
    let s = status(&mut e);
    s.freezing_threshold_secs = 200 * 86_400;
    s.wasm_memory_limit_bytes = Some(0);
    // Ten old snapshots: the oldest is replaced.
    e.snapshots = Some(
        (1..=10u8)
            .map(|i| (SnapshotId(vec![i]), ago(days(30 - u64::from(i)))))
            .collect(),
    );
    let report = scan(&e, &policy, now());
    let plan = plan_hardening(
        &report,
        &ids(&["IC-CTRL-11", "IC-CTRL-10", "IC-CTRL-06", "IC-CTRL-20"]),
        &policy,
    )
    .unwrap();
    let s = plan.settings.unwrap();
    assert_eq!(
        s.freezing_threshold_secs,
        Some(180 * 86_400),
        "too high: set to the maximum"
    );
    assert_eq!(s.wasm_memory_limit_bytes, Some(3 * GIB));
    // The threshold is computed against the planned limit, whatever the order chosen.
    assert_eq!(s.wasm_memory_threshold_bytes, Some(3 * GIB / 100 * 20));
    assert_eq!(
        plan.snapshot,
        Some(AutoRemediation::TakeSnapshot {
            replace: Some(SnapshotId(vec![1]))
        })
    );
}

#[test]
fn plan_refuses_what_it_cannot_or_should_not_do() {
    let policy = policy_approving_release();
    let report = scan(&weak(), &policy, now());
    let plan = |list: &[&str]| plan_hardening(&report, &ids(list), &policy);
    assert_eq!(plan(&[]), Err(HardeningError::NothingChosen));
    assert_eq!(
        plan(&["IC-CTRL-99"]),
        Err(HardeningError::UnknownControl {
            id: ControlId::new("IC-CTRL-99")
        })
    );
    assert_eq!(
        plan(&["IC-CTRL-06", "IC-CTRL-06"]),
        Err(HardeningError::DuplicateControl {
            id: ControlId::new("IC-CTRL-06")
        })
    );
    assert_eq!(
        plan(&["IC-CTRL-02"]),
        Err(HardeningError::NoAutoRemediation {
            id: ControlId::new("IC-CTRL-02")
        })
    );
    assert!(matches!(
        plan(&["IC-CTRL-10"]),
        Err(HardeningError::NotFailing { result, .. }) if result == "pass"
    ));

    let mut e = weak();
    status(&mut e).snapshot_visibility = None;
    let r = scan(&e, &policy, now());
    assert!(matches!(
        plan_hardening(&r, &ids(&["IC-CTRL-16"]), &policy),
        Err(HardeningError::NotFailing { result, .. }) if result.starts_with("unknown")
    ));

    // Limits the IC would refuse: below the cycles already reserved, below the heap in use.
    let mut e = weak();
    let s = status(&mut e);
    s.reserved_cycles_limit = Some(Cycles(10_000_000_000_000));
    s.reserved_cycles = Cycles(6_000_000_000_000);
    s.wasm_memory_limit_bytes = Some(0);
    s.wasm_memory_size_bytes = Some(3 * GIB + 1);
    let r = scan(&e, &policy, now());
    for id in ["IC-CTRL-08", "IC-CTRL-10"] {
        let err = plan_hardening(&r, &ids(&[id]), &policy).unwrap_err();
        assert!(
            matches!(err, HardeningError::NotApplicable { .. }),
            "{id}: {err:?}"
        );
        assert!(err.to_string().contains("cannot be applied"));
    }

    let mut e = weak();
    status(&mut e).module_hash = None;
    let r = scan(&e, &policy, now());
    assert!(matches!(
        plan_hardening(&r, &ids(&["IC-CTRL-20"]), &policy),
        Err(HardeningError::NotApplicable { .. })
    ));
}

#[test]
fn policy_validation_names_the_field() {
    assert_eq!(HardeningPolicy::default().validate(), Ok(()));
    assert_eq!(policy_approving_release().validate(), Ok(()));
    let field_of = |p: HardeningPolicy| match p.validate() {
        Err(HardeningError::InvalidPolicy { field, .. }) => field,
        other => panic!("expected an invalid policy, got {other:?}"),
    };
    let d = HardeningPolicy::default;
    assert_eq!(
        field_of(HardeningPolicy {
            max_freezing_threshold_days: 30,
            ..d()
        }),
        "max_freezing_threshold_days"
    );
    assert_eq!(
        field_of(HardeningPolicy {
            min_memory_headroom_pct: 0,
            ..d()
        }),
        "min_memory_headroom_pct"
    );
    assert_eq!(
        field_of(HardeningPolicy {
            approved_module_hashes: vec![ModuleHash(vec![1; 31])],
            ..d()
        }),
        "approved_module_hashes"
    );
    assert_eq!(
        field_of(HardeningPolicy {
            watchlist: vec![Framework::Gdpr, Framework::Gdpr],
            ..d()
        }),
        "watchlist"
    );
    let mut sla = d().sla;
    sla.high = days(100);
    assert_eq!(field_of(HardeningPolicy { sla, ..d() }), "sla");
    assert_eq!(
        field_of(HardeningPolicy {
            max_controllers: 11,
            ..d()
        }),
        "max_controllers"
    );
    assert_eq!(
        field_of(HardeningPolicy {
            governance_controllers: vec![Principal::anonymous()],
            ..d()
        }),
        "governance_controllers"
    );
    assert_eq!(
        field_of(HardeningPolicy {
            reserved_cycles_limit_target: Cycles(6_000_000_000_000),
            ..d()
        }),
        "reserved_cycles_limit_target"
    );
}

#[test]
fn reports_and_plans_survive_cbor_with_large_cycle_balances() {
    let mut e = hardened();
    status(&mut e).cycles = Cycles(u128::from(u64::MAX) * 3);
    let report = scan(&e, &policy_approving_release(), now());
    let bytes = minicbor::to_vec(&report).unwrap();
    let back: chaos_manager::hardening::ScanReport = minicbor::decode(&bytes).unwrap();
    assert_eq!(back, report);

    let weak_report = scan(&weak(), &policy_approving_release(), now());
    let plan = plan_hardening(
        &weak_report,
        &ids(&["IC-CTRL-06", "IC-CTRL-20"]),
        &policy_approving_release(),
    )
    .unwrap();
    let back: chaos_manager::hardening::HardeningPlan =
        minicbor::decode(&minicbor::to_vec(&plan).unwrap()).unwrap();
    assert_eq!(back, plan);

    let policy = policy_approving_release();
    let back: HardeningPolicy = minicbor::decode(&minicbor::to_vec(&policy).unwrap()).unwrap();
    assert_eq!(back, policy);
}

#[test]
fn drill_evidence_reads_verdict_and_objectives_from_a_report() {
    use chaos_manager::drill::{Criterion, DrillReport, RpoMeasurement, Verdict};
    let crit = |name: &str, passed: bool| Criterion {
        name: name.into(),
        passed,
        detail: String::new(),
    };
    let mut report = DrillReport {
        verdict: Verdict::Failed,
        rto: Some(DurationNs::from_secs(40)),
        rpo: Some(RpoMeasurement {
            operations_lost: 0,
            restore_point_age: DurationNs::from_secs(1),
        }),
        criteria: vec![
            crit("rto_within_objective", false),
            crit("rpo_within_objective", true),
        ],
        finished_at: now(),
        abort_reason: None,
        needs_attention: false,
    };
    let d = DrillEvidence::from_report(&report);
    assert_eq!(
        (d.passed, d.rto_within, d.rpo_within),
        (false, Some(false), Some(true))
    );
    report.verdict = Verdict::Aborted;
    report.criteria = vec![crit("control_verified", false)];
    let d = DrillEvidence::from_report(&report);
    assert_eq!((d.passed, d.rto_within, d.rpo_within), (false, None, None));
}

#[test]
fn scan_and_framework_reports_render_escaped_html_and_valid_json() {
    let report = scan(&weak(), &policy_approving_release(), now());
    let name = "<script>alert('x')</script> & \"vault\"";
    let html = render_scan_html(&report, name);
    assert!(!html.contains("<script>"), "unescaped target name");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;vault&quot;")
    );
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("IC-CTRL-06") && html.contains("--freezing-threshold"));

    let json: serde_json::Value = serde_json::from_str(&render_scan_json(&report)).unwrap();
    assert_eq!(json["score"], 57);
    assert_eq!(json["level"], "standard");
    assert_eq!(json["results"].as_array().unwrap().len(), catalog().len());
    assert_eq!(json["results"][5]["result"], "fail");
    assert_eq!(json["target"], target().to_text());

    let fw = framework_report(&report, Framework::Iso27001);
    let json: serde_json::Value = serde_json::from_str(&render_framework_json(&fw)).unwrap();
    assert_eq!(json["framework"], "iso27001");
    assert!(!render_framework_html(&fw, name).contains("<script>"));
}

#[test]
fn escape_html_escapes_all_five_characters_and_nothing_else() {
    assert_eq!(
        escape_html(r#"<a href="x">'&'</a>"#),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
    assert_eq!(escape_html("plain text é"), "plain text é");
    assert_eq!(utc_text(TimestampNs(0)), "1970-01-01 00:00:00 UTC");
    assert_eq!(
        utc_text(TimestampNs(1_709_251_199_000_000_000)),
        "2024-02-29 23:59:59 UTC"
    );
}
