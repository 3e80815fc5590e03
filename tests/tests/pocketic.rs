//! The PocketIC suite (custom harness). Without a server binary (`POCKET_IC_BIN` unset and none
//! in the pocket-ic crate's cache) it runs nothing and says so loudly: its closing line counts
//! every scenario as skipped, never as passed. A server that is there but unusable (does not
//! run, `--version` fails, or a version the pocket-ic crate refuses) is a failure: exit 1.
//!
//! Each scenario has a native twin in `crates/fleet_sim/tests/` built on the same fixtures.
//! The chaos-experiment scenarios live in `pocketic/experiments.rs` (fixtures in
//! `src/lab.rs`).

use chaos_api::{
    ControlResult, DrillState, Error, ErrorCode, FindingSource, FindingStatus, Framework,
    FrameworkReport, FrameworkReportArgs, HardeningStatus, ReadinessVerdict, Scenario, Trend,
    Verdict,
};
use fleet_sim::fixtures::OPS_DURING_HOLD;
use integration_tests::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Duration;

#[path = "pocketic/experiments.rs"]
mod experiments;

type Scenario_ = (&'static str, fn(PathBuf));

const SCENARIOS: &[Scenario_] = &[
    (
        "canister_loss_drill_passes_with_exact_rpo",
        canister_loss_drill,
    ),
    ("bad_upgrade_drill_passes_with_exact_rpo", bad_upgrade_drill),
    (
        "uncontrolled_canister_is_refused_and_its_drill_aborts",
        uncontrolled_canister,
    ),
    (
        "upgrade_mid_drill_keeps_drills_and_events",
        upgrade_mid_drill,
    ),
    ("unauthorized_callers_are_refused", unauthorized_callers),
    ("retried_start_returns_the_same_drill", idempotent_start),
    (
        "weak_vault_is_scanned_hardened_rescanned_and_readiness_follows_the_drill",
        hardening_fixes_the_weak_vault,
    ),
    (
        "approved_hardening_is_performed_after_an_upgrade",
        hardening_survives_an_upgrade,
    ),
    (
        "scheduled_scans_run_and_are_rearmed_after_an_upgrade",
        scheduled_scans,
    ),
    (
        "assurance_methods_refuse_unauthorized_callers",
        assurance_unauthorized,
    ),
    // Chaos experiments (issue 3): tests/pocketic/experiments.rs; names as their native twins
    // in crates/fleet_sim/tests/experiments.rs.
    (
        "experiment_network_partition",
        experiments::network_partition,
    ),
    (
        "experiment_resource_exhaustion_freeze",
        experiments::resource_exhaustion_freeze,
    ),
    (
        "experiment_resource_exhaustion_burn_instructions_hook",
        experiments::resource_exhaustion_burn,
    ),
    (
        "experiment_service_failure_stop_then_start",
        experiments::service_failure_stop_then_start,
    ),
    (
        "experiment_latency_injection",
        experiments::latency_injection,
    ),
    ("experiment_data_corruption", experiments::data_corruption),
    ("experiment_security_breach", experiments::security_breach),
    (
        "experiment_cascading_failure",
        experiments::cascading_failure,
    ),
    ("experiment_byzantine_fault", experiments::byzantine_fault),
    (
        "experiment_emergency_stop_restores_every_target_and_refuses_until_an_admin_resumes",
        experiments::emergency_stop,
    ),
    (
        "experiment_concurrency_limit_and_one_experiment_per_target",
        experiments::concurrency_limit,
    ),
    (
        "experiment_approval_gate_quorum_approves_and_it_runs",
        experiments::approval_gate_quorum,
    ),
    (
        "experiment_approval_gate_rejection_or_deadline_never_runs",
        experiments::approval_gate_rejection_or_deadline,
    ),
    (
        "experiment_unauthorized_callers_get_typed_errors",
        experiments::unauthorized_callers,
    ),
    (
        "experiment_survives_an_upgrade_mid_fault_and_still_restores",
        experiments::upgrade_mid_fault,
    ),
    (
        "experiment_schedule_fires_after_an_upgrade_and_stops_when_cancelled",
        experiments::schedule_after_upgrade,
    ),
];

/// The libtest arguments this harness honours: name filters, `--exact`, `--skip NAME`,
/// `--list`; the values of other options (`--test-threads 1`, `--format x` ...) are not filters.
struct Args {
    filters: Vec<String>,
    skips: Vec<String>,
    exact: bool,
}

impl Args {
    fn parse() -> Args {
        const WITH_VALUE: &[&str] = &["--test-threads", "--format", "--color", "-Z", "--logfile"];
        let mut a = Args {
            filters: Vec::new(),
            skips: Vec::new(),
            exact: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--list" => {
                    for (name, _) in SCENARIOS {
                        println!("{name}: test");
                    }
                    std::process::exit(0);
                }
                "--exact" => a.exact = true,
                "--skip" => a.skips.extend(it.next()),
                o if WITH_VALUE.contains(&o) => {
                    it.next();
                }
                o if o.starts_with('-') => {}
                f => a.filters.push(f.to_string()),
            }
        }
        a
    }

    fn selects(&self, name: &str) -> bool {
        let hit = |f: &String| {
            if self.exact {
                name == f
            } else {
                name.contains(f.as_str())
            }
        };
        (self.filters.is_empty() || self.filters.iter().any(hit)) && !self.skips.iter().any(hit)
    }
}

