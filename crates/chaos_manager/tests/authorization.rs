//! Authorization of every command of the lab (experiments, schedules, the safety limits and
//! the emergency stop, the council), table-driven: the anonymous principal, a principal with no
//! role and a principal one role too low are each refused with the typed error, never a panic,
//! and the role the command needs is accepted (so the table is no vacuous "everything fails").
//!
//! A shell resolves the caller as `chaos_system` and `fleet_sim` do: the anonymous principal is
//! refused by the one rule, `auth::authorize` (`CoreError::AnonymousCaller`), before any
//! command; every other caller is handed to the lab's command with the role the state gives it
//! (`None` for a stranger), and the command itself checks the role it needs
//! (`LabError::NotAuthorized`). Both layers are checked here, and the commands are also called
//! with the anonymous principal directly (a shell that forgot the first check still gets a
//! refusal). Council positions are not a role's business: only registered agents take them.
//! `tick`, `issue_next_step` and `complete_step` take no caller: the canister's timers call
//! them, never a user.

mod common;

use chaos_manager::auth::authorize;
use chaos_manager::command;
use chaos_manager::council::{Agent, AgentKind, CouncilError, MotionId, Subject, Vote};
use chaos_manager::experiment::commands::{self, Caller};
use chaos_manager::experiment::fixtures::*;
use chaos_manager::experiment::{ExperimentId, ExperimentSpec, LabChange, LabError, Status};
use chaos_manager::fault::{FailureMode, FaultSpec};
use chaos_manager::safety::ScheduleId;
use chaos_manager::state::EventMeta;
use chaos_manager::{CoreError, DurationNs, Role};
use ic_principal::Principal;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A lab with something for every command to act on: a draft, a running experiment, a
/// pending one with its council motion, a live schedule; and the same lab under an
/// emergency stop (for `resume`).
struct World {
    h: LabHarness,
    draft: ExperimentId,
    running: ExperimentId,
    motion: MotionId,
    schedule: ScheduleId,
    halted: chaos_manager::experiment::Lab,
}

fn world() -> World {
    let mut h = LabHarness::new();
    // Stopping the critical ledger is destructive: the default policy asks the council.
    let stop_ledger = FaultSpec::ServiceFailure {
        target: principal(LEDGER),
        mode: FailureMode::Stop,
    };
    let pending = h.start(spec(stop_ledger, ORACLE)).unwrap();
    assert_eq!(
        h.lab.experiments[&pending].status(),
        Status::PendingApproval
    );
    let motion = h
        .lab
        .council
        .motion_for(Subject::Experiment(pending))
        .unwrap()
        .id;
    let running = h.start(spec(latency(SPARES[0]), SPARES[0])).unwrap();
    assert_eq!(h.lab.experiments[&running].status(), Status::Running);
    let draft = h.create(spec(latency(SPARES[1]), SPARES[1])).unwrap();
    let schedule = ScheduleId(h.lab.safety.next_schedule);
    let ch = commands::schedule_experiment(
        &h.lab,
        &h.fleet,
        &LabHarness::operator(),
        spec(latency(SPARES[2]), SPARES[2]),
        h.now.plus(DurationNs::from_secs(600)),
        Some(DurationNs::from_secs(3_600)),
        h.now,
    )
    .unwrap();
    h.record(principal(OPERATOR), ch);
    let mut halted = h.lab.clone();
    let stop = commands::emergency_stop(&h.lab, &LabHarness::operator(), "drill".into()).unwrap();
    for (i, c) in stop.iter().enumerate() {
        let meta = EventMeta {
            seq: h.seq + i as u64,
            time: h.now,
            caller: principal(OPERATOR),
        };
        halted.apply(&meta, c);
    }
    assert!(halted.safety.halt.is_some());
    World {
        h,
        draft,
        running,
        motion,
        schedule,
        halted,
    }
}

fn new_spec() -> ExperimentSpec {
    spec(latency(VAULT), CONSUMER)
}

