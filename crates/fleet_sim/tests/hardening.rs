//! Hardening on the simulated fleet: the native twins of the PocketIC hardening scenario
//! (`tests/tests/pocketic.rs`), built from the same `fleet_sim::fixtures`.

mod common;

use candid::Principal;
use chaos_manager::assurance::HardeningStatus;
use chaos_manager::drill::{ScenarioKind, Verdict};
use chaos_manager::effect::{Outcome, RejectCode};
use chaos_manager::hardening::fixtures::policy_approving_release;
use chaos_manager::hardening::{
    control, ControlId, Cycles, ScanReport, SettingsChange, Visibility,
};
use chaos_manager::readiness::{ReadinessVerdict, Trend};
use chaos_manager::vulnerability::FindingStatus;
use chaos_manager::CoreError;
use common::*;
use fleet_sim::canister::CanisterStatus;
use fleet_sim::fixtures::{
    backup_controller, vault_target_spec, WEAK_VAULT_AUTO_FIXABLE, WEAK_VAULT_FAILING_CONTROLS,
};
use fleet_sim::sim::{admin, developer, operator};
use fleet_sim::Sim;

/// What vault-b fails besides the weak vault's failures: a reserved cycles limit of 0 (08),
/// public snapshots (16) and public status (17).
const EXTRA_FAILING: [&str; 3] = ["IC-CTRL-08", "IC-CTRL-16", "IC-CTRL-17"];

fn ids(list: &[&str]) -> Vec<ControlId> {
    list.iter().map(|s| ControlId::new(s)).collect()
}

fn failing(report: &ScanReport) -> Vec<String> {
    report.failing().map(|r| r.control.to_string()).collect()
}

/// The failing controls of `report` that have an automatic remediation, in catalog order.
fn fixable(report: &ScanReport) -> Vec<ControlId> {
    report
        .failing()
        .filter(|r| control(&r.control).is_some_and(|c| c.auto_remediation.is_some()))
        .map(|r| r.control.clone())
        .collect()
}

fn catalog_order(mut v: Vec<&str>) -> Vec<String> {
    v.sort();
    v.into_iter().map(String::from).collect()
}

fn finding_status(sim: &Sim, vault: Principal, control: &str) -> FindingStatus {
    sim.state()
        .assurance
        .register
        .for_control(vault, &ControlId::new(control))
        .unwrap_or_else(|| panic!("no finding for {control} on {vault}"))
        .status
        .clone()
}

/// Given a fleet of two weakly configured, registered vaults holding the fixture deposits,
/// under a policy that approves their release: vault-a as the weak fixture, vault-b also with
/// public status and snapshots and no reserved cycles limit.
fn weak_fleet(seed: u64) -> (Sim, Principal, Principal) {
    let mut sim = Sim::new(seed);
    sim.set_policy(admin(), policy_approving_release())
        .expect("admin sets the policy");
    let a = sim.add_weak_vault("vault-a");
    let b = sim.add_weak_vault("vault-b");
    let worse = SettingsChange {
        status_visibility: Some(Visibility::Public),
        snapshot_visibility: Some(Visibility::Public),
        reserved_cycles_limit: Some(Cycles(0)),
        ..SettingsChange::default()
    };
    sim.update_settings(b, developer(), &worse)
        .expect("the developer controls vault-b");
    for v in [a, b] {
        deposit_fixtures(&mut sim, v);
        sim.register_target(admin(), vault_target_spec(v))
            .expect("register the vault");
    }
    (sim, a, b)
}

/// When the operator proposes every automatically fixable failing control of `vault` and the
/// admin approves: the request's id.
fn harden(sim: &mut Sim, vault: Principal) -> u64 {
    let report = sim.latest_scan(vault).expect("scanned").clone();
    let id = sim
        .request_hardening(operator(), vault, &fixable(&report))
        .expect("the operator proposes");
    let own = sim.decide_hardening(operator(), id, true, "");
    assert!(
        matches!(own, Err(CoreError::NotAuthorized { .. })),
        "an operator cannot approve: {own:?}"
    );
    sim.decide_hardening(admin(), id, true, "reviewed")
        .expect("a second person, an admin, approves");
    id
}