fn main() {
    // `--list` (handled here, and exiting) needs no server.
    let args = Args::parse();
    let selected = SCENARIOS
        .iter()
        .filter(|(name, _)| args.selects(name))
        .count();
    let server = match server_binary() {
        Ok(s) => s,
        Err(NoServer::Absent(why)) => {
            eprintln!();
            eprintln!("################################################################");
            eprintln!("##  POCKET-IC SUITE SKIPPED: {why}");
            eprintln!("##  Set POCKET_IC_BIN to a pocket-ic server 16.x to run it.");
            eprintln!("##  Native twins of every scenario ran in fleet_sim's tests.");
            eprintln!("################################################################");
            println!("pocketic: 0 passed, 0 failed, {} skipped", SCENARIOS.len());
            return;
        }
        Err(NoServer::Unusable(why)) => {
            // A server was asked for (POCKET_IC_BIN, or one in the pocket-ic crate's cache)
            // and cannot be used: every selected scenario fails, nothing is skipped quietly.
            eprintln!();
            eprintln!("################################################################");
            eprintln!("##  POCKET-IC SUITE FAILED: {why}");
            eprintln!("##  It needs a pocket-ic server >=16.0.0, <17 in POCKET_IC_BIN, or at");
            eprintln!(
                "##  {} when POCKET_IC_BIN is unset.",
                cached_server_path().display()
            );
            eprintln!("##  It is skipped only when there is neither.");
            eprintln!("################################################################");
            println!(
                "pocketic: 0 passed, {selected} failed, {} skipped",
                SCENARIOS.len() - selected
            );
            std::process::exit(1);
        }
    };
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, run) in SCENARIOS {
        if !args.selects(name) {
            skipped += 1;
            continue;
        }
        let server = server.clone();
        match catch_unwind(AssertUnwindSafe(|| run(server))) {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok");
            }
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED");
            }
        }
    }
    println!("pocketic: {passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        std::process::exit(1);
    }
}

fn funded_env(server: PathBuf) -> Env {
    let env = Env::new(server);
    env.fund_and_register();
    env
}

fn assert_passed_with_exact_rpo(env: &Env, scenario: Scenario) {
    let before = env.vault_probe();
    let d = env.run_drill(scenario, OPS_DURING_HOLD);
    let report = d.report.clone().expect("report");
    assert_eq!(
        report.verdict,
        Verdict::Passed,
        "{}",
        chaos_api::render::drill_report(&d)
    );
    assert!(report.rto_ns.unwrap() > 0);
    assert_eq!(report.rpo.unwrap().operations_lost, OPS_DURING_HOLD as u64);
    // The vault is back at the restore point: the ops made during the hold are gone.
    let after = env.vault_probe();
    assert_eq!(after.operation_count, before.operation_count);
    assert_eq!(after.state_hash, before.state_hash);
}

fn canister_loss_drill(server: PathBuf) {
    let env = funded_env(server);
    assert_passed_with_exact_rpo(&env, Scenario::CanisterLoss);
}

fn bad_upgrade_drill(server: PathBuf) {
    let env = funded_env(server);
    assert_passed_with_exact_rpo(&env, Scenario::BadUpgrade);
}