type Command = fn(&World, &Caller) -> Result<Vec<LabChange>, LabError>;

/// Every lab command that takes a caller, with the role it needs.
fn commands_table() -> Vec<(&'static str, Role, Command)> {
    vec![
        ("set_safety_limits", Role::Admin, |w, c| {
            commands::set_limits(&w.h.lab, c, limits())
        }),
        ("register_agent", Role::Admin, |w, c| {
            let agent = Agent {
                principal: principal(SPARES[0] + 30),
                kind: AgentKind::Person,
                name: "new agent".into(),
            };
            commands::register_agent(&w.h.lab, c, agent)
        }),
        ("remove_agent", Role::Admin, |w, c| {
            commands::remove_agent(&w.h.lab, c, principal(APPROVERS[0]))
        }),
        ("resume_experiments", Role::Admin, |w, c| {
            commands::resume(&w.halted, c)
        }),
        ("create_experiment", Role::Operator, |w, c| {
            commands::create_experiment(&w.h.lab, &w.h.fleet, c, new_spec(), 7)
        }),
        ("submit_experiment", Role::Operator, |w, c| {
            commands::submit_experiment(&w.h.lab, &w.h.fleet, c, w.draft, w.h.now)
        }),
        ("abort_experiment", Role::Operator, |w, c| {
            commands::abort_experiment(&w.h.lab, c, w.running, "stop it".into())
        }),
        ("emergency_stop", Role::Operator, |w, c| {
            commands::emergency_stop(&w.h.lab, c, "stop everything".into())
        }),
        ("schedule_experiment", Role::Operator, |w, c| {
            commands::schedule_experiment(
                &w.h.lab,
                &w.h.fleet,
                c,
                new_spec(),
                w.h.now.plus(DurationNs::from_secs(60)),
                None,
                w.h.now,
            )
        }),
        ("cancel_schedule", Role::Operator, |w, c| {
            commands::cancel_schedule(&w.h.lab, c, w.schedule)
        }),
    ]
}

/// The suite's roles (common harness): an admin, an operator, an auditor.
struct Roles {
    state: chaos_manager::State,
}

impl Roles {
    fn new() -> Self {
        Roles {
            state: common::Harness::with_vault().state,
        }
    }

    /// The caller as a shell hands it to the lab: the role the state gives the principal.
    fn caller(&self, p: Principal) -> Caller {
        Caller {
            principal: p,
            role: self.state.role_of(&p),
        }
    }

    fn holding(&self, role: Role) -> Principal {
        match role {
            Role::Admin => common::principal(common::ADMIN),
            Role::Operator => common::principal(common::OPERATOR),
            Role::Auditor => common::principal(common::AUDITOR),
        }
    }
}

fn unknown() -> Principal {
    Principal::self_authenticating(b"authorization test: a principal with no role")
}

/// The role just below `role` (`None` below the auditor).
fn one_below(role: Role) -> Option<Role> {
    match role {
        Role::Admin => Some(Role::Operator),
        Role::Operator => Some(Role::Auditor),
        Role::Auditor => None,
    }
}

/// Runs `f`, turning a panic into a test failure that names the command and the caller.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{what} panicked"))
}

