//! Commands and their error paths: authorization, validation, registry rules.

mod common;

use chaos_manager::auth::authorize;
use chaos_manager::command;
use chaos_manager::drill::{DrillOptions, ScenarioKind, MAX_HOLD};
use chaos_manager::target::ControlEvidence;
use chaos_manager::{CoreError, DurationNs, Role};
use common::*;
use ic_principal::Principal;

#[test]
fn anonymous_and_unknown_callers_are_refused_with_typed_errors() {
    let h = Harness::with_vault();
    assert_eq!(
        authorize(&h.state, &Principal::anonymous(), Role::Auditor),
        Err(CoreError::AnonymousCaller)
    );
    let stranger = principal(99);
    let err = command::start_drill(
        &h.state,
        &stranger,
        principal(VAULT),
        ScenarioKind::CanisterLoss,
        DrillOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        CoreError::NotAuthorized {
            caller: stranger,
            required: Role::Operator,
            held: None
        }
    );
    assert!(err.to_string().contains("an admin must grant it"));
}

#[test]
fn roles_are_ordered_auditor_operator_admin() {
    let h = Harness::with_vault();
    let auditor = principal(AUDITOR);
    let operator = principal(OPERATOR);
    assert!(authorize(&h.state, &auditor, Role::Auditor).is_ok());
    assert!(authorize(&h.state, &auditor, Role::Operator).is_err());
    assert!(authorize(&h.state, &operator, Role::Operator).is_ok());
    assert!(matches!(
        command::grant_role(&h.state, &operator, principal(50), Role::Admin),
        Err(CoreError::NotAuthorized {
            held: Some(Role::Operator),
            ..
        })
    ));
}

#[test]
fn the_last_admin_can_be_neither_revoked_nor_demoted() {
    let h = Harness::with_vault();
    let admin = principal(ADMIN);
    assert_eq!(
        command::revoke_role(&h.state, &admin, admin),
        Err(CoreError::LastAdmin)
    );
    assert_eq!(
        command::grant_role(&h.state, &admin, admin, Role::Operator),
        Err(CoreError::LastAdmin)
    );
    assert!(command::revoke_role(&h.state, &admin, principal(OPERATOR)).is_ok());
    assert!(matches!(
        command::revoke_role(&h.state, &admin, principal(77)),
        Err(CoreError::InvalidArgument { .. })
    ));
    assert!(matches!(
        command::grant_role(&h.state, &admin, Principal::anonymous(), Role::Auditor),
        Err(CoreError::InvalidArgument { .. })
    ));
}

#[test]
fn registration_requires_the_suite_among_the_controllers() {
    let h = Harness::with_vault();
    let admin = principal(ADMIN);
    let mut t = vault_target();
    t.canister_id = principal(11);
    let err = command::register_target(
        &h.state,
        &admin,
        t.clone(),
        ControlEvidence::Controllers(vec![admin]),
    )
    .unwrap_err();
    assert_eq!(
        err,
        CoreError::NotController {
            canister: principal(11),
            suite: principal(SUITE)
        }
    );
    assert!(err.to_string().contains("--add-controller"));
    let err = command::register_target(
        &h.state,
        &admin,
        t.clone(),
        ControlEvidence::StatusUnavailable("only controllers may read the status".into()),
    )
    .unwrap_err();
    assert!(matches!(err, CoreError::ControlUnverifiable { .. }));
    assert!(command::register_target(
        &h.state,
        &admin,
        t,
        ControlEvidence::Controllers(vec![principal(SUITE)])
    )
    .is_ok());
}