fn uncontrolled_canister(server: PathBuf) {
    let env = funded_env(server);
    // A canister chaos_system does not control cannot be registered.
    let other = env.pic.create_canister_with_settings(Some(admin()), None);
    env.pic.install_canister(
        other,
        wasm("demo_vault"),
        candid::encode_one(()).unwrap(),
        Some(admin()),
    );
    let r: Result<chaos_api::TargetSpec, Error> = env.update(
        admin(),
        "register_target",
        fleet_sim::fixtures::vault_target_spec(other),
    );
    let err = r.unwrap_err();
    assert!(
        matches!(
            err.code,
            ErrorCode::ControlUnverifiable { .. } | ErrorCode::NotController { .. }
        ),
        "{err:?}"
    );
    assert!(err.message.contains("controller"), "{}", err.message);
    // A registered canister whose control was taken away: the drill aborts, untouched.
    env.pic
        .set_controllers(env.vault, Some(admin()), vec![admin()])
        .unwrap();
    let before = env.vault_probe();
    let id = env
        .start_drill(Scenario::CanisterLoss, 0, None)
        .unwrap()
        .drill_id;
    let d = env.tick_until_finished(id);
    let report = d.report.unwrap();
    assert_eq!(report.verdict, Verdict::Aborted);
    assert!(report.abort_reason.unwrap().contains("is not a controller"));
    assert_eq!(env.vault_probe().state_hash, before.state_hash);
}

fn upgrade_mid_drill(server: PathBuf) {
    let env = funded_env(server);
    let id = env
        .start_drill(Scenario::CanisterLoss, fleet_sim::fixtures::HOLD_NS, None)
        .unwrap()
        .drill_id;
    env.tick_until_hold(id);
    let events_before: chaos_api::EventsPage = env
        .query::<_, Result<_, Error>>(
            admin(),
            "read_events",
            chaos_api::Page {
                start: 0,
                length: 1,
            },
        )
        .unwrap();
    // Let every callback in flight land before the upgrade (timers keep pointers into the heap).
    for _ in 0..3 {
        env.pic.tick();
    }
    env.upgrade_chaos();
    // Timers do not survive an upgrade: post_upgrade re-arms the drill.
    env.pic.advance_time(std::time::Duration::from_nanos(
        fleet_sim::fixtures::HOLD_NS,
    ));
    let d = env.tick_until_finished(id);
    assert_eq!(d.state, DrillState::Finished);
    assert_eq!(d.report.unwrap().verdict, Verdict::Passed);
    let after: chaos_api::EventsPage = env
        .query::<_, Result<_, Error>>(
            admin(),
            "read_events",
            chaos_api::Page {
                start: 0,
                length: 1,
            },
        )
        .unwrap();
    assert!(after.total > events_before.total);
    let verified: Result<chaos_api::VerifyReport, Error> = env.query(
        admin(),
        "verify_log",
        chaos_api::Page {
            start: 0,
            length: 10_000,
        },
    );
    assert_eq!(verified.unwrap().checked, after.total);
    let check: Result<(), Error> = env.query(admin(), "self_check", ());
    check.unwrap();
}

fn unauthorized_callers(server: PathBuf) {
    let env = funded_env(server);
    let args = chaos_api::StartDrillArgs {
        target: env.vault,
        scenario: Scenario::CanisterLoss,
        hold_ns: None,
        idempotency_key: None,
    };
    let r: Result<chaos_api::StartDrillReply, Error> =
        env.update(candid::Principal::anonymous(), "start_drill", args.clone());
    assert_eq!(r.unwrap_err().code, ErrorCode::AnonymousCaller);
    let r: Result<chaos_api::StartDrillReply, Error> = env.update(stranger(), "start_drill", args);
    assert!(matches!(
        r.unwrap_err().code,
        ErrorCode::NotAuthorized { held: None, .. }
    ));
    let r: Result<chaos_api::TargetSpec, Error> = env.update(
        operator(),
        "register_target",
        fleet_sim::fixtures::vault_target_spec(env.vault),
    );
    assert!(matches!(
        r.unwrap_err().code,
        ErrorCode::NotAuthorized { .. }
    ));
    let r: Result<chaos_api::EventsPage, Error> = env.query(
        stranger(),
        "read_events",
        chaos_api::Page {
            start: 0,
            length: 10,
        },
    );
    assert_eq!(
        r.unwrap_err().code,
        ErrorCode::NotAuthorized {
            required: chaos_api::Role::Auditor,
            held: None
        }
    );
}