#[test]
fn weak_vault_is_scanned_hardened_rescanned_and_becomes_ready() {
    // Given a weakly configured fleet
    let (mut sim, a, b) = weak_fleet(SEED);

    // When it is scanned
    let reports = sim.scan(operator(), &[a, b]).expect("scan");
    // Then exactly the weak settings fail, each with one open finding
    assert_eq!(failing(&reports[0]), WEAK_VAULT_FAILING_CONTROLS);
    let mut expected_b = WEAK_VAULT_FAILING_CONTROLS.to_vec();
    expected_b.extend(EXTRA_FAILING);
    assert_eq!(failing(&reports[1]), catalog_order(expected_b.clone()));
    assert_eq!(fixable(&reports[0]), ids(&WEAK_VAULT_AUTO_FIXABLE));
    for (v, expected) in [(a, WEAK_VAULT_FAILING_CONTROLS.to_vec()), (b, expected_b)] {
        assert_eq!(
            sim.state().assurance.register.for_target(v).count(),
            expected.len()
        );
        for c in expected {
            assert_eq!(finding_status(&sim, v, c), FindingStatus::Open, "{c}");
        }
    }
    // And the vault is not ready: no DR drill has ever passed
    let before = sim.assess_readiness(operator(), a).unwrap();
    assert_eq!(before.verdict, ReadinessVerdict::NotReady);
    let dr01 = "RDY-DR-01 A DR drill passed recently: no DR drill has ever passed";
    assert_eq!(before.blocking_issues, [dr01]);

    // When the operator proposes the automatic fixes, an admin approves, and they are performed
    let requests = [harden(&mut sim, a), harden(&mut sim, b)];
    sim.run_until_idle();
    // Then every request finished with a higher score and left its vault running
    for (id, v) in requests.into_iter().zip([a, b]) {
        let r = sim.hardening_request(id);
        let HardeningStatus::Finished {
            outcomes,
            after_score,
        } = &r.status
        else {
            panic!("request {id} is {:?}", r.status)
        };
        assert!(
            outcomes.iter().all(|(_, o)| !o.is_failure()),
            "{outcomes:?}"
        );
        assert!(*after_score > r.before_score);
        assert!(!r.needs_attention());
        let c = sim.canister(v).unwrap();
        assert_eq!(c.status(), CanisterStatus::Running);
        assert_eq!(c.settings().freezing_threshold_secs, 90 * 86_400);
        assert_eq!(c.settings().log_visibility, Visibility::Controllers);
        assert_eq!(c.snapshots().len(), 1);
    }

    // When the fleet is rescanned
    let rescans = sim.scan(operator(), &[a, b]).expect("rescan");
    // Then the fixed controls pass and their findings are resolved; only the backup
    // controller and the DR drill still fail
    for (report, v) in rescans.iter().zip([a, b]) {
        assert_eq!(failing(report), ["IC-CTRL-02", "IC-CTRL-21"]);
        for c in WEAK_VAULT_AUTO_FIXABLE
            .iter()
            .chain(EXTRA_FAILING.iter().filter(|_| v == b))
        {
            assert!(report.outcome(c).unwrap().result.is_pass(), "{c}");
            assert_eq!(finding_status(&sim, v, c), FindingStatus::Resolved, "{c}");
        }
    }
    let hardened = sim.assess_readiness(operator(), a).unwrap();
    assert_eq!(
        hardened.blocking_issues,
        [dr01],
        "hardening alone does not replace a drill"
    );

    // When a DR drill passes and the developer adds a backup controller, then it is rescanned
    let drill = start(&mut sim, a, ScenarioKind::CanisterLoss);
    sim.run_until_idle();
    assert_eq!(sim.drill(drill).report().unwrap().verdict, Verdict::Passed);
    let controllers = vec![developer(), backup_controller(), sim.suite()];
    sim.set_controllers(a, developer(), controllers).unwrap();
    let last = sim.scan(operator(), &[a]).expect("rescan").remove(0);
    assert_eq!(failing(&last), Vec::<String>::new());
    for c in ["IC-CTRL-02", "IC-CTRL-21"] {
        assert_eq!(finding_status(&sim, a, c), FindingStatus::Resolved, "{c}");
    }

    // Then DR no longer blocks: the vault is ready with conditions, the conditions being what
    // the suite cannot see (the access probe has not run, no experiments, no alerting or
    // runbook records)
    let after = sim.assess_readiness(operator(), a).unwrap();
    assert_eq!(after.verdict, ReadinessVerdict::ReadyWithConditions);
    assert!(
        after.blocking_issues.is_empty(),
        "{:?}",
        after.blocking_issues
    );
    assert!(after.criterion("RDY-DR-01").unwrap().result.is_pass());
    let unknown: Vec<&str> = after
        .criteria
        .iter()
        .filter(|c| !c.result.is_pass())
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        unknown,
        [
            "RDY-SEC-01",
            "RDY-PERF-01",
            "RDY-PERF-02",
            "RDY-MON-03",
            "RDY-CMP-01",
            "RDY-DOC-01",
            "RDY-DOC-02"
        ]
    );
    assert!(after.criteria.iter().all(|c| !c.result.is_fail()));
    assert!(after.overall_score > before.overall_score);
    assert_eq!(after.trend, Trend::Improving);
    sim.self_check().unwrap();
}

