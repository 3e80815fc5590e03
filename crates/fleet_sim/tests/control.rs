//! Who may do what: control of the target, roles, idempotent retries.

mod common;

use candid::Principal;
use chaos_manager::drill::{ScenarioKind, Verdict};
use chaos_manager::{CoreError, DurationNs, Role};
use common::*;
use fleet_sim::canister::{CanisterStatus, Module, StatusVisibility};
use fleet_sim::fixtures::{vault_target_spec, HOLD_NS, OPS_DURING_HOLD};
use fleet_sim::sim::{admin, developer, operator, start_drill_key, stranger};
use fleet_sim::{DrillRequest, Sim};

/// Given a registered vault whose developer then removed chaos_system from its controllers.
fn vault_the_suite_lost_control_of(status: StatusVisibility) -> (Sim, Principal) {
    let (mut sim, vault) = registered_vault(SEED);
    sim.set_status_visibility(vault, status);
    sim.set_controllers(vault, developer(), vec![developer()])
        .expect("the developer controls the vault");
    (sim, vault)
}

fn assert_aborted_untouched(
    sim: &Sim,
    vault: Principal,
    id: chaos_manager::DrillId,
    before: &chaos_manager::effect::StateProbe,
) -> String {
    let d = sim.drill(id);
    let report = d.report().expect("finished");
    assert_eq!(report.verdict, Verdict::Aborted);
    assert!(!report.needs_attention);
    assert_eq!(d.timeline.len(), 1, "only the control check ran");
    assert!(d.restore_point.is_none());
    let c = sim.canister(vault).unwrap();
    assert_eq!(
        (c.status(), c.module()),
        (CanisterStatus::Running, Module::Vault)
    );
    assert!(c.snapshots().is_empty());
    assert_eq!(
        &probe(sim, vault),
        before,
        "the target's state is unchanged"
    );
    report.abort_reason.clone().unwrap()
}

#[test]
fn a_drill_on_a_canister_the_suite_no_longer_controls_aborts_with_the_fix_and_touches_nothing() {
    // Given a vault with public status that chaos_system no longer controls
    let (mut sim, vault) = vault_the_suite_lost_control_of(StatusVisibility::Public);
    let before = probe(&sim, vault);
    // When a drill runs on it
    let id = start(&mut sim, vault, ScenarioKind::CanisterLoss);
    sim.run_until_idle();
    // Then it is aborted at the control check, says how to fix it, and the vault is untouched
    let reason = assert_aborted_untouched(&sim, vault, id, &before);
    assert!(reason.contains("is not a controller"), "{reason}");
    assert!(reason.contains("--add-controller"), "{reason}");
}

#[test]
fn control_is_read_with_canister_info_so_private_status_still_gives_the_precise_reason() {
    // Given the IC's default: only controllers may read the status. canister_info is open to
    // every canister, so the drill still names the missing controller.
    let (mut sim, vault) = vault_the_suite_lost_control_of(StatusVisibility::Controllers);
    let before = probe(&sim, vault);
    let id = start(&mut sim, vault, ScenarioKind::BadUpgrade);
    sim.run_until_idle();
    let reason = assert_aborted_untouched(&sim, vault, id, &before);
    assert!(reason.contains("is not a controller"), "{reason}");
}

#[test]
fn registering_a_canister_with_public_status_the_suite_does_not_control_is_refused_as_not_controller(
) {
    let mut sim = Sim::new(SEED);
    let vault = sim.add_vault_without_control("someone_elses_vault");
    sim.set_status_visibility(vault, StatusVisibility::Public);
    let err = sim
        .register_target(admin(), vault_target_spec(vault))
        .unwrap_err();
    assert_eq!(
        err,
        CoreError::NotController {
            canister: vault,
            suite: sim.suite()
        }
    );
    assert!(sim.state().targets.is_empty());
}