#[test]
fn every_lab_command_refuses_anonymous_unknown_and_too_low_callers_with_a_typed_error() {
    let w = world();
    let roles = Roles::new();
    let table = commands_table();
    assert_eq!(table.len(), 10, "one row per lab command taking a caller");
    for (name, required, run) in &table {
        // The shell's rule: anonymous first, then the role.
        assert_eq!(
            authorize(&roles.state, &Principal::anonymous(), *required),
            Err(CoreError::AnonymousCaller),
            "{name}"
        );
        assert_eq!(
            authorize(&roles.state, &unknown(), *required),
            Err(CoreError::NotAuthorized {
                caller: unknown(),
                required: *required,
                held: None
            }),
            "{name}"
        );
        // The command's own check, for each caller who lacks the role.
        let mut refused = vec![
            ("the anonymous principal", Principal::anonymous()),
            ("an unknown principal", unknown()),
        ];
        let lower = one_below(*required).expect("every lab command needs a role");
        refused.push(("one role too low", roles.holding(lower)));
        for (who, p) in refused {
            let caller = roles.caller(p);
            let answer = no_panic(&format!("{name} by {who}"), || run(&w, &caller));
            assert_eq!(
                answer,
                Err(LabError::NotAuthorized {
                    caller: p,
                    required: *required
                }),
                "{name} by {who}"
            );
            assert!(
                answer.unwrap_err().to_string().contains(required.name()),
                "{name}: the refusal names the role to ask for"
            );
        }
        assert_eq!(
            authorize(&roles.state, &roles.holding(lower), *required),
            Err(CoreError::NotAuthorized {
                caller: roles.holding(lower),
                required: *required,
                held: Some(lower)
            }),
            "{name}"
        );
        // The role it needs (and any above) passes, and the command does its work.
        let mut enough = Some(*required);
        while let Some(role) = enough {
            let p = roles.holding(role);
            assert_eq!(
                authorize(&roles.state, &p, *required),
                Ok(role),
                "{name} by {role:?}"
            );
            let answer = no_panic(&format!("{name} by {role:?}"), || run(&w, &roles.caller(p)));
            assert!(
                answer.as_ref().is_ok_and(|ch| !ch.is_empty()),
                "{name} by {role:?}: {answer:?}"
            );
            enough = match role {
                Role::Auditor => Some(Role::Operator),
                Role::Operator => Some(Role::Admin),
                Role::Admin => None,
            };
        }
    }
}

#[test]
fn only_council_agents_take_positions_whatever_their_role() {
    let w = world();
    let roles = Roles::new();
    let cast = |p: Principal| {
        no_panic(&format!("cast_position by {p}"), || {
            commands::cast_position(
                &w.h.lab,
                &w.h.fleet,
                p,
                w.motion,
                Vote::Approve,
                "ok".into(),
                w.h.now,
            )
        })
    };
    for p in [
        Principal::anonymous(),
        unknown(),
        roles.holding(Role::Auditor),
        roles.holding(Role::Operator),
        roles.holding(Role::Admin),
    ] {
        assert_eq!(
            cast(p),
            Err(LabError::Council(CouncilError::NotAnAgent { caller: p })),
            "{p}"
        );
    }
    assert!(cast(principal(APPROVERS[0])).is_ok_and(|ch| !ch.is_empty()));
}

#[test]
fn set_chaos_probe_is_for_admins_and_the_anonymous_principal_never_holds_a_role() {
    let roles = Roles::new();
    let probe = Some(principal(SPARES[2] + 40));
    let refused = [
        (Principal::anonymous(), Err(CoreError::AnonymousCaller)),
        (
            unknown(),
            Err(CoreError::NotAuthorized {
                caller: unknown(),
                required: Role::Admin,
                held: None,
            }),
        ),
        (
            roles.holding(Role::Operator),
            Err(CoreError::NotAuthorized {
                caller: roles.holding(Role::Operator),
                required: Role::Admin,
                held: Some(Role::Operator),
            }),
        ),
    ];
    for (p, expected) in refused {
        let answer = no_panic("set_chaos_probe", || {
            command::set_chaos_probe(&roles.state, &p, probe)
        });
        assert_eq!(answer, expected, "{p}");
    }
    assert!(command::set_chaos_probe(&roles.state, &roles.holding(Role::Admin), probe).is_ok());
    // Anonymous is refused before any command because it can never be given a role.
    let admin = roles.holding(Role::Admin);
    assert!(matches!(
        command::grant_role(&roles.state, &admin, Principal::anonymous(), Role::Operator),
        Err(CoreError::InvalidArgument { .. })
    ));
}
