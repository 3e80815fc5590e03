//! The Areopagus council: Orbit-style quorum math, evaluators, deadlines with absent agents
//! abstaining, wait-for-quiet, and the motions that gate experiments.

use chaos_manager::council::*;
use chaos_manager::experiment::fixtures::*;
use chaos_manager::experiment::{commands, ExperimentId, LabError, Stage, Status, Timer};
use chaos_manager::fault::{FailureMode, FaultSpec, Ppm};
use chaos_manager::safety::SafetyLimits;
use chaos_manager::DurationNs;
use ic_principal::Principal;
use std::collections::BTreeMap;

fn agent(n: u8) -> AgentId {
    AgentId::Principal(principal(n))
}

fn votes(v: &[(u8, Vote)]) -> BTreeMap<AgentId, Vote> {
    v.iter().map(|(n, vote)| (agent(*n), *vote)).collect()
}

fn quorum(ns: &[u8], min: u32) -> Rule {
    Rule::Quorum {
        approvers: ApproverSet::Listed(ns.iter().map(|n| agent(*n)).collect()),
        min_approved: min,
    }
}

fn pct(ns: &[u8], percent: u8) -> Rule {
    Rule::QuorumPercentage {
        approvers: ApproverSet::Listed(ns.iter().map(|n| agent(*n)).collect()),
        percent,
    }
}

const P: u8 = 99; // the proposer
use Vote::*;

fn eval(rule: &Rule, v: &[(u8, Vote)], closed: bool) -> Tally {
    rule.evaluate(&votes(v), &agent(P), closed)
}