#[test]
fn registration_validates_the_spec() {
    let h = Harness::with_vault();
    let admin = principal(ADMIN);
    type Mutation = Box<dyn Fn(&mut chaos_manager::target::Target)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("name", Box::new(|t| t.name = String::new())),
        ("name", Box::new(|t| t.name = "x".repeat(65))),
        (
            "probe_method",
            Box::new(|t| t.probe_method = "bad method".into()),
        ),
        (
            "rto_objective_ns",
            Box::new(|t| t.rto_objective = DurationNs(0)),
        ),
        (
            "canister_id",
            Box::new(|t| t.canister_id = Principal::anonymous()),
        ),
        (
            "allowed_scenarios",
            Box::new(|t| {
                t.allowed_scenarios = vec![ScenarioKind::BadUpgrade, ScenarioKind::BadUpgrade]
            }),
        ),
    ];
    for (field, mutate) in cases {
        let mut t = vault_target();
        t.canister_id = principal(12);
        mutate(&mut t);
        match command::precheck_register(&h.state, &admin, &t) {
            Err(CoreError::InvalidArgument { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: expected InvalidArgument, got {other:?}"),
        }
    }
    assert!(matches!(
        command::precheck_register(&h.state, &admin, &vault_target()),
        Err(CoreError::TargetAlreadyRegistered { .. })
    ));
}

#[test]
fn protected_targets_and_disallowed_scenarios_are_refused() {
    let mut h = Harness::with_vault();
    let admin = principal(ADMIN);
    let op = principal(OPERATOR);
    let mut t = vault_target();
    t.allowed_scenarios = vec![ScenarioKind::BadUpgrade];
    let ev = command::update_target(&h.state, &admin, t.clone()).unwrap();
    h.apply(admin, ev);
    assert_eq!(
        command::start_drill(
            &h.state,
            &op,
            principal(VAULT),
            ScenarioKind::CanisterLoss,
            DrillOptions::default()
        ),
        Err(CoreError::ScenarioNotAllowed {
            canister: principal(VAULT),
            scenario: ScenarioKind::CanisterLoss
        })
    );
    t.protected = true;
    let ev = command::update_target(&h.state, &admin, t).unwrap();
    h.apply(admin, ev);
    assert_eq!(
        command::start_drill(
            &h.state,
            &op,
            principal(VAULT),
            ScenarioKind::BadUpgrade,
            DrillOptions::default()
        ),
        Err(CoreError::TargetProtected {
            canister: principal(VAULT)
        })
    );
}

#[test]
fn one_drill_per_target_and_no_removal_while_it_runs() {
    let mut h = Harness::with_vault();
    let id = h.start(ScenarioKind::CanisterLoss, DurationNs(0));
    let op = principal(OPERATOR);
    assert_eq!(
        command::start_drill(
            &h.state,
            &op,
            principal(VAULT),
            ScenarioKind::BadUpgrade,
            DrillOptions::default()
        ),
        Err(CoreError::DrillInProgress {
            canister: principal(VAULT),
            drill: id
        })
    );
    assert!(matches!(
        command::remove_target(&h.state, &principal(ADMIN), principal(VAULT)),
        Err(CoreError::DrillInProgress { .. })
    ));
    h.run(id, healthy_target(1, 1));
    assert!(command::remove_target(&h.state, &principal(ADMIN), principal(VAULT)).is_ok());
}

#[test]
fn unknown_targets_and_overlong_holds_are_refused() {
    let h = Harness::with_vault();
    let op = principal(OPERATOR);
    assert_eq!(
        command::start_drill(
            &h.state,
            &op,
            principal(42),
            ScenarioKind::CanisterLoss,
            DrillOptions::default()
        ),
        Err(CoreError::TargetNotFound {
            canister: principal(42)
        })
    );
    let too_long = DrillOptions {
        hold: DurationNs(MAX_HOLD.0 + 1),
    };
    assert!(matches!(
        command::start_drill(
            &h.state,
            &op,
            principal(VAULT),
            ScenarioKind::CanisterLoss,
            too_long
        ),
        Err(CoreError::InvalidArgument { .. })
    ));
    assert!(matches!(
        command::update_target(&h.state, &principal(ADMIN), {
            let mut t = vault_target();
            t.canister_id = principal(43);
            t
        }),
        Err(CoreError::TargetNotFound { .. })
    ));
}

#[test]
fn only_an_admin_names_the_chaos_probe_and_the_event_round_trips() {
    let mut h = Harness::with_vault();
    let admin = principal(ADMIN);
    let probe = principal(77);
    assert!(matches!(
        command::set_chaos_probe(&h.state, &principal(OPERATOR), Some(probe)),
        Err(CoreError::NotAuthorized {
            required: Role::Admin,
            ..
        })
    ));
    for bad in [Principal::anonymous(), Principal::management_canister()] {
        assert!(matches!(
            command::set_chaos_probe(&h.state, &admin, Some(bad)),
            Err(CoreError::InvalidArgument { .. })
        ));
    }
    for value in [Some(probe), None] {
        let events = command::set_chaos_probe(&h.state, &admin, value).unwrap();
        for e in &events {
            assert_eq!(&chaos_manager::Event::decode(&e.encode()).unwrap(), e);
        }
        h.apply(admin, events);
        assert_eq!(h.state.chaos_probe, value);
    }
}

/// A schedule keeps creating experiments on its creator's authority: losing Operator (revoked
/// or demoted to Auditor) cancels the creator's live schedules in the same batch; a promotion
/// does not.
#[test]
fn losing_the_operator_role_cancels_the_principals_schedules() {
    use chaos_manager::experiment::fixtures::{spec, VAULT as FIXTURE_VAULT};
    use chaos_manager::experiment::LabChange;
    use chaos_manager::fault::{FailureMode, FaultSpec};
    use chaos_manager::safety::{SafetyChange, ScheduleId};
    use chaos_manager::{Event, TimestampNs};

    let schedule = |id: u64, by: u8| {
        Event::lab(LabChange::Safety(SafetyChange::ScheduleCreated {
            id: ScheduleId(id),
            spec: Box::new(spec(
                FaultSpec::ServiceFailure {
                    target: principal(FIXTURE_VAULT),
                    mode: FailureMode::Stop,
                },
                FIXTURE_VAULT,
            )),
            first_at: TimestampNs(u64::MAX / 2),
            interval: Some(DurationNs::from_secs(3600)),
            by: principal(by),
        }))
    };
    let cancelled = |events: &[Event]| -> Vec<u64> {
        events
            .iter()
            .filter_map(|e| match e.as_lab() {
                Some(LabChange::Safety(SafetyChange::ScheduleCancelled { id, by })) => {
                    assert_eq!(by, principal(ADMIN), "recorded as the admin's act");
                    Some(id.0)
                }
                _ => None,
            })
            .collect()
    };
    let mut h = Harness::with_vault();
    let admin = principal(ADMIN);
    h.apply(
        admin,
        vec![
            schedule(0, OPERATOR),
            schedule(1, ADMIN),
            schedule(2, OPERATOR),
        ],
    );

    let promote = command::grant_role(&h.state, &admin, principal(OPERATOR), Role::Admin).unwrap();
    assert!(cancelled(&promote).is_empty());

    let demote = command::grant_role(&h.state, &admin, principal(OPERATOR), Role::Auditor).unwrap();
    assert_eq!(cancelled(&demote), vec![0, 2]);

    let revoke = command::revoke_role(&h.state, &admin, principal(OPERATOR)).unwrap();
    assert_eq!(cancelled(&revoke), vec![0, 2]);
    h.apply(admin, revoke);
    let live: Vec<u64> = h
        .state
        .lab
        .safety
        .schedules
        .values()
        .filter(|s| s.next_at.is_some())
        .map(|s| s.id.0)
        .collect();
    assert_eq!(live, vec![1], "the admin's own schedule is untouched");
}