fn idempotent_start(server: PathBuf) {
    let env = funded_env(server);
    let a = env
        .start_drill(Scenario::BadUpgrade, 0, Some(b"retry-1"))
        .unwrap();
    let b = env
        .start_drill(Scenario::BadUpgrade, 0, Some(b"retry-1"))
        .unwrap();
    assert_eq!(a.drill_id, b.drill_id);
    assert!(!a.duplicate && b.duplicate);
    let d = env.tick_until_finished(a.drill_id);
    assert_eq!(d.report.unwrap().verdict, Verdict::Passed);
}

// ---------------------------------------------------------------- assurance

fn weak_env(server: PathBuf) -> Env {
    let env = funded_env(server);
    env.weaken_vault();
    env
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn grant(env: &Env, who: candid::Principal, role: chaos_api::Role) {
    let r: Result<(), Error> = env.update(
        admin(),
        "grant_role",
        chaos_api::GrantRoleArgs {
            principal: who,
            role,
        },
    );
    r.expect("grant_role");
}

fn hardening_fixes_the_weak_vault(server: PathBuf) {
    // Given the weak vault and a policy approving its installed release.
    let env = weak_env(server);
    let first = env.scan_vault();
    assert!(first.status_error.is_none(), "{:?}", first.status_error);
    env.approve_vault_module(first.module_hash.clone().expect("module hash"));

    // When it is scanned, then exactly the weak settings fail, each with its mappings.
    let scan = env.scan_vault();
    assert_eq!(
        sorted(control_ids(&scan, "fail")),
        WEAK_FAILING,
        "{scan:#?}"
    );
    let failing: Vec<_> = scan
        .controls
        .iter()
        .filter(|c| matches!(c.result, ControlResult::Fail { .. }))
        .collect();
    for c in &failing {
        assert!(!c.mappings.is_empty(), "{} has no framework mapping", c.id);
        assert!(!c.remediation.is_empty(), "{} has no remediation", c.id);
    }
    let fixable: Vec<String> = failing
        .iter()
        .filter(|c| c.auto_remediable)
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(sorted(fixable), AUTO_FIXABLE);
    assert!(control_ids(&scan, "pass").contains(&"IC-CTRL-18".to_string()));
    // ... and each failing control opened one finding.
    let opened: Vec<String> = env
        .vault_findings(true)
        .into_iter()
        .map(|f| match f.source {
            FindingSource::FailedControl(c) => c,
            other => panic!("unexpected finding source {other:?}"),
        })
        .collect();
    assert_eq!(sorted(opened), WEAK_FAILING);
    let gdpr: Result<FrameworkReport, Error> = env.query(
        admin(),
        "framework_report",
        FrameworkReportArgs {
            target: env.vault,
            framework: Framework::Gdpr,
        },
    );
    let gdpr = gdpr.expect("framework_report");
    assert!(gdpr.gaps.iter().any(|g| g.control == "IC-CTRL-15"));
    assert!(gdpr.coverage.not_satisfied > 0);

    // When an admin requests the automatic fixes, four eyes are enforced.
    let id = env
        .request_hardening(admin(), &AUTO_FIXABLE)
        .expect("request_hardening");
    let pending = env.hardening_request(id);
    assert_eq!(pending.status, HardeningStatus::Pending);
    assert!(pending.plan.take_snapshot);
    let err = env.approve_hardening(admin(), id).unwrap_err();
    assert_eq!(err.code, ErrorCode::SelfApproval { request_id: id });
    let err = env.approve_hardening(operator(), id).unwrap_err();
    assert!(
        matches!(err.code, ErrorCode::NotAuthorized { .. }),
        "{err:?}"
    );
    grant(&env, second_admin(), chaos_api::Role::Admin);
    env.approve_hardening(second_admin(), id)
        .expect("approve_hardening");

    // Then it is performed, rescanned, and the fixed controls pass.
    let done = env.tick_until_hardened(id);
    let HardeningStatus::Finished {
        outcomes,
        after_score,
    } = &done.status
    else {
        unreachable!()
    };
    assert!(outcomes.iter().all(|o| o.succeeded), "{outcomes:#?}");
    let calls: Vec<&str> = outcomes.iter().map(|o| o.effect.as_str()).collect();
    assert_eq!(
        calls,
        [
            "update_settings",
            "stop_canister",
            "take_canister_snapshot",
            "start_canister"
        ]
    );
    assert!(*after_score > done.before_score);
    assert!(!done.needs_attention);
    let after = env.get_scan();
    assert_eq!(
        sorted(control_ids(&after, "fail")),
        ["IC-CTRL-02", "IC-CTRL-21"],
        "{after:#?}"
    );
    // ... and their findings were resolved by the rescan.
    for f in env.vault_findings(false) {
        let FindingSource::FailedControl(c) = &f.source else {
            continue;
        };
        let expected = if AUTO_FIXABLE.contains(&c.as_str()) {
            FindingStatus::Resolved
        } else {
            FindingStatus::Open
        };
        assert_eq!(f.status, expected, "{c}");
    }
    // The vault still answers after being stopped and started.
    env.vault_probe();

    // Readiness is blocked by the missing DR drill ...
    let before_drill = env.assess_vault();
    assert_eq!(before_drill.verdict, ReadinessVerdict::NotReady);
    assert!(
        before_drill
            .blocking_issues
            .iter()
            .any(|b| b.starts_with("RDY-DR-01")),
        "{:?}",
        before_drill.blocking_issues
    );

    // ... and the reports are served over HTTP.
    let vault = env.vault.to_text();
    let json = env.http_get(&format!("/scan/{vault}.json"));
    assert_eq!(json.status_code, 200);
    assert!(json.body_text().contains("\"IC-CTRL-06\""));
    let html = env.http_get(&format!("/readiness/{vault}.html"));
    assert_eq!(html.status_code, 200);
    assert!(html.body_text().contains("RDY-DR-01"));
    let metrics = env.http_get("/metrics").body_text();
    assert!(
        metrics.contains("chaos_system_hardening_requests{status=\"finished\"} 1"),
        "{metrics}"
    );
    assert_eq!(env.http_get("/nothing-here").status_code, 404);

    // When a DR drill passes, then readiness is no longer blocked by it.
    let d = env.run_drill(Scenario::CanisterLoss, OPS_DURING_HOLD);
    assert_eq!(d.report.unwrap().verdict, Verdict::Passed);
    let rescan = env.scan_vault();
    assert_eq!(sorted(control_ids(&rescan, "fail")), ["IC-CTRL-02"]);
    let after_drill = env.assess_vault();
    assert!(
        after_drill.blocking_issues.is_empty(),
        "{:?}",
        after_drill.blocking_issues
    );
    let dr01 = after_drill
        .criteria
        .iter()
        .find(|c| c.id == "RDY-DR-01")
        .unwrap();
    assert_eq!(dr01.result, ControlResult::Pass);
    assert_ne!(after_drill.verdict, ReadinessVerdict::NotReady);
    assert_eq!(after_drill.trend, Trend::Improving);
    let check: Result<(), Error> = env.query(admin(), "self_check", ());
    check.unwrap();
}

fn hardening_survives_an_upgrade(server: PathBuf) {
    let env = weak_env(server);
    env.scan_vault();
    let id = env
        .request_hardening(operator(), &["IC-CTRL-06", "IC-CTRL-15"])
        .expect("request_hardening");
    env.approve_hardening(admin(), id)
        .expect("approve_hardening");
    // Timers do not survive an upgrade: post_upgrade performs the approved request (again, if
    // it was under way; stopping lets calls in flight finish first).
    env.stop_upgrade_start_chaos();
    let done = env.tick_until_hardened(id);
    assert!(!done.needs_attention);
    let after = env.get_scan();
    let passing = control_ids(&after, "pass");
    for c in ["IC-CTRL-06", "IC-CTRL-15"] {
        assert!(passing.contains(&c.to_string()), "{c}: {after:#?}");
    }
    let check: Result<(), Error> = env.query(admin(), "self_check", ());
    check.unwrap();
}

fn try_scan(env: &Env) -> Option<chaos_api::ScanReport> {
    let r: Result<chaos_api::ScanReport, Error> = env.query(admin(), "get_scan", env.vault);
    r.ok()
}

fn tick_until_scanned_after(env: &Env, after_ns: u64) -> chaos_api::ScanReport {
    for _ in 0..200 {
        if let Some(s) = try_scan(env).filter(|s| s.scanned_at_ns > after_ns) {
            return s;
        }
        env.pic.tick();
    }
    panic!("no scheduled scan after {after_ns} in 200 rounds");
}

fn scheduled_scans(server: PathBuf) {
    const HOUR_NS: u64 = 3_600_000_000_000;
    let env = funded_env(server);
    let r: Result<(), Error> = env.update(operator(), "set_scan_schedule", Some(HOUR_NS));
    assert!(matches!(
        r.unwrap_err().code,
        ErrorCode::NotAuthorized { .. }
    ));
    let r: Result<(), Error> = env.update(admin(), "set_scan_schedule", Some(60_000_000_000u64));
    assert!(matches!(
        r.unwrap_err().code,
        ErrorCode::InvalidArgument { .. }
    ));
    let r: Result<(), Error> = env.update(admin(), "set_scan_schedule", Some(HOUR_NS));
    r.expect("set_scan_schedule");
    assert!(try_scan(&env).is_none());
    // The timer looks every quarter interval (15 min); the never-scanned vault is due at once.
    env.pic.advance_time(Duration::from_secs(16 * 60));
    let first = tick_until_scanned_after(&env, 0);
    // After an upgrade the schedule is re-armed from the log.
    // Let every callback in flight land before the upgrade (timers keep pointers into the heap).
    for _ in 0..3 {
        env.pic.tick();
    }
    env.upgrade_chaos();
    env.pic.advance_time(Duration::from_secs(61 * 60));
    tick_until_scanned_after(&env, first.scanned_at_ns);
}

fn assurance_unauthorized(server: PathBuf) {
    let env = funded_env(server);
    let anonymous = candid::Principal::anonymous();
    let auditor = integration_tests::principal(4);
    grant(&env, auditor, chaos_api::Role::Auditor);

    assert_eq!(
        env.scan(anonymous).unwrap_err().code,
        ErrorCode::AnonymousCaller
    );
    assert!(matches!(
        env.scan(stranger()).unwrap_err().code,
        ErrorCode::NotAuthorized { held: None, .. }
    ));
    assert!(matches!(
        env.scan(auditor).unwrap_err().code,
        ErrorCode::NotAuthorized {
            held: Some(chaos_api::Role::Auditor),
            ..
        }
    ));
    let r: Result<Vec<chaos_api::ScanSummary>, Error> =
        env.update(operator(), "scan_targets", vec![stranger()]);
    assert!(matches!(
        r.unwrap_err().code,
        ErrorCode::TargetNotFound { .. }
    ));
    let r: Result<Vec<chaos_api::ScanSummary>, Error> =
        env.update(operator(), "scan_targets", vec![env.vault; 11]);
    assert!(matches!(
        r.unwrap_err().code,
        ErrorCode::InvalidArgument { .. }
    ));
    env.scan_vault();

    let policy: Result<chaos_api::HardeningPolicy, Error> =
        env.query(auditor, "get_hardening_policy", ());
    let policy = policy.expect("auditors read the policy");
    let r: Result<(), Error> = env.update(operator(), "set_hardening_policy", policy);
    assert!(matches!(
        r.unwrap_err().code,
        ErrorCode::NotAuthorized { .. }
    ));
    let r: Result<chaos_api::ScanReport, Error> = env.query(stranger(), "get_scan", env.vault);
    assert!(matches!(
        r.unwrap_err().code,
        ErrorCode::NotAuthorized { .. }
    ));
    let r: Result<chaos_api::ScanReport, Error> = env.query(auditor, "get_scan", env.vault);
    r.expect("auditors read scans");
    let r = env.request_hardening(auditor, &["IC-CTRL-20"]);
    assert!(matches!(
        r.unwrap_err().code,
        ErrorCode::NotAuthorized { .. }
    ));
    let r: Result<chaos_api::Finding, Error> = env.update(
        stranger(),
        "report_finding",
        chaos_api::ReportFindingArgs {
            target: env.vault,
            severity: chaos_api::Severity::High,
            title: "t".into(),
            detail: "d".into(),
        },
    );
    assert!(matches!(
        r.unwrap_err().code,
        ErrorCode::NotAuthorized { .. }
    ));
    let r: Result<chaos_api::Readiness, Error> =
        env.update(anonymous, "assess_readiness", env.vault);
    assert_eq!(r.unwrap_err().code, ErrorCode::AnonymousCaller);
    // /metrics is public (counts only); reports are not unless the policy publishes them.
    let scan = env.http_get(&format!("/scan/{}.json", env.vault));
    assert_eq!(scan.status_code, 403);
    let metrics = env.http_get("/metrics");
    assert_eq!(metrics.status_code, 200);
    assert!(metrics.body_text().contains("chaos_system_events_total"));
}