fn rejected(t: Tally) -> String {
    match t {
        Tally::Rejected(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn the_minimum_is_capped_by_the_possible_approvers() {
    let r = quorum(&[1, 2, 3], 5);
    assert_eq!(
        eval(&r, &[(1, Approve), (2, Approve)], false),
        Tally::Pending
    );
    assert_eq!(
        eval(&r, &[(1, Approve), (2, Approve), (3, Approve)], false),
        Tally::Approved
    );
}

#[test]
fn a_quorum_that_became_impossible_is_rejected_at_once_with_the_reason() {
    let r = quorum(&[1, 2, 3], 2);
    assert_eq!(eval(&r, &[(1, Reject)], false), Tally::Pending);
    let reason = rejected(eval(&r, &[(1, Reject), (2, Abstain)], false));
    assert_eq!(
        reason,
        "quorum impossible: 0 of 2 needed approvals, 1 rejected, 1 abstained"
    );
}

#[test]
fn the_proposer_never_counts() {
    assert_eq!(
        eval(&quorum(&[P, 1], 2), &[(1, Approve)], false),
        Tally::Approved,
        "min(2, 1 possible) = 1"
    );
    let reason = rejected(eval(&quorum(&[P], 1), &[(P, Approve)], false));
    assert!(reason.contains("no possible approver"), "{reason}");
}

#[test]
fn percentages_round_up_and_need_at_least_one() {
    assert_eq!(
        eval(&pct(&[1, 2, 3], 50), &[(1, Approve)], false),
        Tally::Pending,
        "ceil(1.5) = 2"
    );
    assert_eq!(
        eval(&pct(&[1, 2, 3], 50), &[(1, Approve), (3, Approve)], false),
        Tally::Approved
    );
    assert_eq!(
        eval(&pct(&[1, 2, 3, 4], 1), &[(4, Approve)], false),
        Tally::Approved
    );
    assert_eq!(
        eval(
            &pct(&[1, 2, 3, 4], 100),
            &[(1, Approve), (2, Approve), (3, Approve)],
            false
        ),
        Tally::Pending
    );
}

#[test]
fn auto_any_of_and_all_of_compose() {
    assert_eq!(eval(&Rule::AutoApproved, &[], false), Tally::Approved);
    let any = Rule::AnyOf(vec![quorum(&[1], 1), quorum(&[2], 1)]);
    assert_eq!(eval(&any, &[(2, Approve)], false), Tally::Approved);
    assert_eq!(eval(&any, &[(1, Reject)], false), Tally::Pending);
    assert!(rejected(eval(&any, &[(1, Reject), (2, Reject)], false))
        .starts_with("every alternative rejected"));
    let all = Rule::AllOf(vec![quorum(&[1], 1), quorum(&[2], 1)]);
    assert_eq!(eval(&all, &[(1, Approve)], false), Tally::Pending);
    assert_eq!(
        eval(&all, &[(1, Approve), (2, Approve)], false),
        Tally::Approved
    );
    rejected(eval(&all, &[(1, Approve), (2, Reject)], false));
}

#[test]
fn at_the_deadline_absent_agents_count_as_abstaining() {
    let r = quorum(&[1, 2, 3], 2);
    assert_eq!(eval(&r, &[(1, Approve)], false), Tally::Pending);
    let reason = rejected(eval(&r, &[(1, Approve)], true));
    assert!(
        reason.contains("2 absent at the deadline (counted as abstaining)"),
        "{reason}"
    );
    assert_eq!(
        eval(&r, &[(1, Approve), (2, Approve)], true),
        Tally::Approved
    );
    // Every rule decides once closed.
    let nested = Rule::AnyOf(vec![quorum(&[1], 1), Rule::AllOf(vec![pct(&[2, 3], 50)])]);
    assert_ne!(eval(&nested, &[], true), Tally::Pending);
}

#[test]
fn rules_are_validated() {
    assert!(quorum(&[1], 0)
        .validate()
        .unwrap_err()
        .contains("auto_approved"));
    assert!(quorum(&[], 1).validate().is_err());
    assert!(pct(&[1], 0).validate().is_err());
    assert!(pct(&[1], 101).validate().is_err());
    assert!(Rule::AllOf(vec![]).validate().is_err());
    let deep = (0..5).fold(Rule::AutoApproved, |r, _| Rule::AnyOf(vec![r]));
    assert!(deep.validate().unwrap_err().contains("nest"));
    Rule::Quorum {
        approvers: ApproverSet::AllAgents,
        min_approved: 1,
    }
    .validate()
    .unwrap();
}

// ---- motions gating experiments ----

fn stop_ledger() -> FaultSpec {
    FaultSpec::ServiceFailure {
        target: principal(LEDGER),
        mode: FailureMode::Stop,
    }
}

fn with_rule(rule: Rule) -> LabHarness {
    let mut h = LabHarness::new();
    let mut l = SafetyLimits {
        max_target_share_pct: 50,
        ..Default::default()
    };
    l.approval.rule = rule;
    h.set_limits(l);
    h
}

fn pending(h: &mut LabHarness) -> (ExperimentId, MotionId) {
    let id = h.start(spec(stop_ledger(), ORACLE)).unwrap();
    let m = h
        .lab
        .council
        .motion_for(Subject::Experiment(id))
        .unwrap()
        .id;
    (id, m)
}

fn cast(h: &mut LabHarness, who: u8, motion: MotionId, vote: Vote) -> Result<(), LabError> {
    let ch = commands::cast_position(
        &h.lab,
        &h.fleet,
        principal(who),
        motion,
        vote,
        format!("{vote:?}"),
        h.now,
    )?;
    h.record(principal(who), ch);
    Ok(())
}

#[test]
fn an_approval_starts_the_experiment() {
    let mut h = LabHarness::new();
    let (id, m) = pending(&mut h);
    assert!(h.lab.timers().contains(&Timer::MotionDeadline(
        m,
        h.lab.council.motions[&m].deadline
    )));
    cast(&mut h, APPROVERS[0], m, Approve).unwrap();
    assert!(matches!(
        h.lab.council.motions[&m].status,
        MotionStatus::Approved { .. }
    ));
    assert_eq!(h.lab.experiments[&id].status(), Status::Running);
    h.run(id);
    assert_eq!(h.lab.experiments[&id].status(), Status::Completed);
}

#[test]
fn a_rejection_ends_the_experiment_with_the_council_s_reason() {
    let mut h = with_rule(Rule::Quorum {
        approvers: ApproverSet::AllAgents,
        min_approved: 2,
    });
    let (id, m) = pending(&mut h);
    cast(&mut h, APPROVERS[0], m, Reject).unwrap();
    assert_eq!(h.lab.experiments[&id].status(), Status::Aborted);
    match &h.lab.experiments[&id].stage {
        Stage::Cancelled { reason, .. } => assert!(
            reason.contains("the council rejected it: quorum impossible"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(h.lab.experiments[&id].steps.is_empty(), "nothing ran");
}

#[test]
fn agents_that_time_out_count_as_abstaining_and_the_motion_is_rejected() {
    let mut h = with_rule(Rule::Quorum {
        approvers: ApproverSet::AllAgents,
        min_approved: 2,
    });
    let (id, m) = pending(&mut h);
    cast(&mut h, APPROVERS[0], m, Approve).unwrap();
    assert_eq!(h.lab.experiments[&id].status(), Status::PendingApproval);
    h.now = h.lab.council.motions[&m].deadline;
    assert!(matches!(
        cast(&mut h, APPROVERS[1], m, Approve),
        Err(LabError::Council(CouncilError::DeadlinePassed { .. }))
    ));
    let ch = commands::tick(&h.lab, &h.fleet, h.now, 0);
    h.record(principal(OPERATOR), ch);
    match &h.lab.council.motions[&m].status {
        MotionStatus::Rejected { reason, .. } => {
            assert!(
                reason.starts_with("deadline passed: quorum impossible: 1 of 2"),
                "{reason}"
            );
            assert!(reason.contains("1 absent"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.lab.experiments[&id].status(), Status::Aborted);
}

#[test]
fn without_any_agent_the_motion_is_rejected_at_once() {
    let mut h = LabHarness::new();
    for n in APPROVERS {
        let ch = commands::remove_agent(&h.lab, &LabHarness::admin(), principal(n)).unwrap();
        h.record(principal(ADMIN), ch);
    }
    let id = h.start(spec(stop_ledger(), ORACLE)).unwrap();
    assert_eq!(h.lab.experiments[&id].status(), Status::Aborted);
    let m = h.lab.council.motion_for(Subject::Experiment(id)).unwrap();
    assert!(
        matches!(&m.status, MotionStatus::Rejected { reason, .. } if reason.contains("no possible approver"))
    );
}

#[test]
fn evaluators_take_their_positions_when_the_motion_opens() {
    let blast = AgentId::Evaluator(Evaluator::BlastRadiusAtMost(0));
    let critical = AgentId::Evaluator(Evaluator::NoCriticalTarget);
    let rule = Rule::AllOf(vec![
        Rule::Quorum {
            approvers: ApproverSet::Listed(vec![critical.clone()]),
            min_approved: 1,
        },
        Rule::Quorum {
            approvers: ApproverSet::AllAgents,
            min_approved: 1,
        },
    ]);
    let mut h = with_rule(rule);
    let (id, m) = pending(&mut h);
    let motion = &h.lab.council.motions[&m];
    assert_eq!(motion.positions[&critical].vote, Reject);
    assert_eq!(
        motion.positions[&critical].reason,
        "touches 1 critical target(s)"
    );
    assert!(
        matches!(motion.status, MotionStatus::Rejected { .. }),
        "decided at once"
    );
    assert_eq!(h.lab.experiments[&id].status(), Status::Aborted);

    let mut h = with_rule(Rule::AnyOf(vec![
        Rule::Quorum {
            approvers: ApproverSet::Listed(vec![
                blast,
                AgentId::Evaluator(Evaluator::DurationAtMost(DurationNs::from_secs(120))),
            ]),
            min_approved: 2,
        },
        Rule::Quorum {
            approvers: ApproverSet::AllAgents,
            min_approved: 2,
        },
    ]));
    let (id, m) = pending(&mut h);
    // The blast-radius evaluator rejects (1 target > 0): the people must approve.
    assert_eq!(h.lab.experiments[&id].status(), Status::PendingApproval);
    cast(&mut h, APPROVERS[0], m, Approve).unwrap();
    cast(&mut h, APPROVERS[1], m, Approve).unwrap();
    assert_eq!(h.lab.experiments[&id].status(), Status::Running);
}

#[test]
fn positions_are_refused_from_strangers_non_approvers_and_the_proposer() {
    let mut h = with_rule(Rule::Quorum {
        approvers: ApproverSet::Listed(vec![agent(APPROVERS[0]), agent(OPERATOR)]),
        min_approved: 1,
    });
    // The operator proposes; make it an agent too.
    let ch = commands::register_agent(
        &h.lab,
        &LabHarness::admin(),
        Agent {
            principal: principal(OPERATOR),
            kind: AgentKind::Person,
            name: "op".into(),
        },
    )
    .unwrap();
    h.record(principal(ADMIN), ch);
    let (_, m) = pending(&mut h);
    assert!(matches!(
        cast(&mut h, 77, m, Approve),
        Err(LabError::Council(CouncilError::NotAnAgent { .. }))
    ));
    assert!(matches!(
        cast(&mut h, APPROVERS[1], m, Approve),
        Err(LabError::Council(CouncilError::NotAnApprover { .. }))
    ));
    assert!(matches!(
        cast(&mut h, OPERATOR, m, Approve),
        Err(LabError::Council(CouncilError::ProposerVotes { .. }))
    ));
    let long = "x".repeat(MAX_REASON_BYTES + 1);
    let e = commands::cast_position(
        &h.lab,
        &h.fleet,
        principal(APPROVERS[0]),
        m,
        Approve,
        long,
        h.now,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        LabError::Council(CouncilError::ReasonTooLong { .. })
    ));
    assert!(matches!(
        cast(&mut h, APPROVERS[0], MotionId(9), Approve),
        Err(LabError::Council(CouncilError::MotionNotFound { .. }))
    ));
    cast(&mut h, APPROVERS[0], m, Approve).unwrap();
    assert!(matches!(
        cast(&mut h, APPROVERS[0], m, Reject),
        Err(LabError::Council(CouncilError::MotionClosed { .. }))
    ));
}

#[test]
fn a_canister_agent_votes_like_a_person_and_a_position_can_be_changed() {
    let mut h = with_rule(Rule::Quorum {
        approvers: ApproverSet::AllAgents,
        min_approved: 2,
    });
    let monitor = 30;
    let ch = commands::register_agent(
        &h.lab,
        &LabHarness::admin(),
        Agent {
            principal: principal(monitor),
            kind: AgentKind::Canister,
            name: "slo-monitor".into(),
        },
    )
    .unwrap();
    h.record(principal(ADMIN), ch);
    let (id, m) = pending(&mut h);
    cast(&mut h, monitor, m, Abstain).unwrap();
    cast(&mut h, monitor, m, Approve).unwrap();
    assert_eq!(
        h.lab.council.motions[&m].positions[&agent(monitor)].vote,
        Approve
    );
    cast(&mut h, APPROVERS[1], m, Approve).unwrap();
    assert_eq!(h.lab.experiments[&id].status(), Status::Running);
}

#[test]
fn an_approval_that_comes_after_the_world_changed_is_refused_at_start() {
    let mut h = LabHarness::new();
    let (id, m) = pending(&mut h);
    // Meanwhile a non-destructive experiment took the ledger (pending ones hold nothing).
    let latency = FaultSpec::LatencyInjection {
        target: principal(LEDGER),
        methods: vec![],
        rounds: 2,
        probability: Ppm::ALWAYS,
    };
    h.start(spec(latency, ORACLE)).unwrap();
    cast(&mut h, APPROVERS[0], m, Approve).unwrap();
    match &h.lab.experiments[&id].stage {
        Stage::Cancelled { reason, .. } => assert!(
            reason.starts_with("refused at start:") && reason.contains("busy"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn wait_for_quiet_extends_a_deadline_when_a_late_position_flips_the_leaning() {
    let mut h = LabHarness::new();
    let mut l = SafetyLimits {
        max_target_share_pct: 50,
        ..Default::default()
    };
    l.approval.rule = Rule::Quorum {
        approvers: ApproverSet::AllAgents,
        min_approved: 2,
    };
    l.approval.deadline = DurationNs::from_secs(3600);
    l.approval.quiet = Some(DurationNs::from_secs(600));
    h.set_limits(l);
    let (_, m) = pending(&mut h);
    let deadline = h.lab.council.motions[&m].deadline;
    h.advance(DurationNs::from_secs(3000));
    cast(&mut h, APPROVERS[0], m, Approve).unwrap(); // leaning 0 -> +1, 600 s before the deadline
    assert_eq!(
        h.lab.council.motions[&m].deadline,
        h.now.plus(DurationNs::from_secs(600)).max(deadline)
    );
    h.advance(DurationNs::from_secs(590));
    cast(&mut h, APPROVERS[0], m, Abstain).unwrap(); // flips back to 0
    let extended = h.lab.council.motions[&m].deadline;
    assert_eq!(extended, h.now.plus(DurationNs::from_secs(600)));
    assert!(extended > deadline);
    // Never beyond twice the voting time.
    for _ in 0..20 {
        h.advance(DurationNs::from_secs(590));
        let vote = if h.lab.council.motions[&m].positions[&agent(APPROVERS[0])].vote == Approve {
            Abstain
        } else {
            Approve
        };
        if cast(&mut h, APPROVERS[0], m, vote).is_err() {
            break;
        }
    }
    let cap = h.lab.council.motions[&m]
        .opened_at
        .plus(DurationNs::from_secs(7200));
    assert!(h.lab.council.motions[&m].deadline <= cap);
}

#[test]
fn agents_are_managed_by_admins() {
    let h = LabHarness::new();
    let a = Agent {
        principal: Principal::anonymous(),
        kind: AgentKind::Person,
        name: "anon".into(),
    };
    assert!(matches!(
        commands::register_agent(&h.lab, &LabHarness::admin(), a),
        Err(LabError::Council(CouncilError::InvalidAgent { .. }))
    ));
    let b = Agent {
        principal: principal(40),
        kind: AgentKind::Person,
        name: "b".into(),
    };
    assert!(matches!(
        commands::register_agent(&h.lab, &LabHarness::operator(), b),
        Err(LabError::NotAuthorized { .. })
    ));
    assert!(commands::remove_agent(&h.lab, &LabHarness::admin(), principal(41)).is_err());
}

#[test]
fn council_changes_round_trip_through_cbor() {
    let mut h = LabHarness::new();
    let (_, m) = pending(&mut h);
    cast(&mut h, APPROVERS[0], m, Approve).unwrap();
    for (_, c) in &h.journal {
        let bytes = minicbor::to_vec(c).unwrap();
        let back: chaos_manager::experiment::LabChange = minicbor::decode(&bytes).unwrap();
        assert_eq!(&back, c);
    }
    assert_eq!(h.replay(), h.lab);
}