#[test]
fn registering_a_canister_with_private_status_the_suite_does_not_control_is_refused_as_not_controller(
) {
    let mut sim = Sim::new(SEED);
    let vault = sim.add_vault_without_control("someone_elses_vault");
    let err = sim
        .register_target(admin(), vault_target_spec(vault))
        .unwrap_err();
    assert_eq!(
        err,
        CoreError::NotController {
            canister: vault,
            suite: sim.suite()
        }
    );
    assert!(sim.state().targets.is_empty());
}

#[test]
fn only_admins_register_targets() {
    let (mut sim, vault) = vault_with_deposits(SEED);
    let err = sim
        .register_target(operator(), vault_target_spec(vault))
        .unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::NotAuthorized {
                required: Role::Admin,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn anonymous_and_unknown_principals_cannot_start_drills() {
    let (mut sim, vault) = registered_vault(SEED);
    sim.grant_role(
        admin(),
        Principal::self_authenticating(b"auditor"),
        Role::Auditor,
    )
    .unwrap();
    let events = sim.journal().log().len();
    let hold = DurationNs(HOLD_NS);
    let scenario = ScenarioKind::CanisterLoss;

    let anonymous = sim.start_drill(Principal::anonymous(), vault, scenario, hold, 0);
    assert_eq!(anonymous, Err(CoreError::AnonymousCaller));
    let unknown = sim.start_drill(stranger(), vault, scenario, hold, 0);
    assert!(
        matches!(
            unknown,
            Err(CoreError::NotAuthorized {
                held: None,
                required: Role::Operator,
                ..
            })
        ),
        "{unknown:?}"
    );
    let auditor = Principal::self_authenticating(b"auditor");
    let read_only = sim.start_drill(auditor, vault, scenario, hold, 0);
    assert!(
        matches!(
            read_only,
            Err(CoreError::NotAuthorized {
                held: Some(Role::Auditor),
                ..
            })
        ),
        "{read_only:?}"
    );
    assert_eq!(sim.journal().log().len(), events, "refusals record nothing");
    assert!(sim.state().drills.is_empty());
}

#[test]
fn a_retried_start_with_the_same_key_returns_the_same_drill() {
    // Given a registered vault
    let (mut sim, vault) = registered_vault(SEED);
    let request = DrillRequest {
        target: vault,
        scenario: ScenarioKind::CanisterLoss,
        hold: DurationNs(HOLD_NS),
        ops_during_hold: OPS_DURING_HOLD,
        idempotency_key: Some(b"ticket-1234".to_vec()),
    };
    // When the operator starts a drill, then retries with the same key
    let first = sim.request_drill(operator(), request.clone()).unwrap();
    let events = sim.journal().log().len();
    let retry = sim.request_drill(operator(), request.clone()).unwrap();
    // Then the retry names the same drill, records nothing and starts nothing
    assert!(!first.duplicate);
    assert_eq!(retry.id, first.id);
    assert!(retry.duplicate);
    assert_eq!(sim.journal().log().len(), events);
    assert_eq!(sim.state().drills.len(), 1);
    // And the key is scoped as the canister scopes it
    let key = start_drill_key(&operator(), b"ticket-1234");
    assert_eq!(
        sim.journal()
            .log()
            .lookup_idempotency_key(&key, sim.now().0),
        Some(first.id.0)
    );
    // And after the drill a retry still names it, while a new key starts a new drill
    sim.run_until_idle();
    assert_eq!(
        sim.request_drill(operator(), request.clone()).unwrap().id,
        first.id
    );
    let other = DrillRequest {
        idempotency_key: Some(b"ticket-1235".to_vec()),
        ..request
    };
    let second = sim.request_drill(operator(), other).unwrap();
    assert_ne!(second.id, first.id);
    assert!(!second.duplicate);
}

#[test]
fn a_second_drill_on_a_busy_target_is_refused() {
    let (mut sim, vault) = registered_vault(SEED);
    let first = start(&mut sim, vault, ScenarioKind::CanisterLoss);
    let second = sim.start_drill(
        operator(),
        vault,
        ScenarioKind::BadUpgrade,
        DurationNs(0),
        0,
    );
    assert_eq!(
        second,
        Err(CoreError::DrillInProgress {
            canister: vault,
            drill: first
        })
    );
}