#[test]
fn an_upgrade_in_the_middle_of_a_hardening_performs_it_again_from_the_start() {
    // Given an approved hardening whose first call (update_settings) has completed
    let (mut sim, a, _) = weak_fleet(SEED);
    sim.scan(operator(), &[a]).unwrap();
    let id = harden(&mut sim, a);
    assert!(sim.try_step().unwrap());
    assert_eq!(
        sim.canister(a).unwrap().settings().freezing_threshold_secs,
        90 * 86_400
    );
    // When chaos_system is upgraded while stop_canister is in flight, and the stop acted
    sim.set_upgrade_lost_reply(1.0);
    sim.reopen();
    sim.set_upgrade_lost_reply(0.0);
    assert_eq!(sim.canister(a).unwrap().status(), CanisterStatus::Stopped);
    assert!(matches!(
        sim.hardening_request(id).status,
        HardeningStatus::Approved { .. }
    ));
    // Then the request is performed again from its first effect and finishes cleanly
    sim.run_until_idle();
    let r = sim.hardening_request(id);
    let HardeningStatus::Finished { outcomes, .. } = &r.status else {
        panic!("{:?}", r.status)
    };
    let names: Vec<&str> = outcomes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "update_settings",
            "stop_canister",
            "take_canister_snapshot",
            "start_canister"
        ]
    );
    assert_eq!(sim.canister(a).unwrap().status(), CanisterStatus::Running);
    assert_eq!(sim.stats().hardenings_finished, 1);
    assert_eq!(
        failing(sim.latest_scan(a).unwrap()),
        ["IC-CTRL-02", "IC-CTRL-21"]
    );
    sim.self_check().unwrap();
}

#[test]
fn an_approved_hardening_waits_for_the_drill_running_on_its_target() {
    let (mut sim, a, _) = weak_fleet(SEED);
    sim.scan(operator(), &[a]).unwrap();
    let drill = start(&mut sim, a, ScenarioKind::BadUpgrade);
    let id = harden(&mut sim, a);
    // While the drill runs, the vault's settings stay as they were
    while sim.drill(drill).is_running() {
        assert_eq!(
            sim.canister(a).unwrap().settings().freezing_threshold_secs,
            30 * 86_400
        );
        assert!(sim.try_step().unwrap());
    }
    sim.run_until_idle();
    assert_eq!(sim.drill(drill).report().unwrap().verdict, Verdict::Passed);
    let r = sim.hardening_request(id);
    assert!(r.finished_at.unwrap() > sim.drill(drill).report().unwrap().finished_at);
    assert_eq!(
        sim.canister(a).unwrap().settings().freezing_threshold_secs,
        90 * 86_400
    );
}

