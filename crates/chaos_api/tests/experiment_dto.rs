//! The experiment DTOs: what an operator writes comes back unchanged through the core's types,
//! runs and limits convert field for field, and the lab's refusals carry typed codes.

use candid::{decode_one, encode_one, Nat, Principal};
use chaos_api::*;
use chaos_manager::experiment::{ExperimentId, LabError};
use chaos_manager::fault::{FaultError, FaultKind as CoreKind};
use chaos_manager::safety::{SafetyLimits as CoreLimits, SafetyRefusal};
use chaos_manager::{experiment as core_exp, target as core_target};

fn p(n: u8) -> Principal {
    Principal::from_slice(&[n; 10])
}

fn methods() -> Vec<String> {
    vec!["balance_of".into()]
}

fn all_faults() -> Vec<FaultSpec> {
    let reject = FailureMode::Reject {
        methods: methods(),
        probability_ppm: 1_000_000,
    };
    vec![
        FaultSpec::NetworkPartition {
            groups: vec![vec![p(1)], vec![p(2), p(3)]],
            methods: vec![],
        },
        FaultSpec::ResourceExhaustion {
            target: p(1),
            mode: ExhaustionMode::Freeze {
                freezing_threshold_secs: 1 << 40,
            },
        },
        FaultSpec::ResourceExhaustion {
            target: p(1),
            mode: ExhaustionMode::SqueezeMemory {
                wasm_memory_limit_bytes: 1 << 20,
            },
        },
        FaultSpec::ResourceExhaustion {
            target: p(1),
            mode: ExhaustionMode::Ballast { bytes: 4096 },
        },
        FaultSpec::ResourceExhaustion {
            target: p(1),
            mode: ExhaustionMode::BurnInstructions {
                methods: methods(),
                instructions: 1_000_000,
            },
        },
        FaultSpec::ServiceFailure {
            target: p(1),
            mode: FailureMode::Stop,
        },
        FaultSpec::ServiceFailure {
            target: p(1),
            mode: reject.clone(),
        },
        FaultSpec::ServiceFailure {
            target: p(1),
            mode: FailureMode::Trap {
                methods: vec![],
                probability_ppm: 10,
            },
        },
        FaultSpec::LatencyInjection {
            target: p(1),
            methods: methods(),
            rounds: 3,
            probability_ppm: 500_000,
        },
        FaultSpec::DataCorruption {
            target: p(1),
            intensity: 5,
        },
        FaultSpec::SecurityBreach {
            target: p(1),
            methods: vec!["chaos_hooks_clear".into()],
        },
        FaultSpec::CascadingFailure {
            dependency: p(1),
            mode: reject,
            dependents: vec![p(2)],
        },
        FaultSpec::ByzantineFault {
            target: p(1),
            methods: methods(),
            probability_ppm: 250_000,
            consumers: vec![],
        },
    ]
}

fn spec(fault: FaultSpec) -> ExperimentSpec {
    ExperimentSpec {
        title: "vault keeps answering".into(),
        fault,
        hypothesis: Hypothesis {
            title: "the vault answers and its invariant holds".into(),
            probes: vec![
                ProbeDef {
                    name: "alive".into(),
                    canister: p(1),
                    method: "chaos_state_probe".into(),
                    tolerance: Tolerance::Answers,
                    phases: Phases {
                        before: true,
                        during: true,
                        after: true,
                    },
                },
                ProbeDef {
                    name: "ops".into(),
                    canister: p(1),
                    method: "chaos_state_probe".into(),
                    tolerance: Tolerance::ValueWithin { min: 0, max: 9 },
                    phases: Phases::default(),
                },
                ProbeDef {
                    name: "fast".into(),
                    canister: p(2),
                    method: "health".into(),
                    tolerance: Tolerance::LatencyAtMost {
                        max_ns: 5_000_000_000,
                    },
                    phases: Phases {
                        before: false,
                        during: true,
                        after: false,
                    },
                },
                ProbeDef {
                    name: "sound".into(),
                    canister: p(1),
                    method: "check_invariants".into(),
                    tolerance: Tolerance::InvariantHolds,
                    phases: Phases {
                        before: true,
                        during: false,
                        after: true,
                    },
                },
            ],
        },
        duration_ns: 60_000_000_000,
        probe_interval_ns: 5_000_000_000,
        rollback: RollbackStrategy::OnDeviation,
    }
}

#[test]
fn every_fault_spec_round_trips_through_the_core_and_the_wire() {
    for fault in all_faults() {
        let dto = spec(fault);
        let core: core_exp::ExperimentSpec = dto.clone().into();
        let back = ExperimentSpec::from(&core);
        assert_eq!(back, dto);
        let bytes = encode_one(&dto).unwrap();
        assert_eq!(decode_one::<ExperimentSpec>(&bytes).unwrap(), dto);
    }
    // All eight kinds are covered.
    let kinds: std::collections::BTreeSet<_> = all_faults()
        .iter()
        .map(|f| core_exp::ExperimentSpec::from(spec(f.clone())).fault.kind())
        .collect();
    assert_eq!(kinds.len(), 8);
}

#[test]
fn the_default_safety_limits_round_trip() {
    let core = CoreLimits::default();
    let dto = SafetyLimits::from(&core);
    assert_eq!(CoreLimits::try_from(dto.clone()).unwrap(), core);
    let bytes = encode_one(&dto).unwrap();
    assert_eq!(decode_one::<SafetyLimits>(&bytes).unwrap(), dto);
}

#[test]
fn nested_approval_rules_and_evaluators_round_trip() {
    let mut dto = SafetyLimits::from(&CoreLimits::default());
    dto.approval.rule = ApprovalRule::AnyOf(vec![
        ApprovalRule::Quorum {
            approvers: ApproverSet::Listed(vec![
                AgentId::Principal(p(7)),
                AgentId::Evaluator(Evaluator::BlastRadiusAtMost(2)),
                AgentId::Evaluator(Evaluator::DurationAtMost(60)),
            ]),
            min_approved: 2,
        },
        ApprovalRule::AllOf(vec![ApprovalRule::QuorumPercentage {
            approvers: ApproverSet::AllAgents,
            percent: 60,
        }]),
    ]);
    dto.approval.quiet_ns = Some(30);
    dto.stop.cycles_floor = None;
    dto.monitoring.warn_cycles = Some(Nat::from(5u64));
    let core = CoreLimits::try_from(dto.clone()).unwrap();
    assert_eq!(SafetyLimits::from(&core), dto);
}

#[test]
fn cycles_beyond_128_bits_are_a_typed_error() {
    let mut dto = SafetyLimits::from(&CoreLimits::default());
    dto.stop.cycles_floor = Some(Nat::from(u128::MAX) + Nat::from(1u8));
    let err = CoreLimits::try_from(dto).unwrap_err();
    assert_eq!(
        err.code,
        ErrorCode::InvalidArgument {
            field: "stop.cycles_floor".into()
        }
    );
}

#[test]
fn a_target_keeps_its_fault_profile() {
    let spec = TargetSpec {
        canister_id: p(1),
        name: "demo_vault".into(),
        criticality: Criticality::High,
        protected: false,
        rto_objective_ns: 1,
        rpo_max_operations_lost: 2,
        rpo_max_age_ns: 3,
        probe_method: "chaos_state_probe".into(),
        allowed_scenarios: vec![Scenario::CanisterLoss],
        fault_profile: Some(FaultProfile {
            allowed_faults: vec![FaultKind::DataCorruption, FaultKind::ByzantineFault],
            dependents: vec![p(2)],
            privileged_methods: vec!["chaos_hooks_clear".into()],
            hooks: true,
            invariant_method: Some("check_invariants".into()),
        }),
    };
    let core: core_target::Target = spec.clone().into();
    assert_eq!(
        core.fault_profile.as_ref().unwrap().allowed_faults,
        vec![CoreKind::DataCorruption, CoreKind::ByzantineFault]
    );
    assert_eq!(TargetSpec::from(&core), spec);
    let none = TargetSpec {
        fault_profile: None,
        ..spec
    };
    let core: core_target::Target = none.clone().into();
    assert_eq!(TargetSpec::from(&core), none);
}

#[test]
fn agents_and_votes_round_trip() {
    let a = Agent {
        principal: p(4),
        kind: AgentKind::Canister,
        name: "monitor".into(),
    };
    let core: chaos_manager::council::Agent = a.clone().into();
    assert_eq!(Agent::from(&core), a);
    for v in [Vote::Approve, Vote::Reject, Vote::Abstain] {
        assert_eq!(Vote::from(chaos_manager::council::Vote::from(v)), v);
    }
}