#[test]
fn a_failed_update_settings_leaves_its_controls_failing_and_the_snapshot_still_counts() {
    // Given an approved hardening whose update_settings will not be delivered
    let (mut sim, a, _) = weak_fleet(SEED);
    sim.scan(operator(), &[a]).unwrap();
    sim.fail_next(a, "update_settings", RejectCode::SysTransient);
    let id = harden(&mut sim, a);
    // When it is performed
    sim.run_until_idle();
    // Then the outcome says so, the snapshot was still taken, and the rescan shows it
    let r = sim.hardening_request(id);
    let HardeningStatus::Finished { outcomes, .. } = &r.status else {
        panic!("{:?}", r.status)
    };
    assert!(outcomes[0].1.is_failure(), "{outcomes:?}");
    assert!(outcomes[1..]
        .iter()
        .all(|(_, o)| *o == Outcome::Done || matches!(o, Outcome::SnapshotTaken { .. })));
    assert_eq!(
        finding_status(&sim, a, "IC-CTRL-20"),
        FindingStatus::Resolved
    );
    for c in ["IC-CTRL-06", "IC-CTRL-11", "IC-CTRL-15"] {
        assert_eq!(finding_status(&sim, a, c), FindingStatus::Open, "{c}");
    }
    // And a second request fixes what is left
    harden(&mut sim, a);
    sim.run_until_idle();
    assert_eq!(
        failing(sim.latest_scan(a).unwrap()),
        ["IC-CTRL-02", "IC-CTRL-21"]
    );
    sim.self_check().unwrap();
}

#[test]
fn a_scan_whose_evidence_cannot_be_read_records_unknowns_and_changes_no_finding() {
    let (mut sim, a, _) = weak_fleet(SEED);
    sim.scan(operator(), &[a]).unwrap();
    let register = sim.state().assurance.register.clone();
    sim.fail_next(a, "collect_evidence", RejectCode::SysUnknown);
    let report = sim.scan(operator(), &[a]).unwrap().remove(0);
    let status = report.evidence.status.as_ref().unwrap_err();
    assert!(status.contains("SysUnknown"), "{status}");
    assert!(report.outcome("IC-CTRL-06").unwrap().result.is_unknown());
    assert_eq!(sim.state().assurance.register, register);
}

#[test]
fn a_scan_is_refused_before_anything_is_read() {
    let (mut sim, a, _) = weak_fleet(SEED);
    let unregistered = sim.add_weak_vault("vault-c");
    let performed = sim.stats().effects_performed;
    let err = sim.scan(operator(), &[a, unregistered]).unwrap_err();
    assert_eq!(
        err,
        CoreError::TargetNotFound {
            canister: unregistered
        }
    );
    let err = sim.scan(fleet_sim::sim::stranger(), &[a]).unwrap_err();
    assert!(matches!(err, CoreError::NotAuthorized { .. }), "{err:?}");
    assert_eq!(sim.stats().effects_performed, performed);
    assert!(sim.latest_scan(a).is_none());
}

#[test]
fn the_suite_reads_a_vault_it_lost_control_of_only_as_far_as_its_visibility_allows() {
    let (mut sim, a, b) = weak_fleet(SEED);
    for v in [a, b] {
        sim.set_controllers(v, developer(), vec![developer()])
            .unwrap();
    }
    let reports = sim.scan(operator(), &[a, b]).unwrap();
    // vault-a: status and snapshots for controllers only
    assert!(reports[0].evidence.status.is_err());
    assert_eq!(reports[0].evidence.snapshots, None);
    // vault-b made both public: the suite reads them and sees it is no longer a controller
    let b_report = &reports[1];
    assert!(b_report.evidence.status.is_ok());
    assert_eq!(b_report.evidence.snapshots, Some(vec![]));
    assert!(b_report.outcome("IC-CTRL-04").unwrap().result.is_fail());
}