#[test]
fn lab_refusals_carry_typed_codes() {
    let code = |e: LabError| Error::from(e).code;
    assert_eq!(
        code(LabError::ExperimentNotFound {
            id: ExperimentId(4)
        }),
        ErrorCode::ExperimentNotFound { experiment_id: 4 }
    );
    assert_eq!(
        code(LabError::Fault(FaultError::NotAllowed {
            canister: p(1),
            kind: CoreKind::DataCorruption
        })),
        ErrorCode::FaultNotAllowed {
            canister_id: p(1),
            fault: FaultKind::DataCorruption
        }
    );
    assert_eq!(
        code(LabError::Fault(FaultError::Protected { canister: p(1) })),
        ErrorCode::TargetProtected { canister_id: p(1) }
    );
    assert_eq!(
        code(LabError::Fault(FaultError::InvalidParameter {
            field: "rounds".into(),
            reason: "x".into()
        })),
        ErrorCode::InvalidArgument {
            field: "fault.rounds".into()
        }
    );
    assert_eq!(
        code(LabError::Safety(SafetyRefusal::TooManyConcurrent {
            max: 3
        })),
        ErrorCode::SafetyLimit
    );
    assert_eq!(
        code(LabError::Safety(SafetyRefusal::Halted(
            chaos_manager::safety::Halt {
                since: chaos_manager::TimestampNs(1),
                by: p(1),
                reason: "stop".into()
            }
        ))),
        ErrorCode::LabHalted
    );
    assert_eq!(
        code(LabError::InvalidSpec {
            field: "title".into(),
            reason: "x".into()
        }),
        ErrorCode::InvalidArgument {
            field: "title".into()
        }
    );
    // Through CoreError too.
    let e = Error::from(chaos_manager::CoreError::Lab(LabError::NotHalted));
    assert_eq!(e.code, ErrorCode::Experiment);
    assert!(e.message.contains("nothing to resume"));
}

mod runs {
    use super::*;
    use chaos_manager::experiment::fixtures::{self, LabHarness, SPARES, VAULT};
    use chaos_manager::fault::{FailureMode as CoreMode, FaultSpec as CoreFault};

    fn service_failure() -> core_exp::ExperimentSpec {
        fixtures::spec(
            CoreFault::ServiceFailure {
                target: fixtures::principal(VAULT),
                mode: CoreMode::Stop,
            },
            // A canister the stop does not degrade: the run completes.
            SPARES[0],
        )
    }

    #[test]
    fn a_finished_run_converts_with_its_steps_checks_and_report() {
        let mut h = LabHarness::new();
        let id = h.start(service_failure()).unwrap();
        h.run(id);
        let e = &h.lab.experiments[&id];
        let v = experiment_view(e, None);
        assert_eq!(v.id, id.0);
        assert_eq!(
            v.status,
            ExperimentStatus::Completed,
            "{:?}",
            v.abort_reason
        );
        assert_eq!(v.phase, ExperimentPhase::Verify);
        assert_eq!(v.step_count as usize, e.steps.len());
        assert_eq!(v.steps.len(), e.steps.len().min(MAX_STEPS_SHOWN));
        assert!(v.steps.iter().all(|s| s.succeeded == Some(true)));
        assert!(v.steps.iter().any(|s| s.action == "stop_canister"));
        assert!(v.steps.iter().any(|s| s.action == "start_canister"));
        assert_eq!(v.acted_on, vec![fixtures::principal(VAULT)]);
        assert_eq!(
            v.originals
                .iter()
                .map(|s| s.canister_id)
                .collect::<Vec<_>>(),
            vec![fixtures::principal(VAULT)]
        );
        assert_eq!(v.originals[0].status, RunState::Running);
        assert_eq!(v.checks.len(), e.checks.len());
        let report = v.report.as_ref().expect("finished");
        assert_eq!(report.verdict, ExperimentVerdict::Completed);
        assert!(report.resilience_score.is_some_and(|s| s <= 100));
        assert_eq!(report.restored, Some(true));
        assert!(report.rolled_back);
        assert_eq!(v.spec, ExperimentSpec::from(&service_failure()));
        // The view crosses the wire.
        let bytes = encode_one(&v).unwrap();
        assert_eq!(decode_one::<Experiment>(&bytes).unwrap(), v);

        let row = experiment_summary(e, None);
        assert_eq!(row.fault, FaultKind::ServiceFailure);
        assert_eq!(row.status, ExperimentStatus::Completed);
        assert_eq!(row.resilience_score, report.resilience_score);
        assert!(!row.needs_attention);
    }

    #[test]
    fn a_motion_converts_with_its_rule_and_positions() {
        let mut h = LabHarness::new();
        let mut limits = h.lab.safety.limits.clone();
        limits.approval.always = true;
        h.set_limits(limits);
        let id = h.create(service_failure()).unwrap();
        h.submit(id).unwrap();
        let motion = h
            .lab
            .council
            .motion_for(chaos_manager::council::Subject::Experiment(id))
            .expect("approval asked");
        let m = Motion::from(motion);
        assert_eq!(m.experiment_id, id.0);
        assert_eq!(m.status, MotionStatus::Open);
        assert_eq!(m.fault, FaultKind::ServiceFailure);
        assert!(!m.reasons.is_empty());
        assert!(matches!(m.rule, ApprovalRule::Quorum { .. }));
        let view = experiment_view(&h.lab.experiments[&id], Some(motion.id));
        assert_eq!(view.status, ExperimentStatus::PendingApproval);
        assert_eq!(view.motion_id, Some(motion.id.0));
        let bytes = encode_one(&m).unwrap();
        assert_eq!(decode_one::<Motion>(&bytes).unwrap(), m);
    }
}
