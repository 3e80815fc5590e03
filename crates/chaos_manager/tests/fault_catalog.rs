//! The fault catalog's validation, blast radius and owed rollback, without running anything:
//! given the fixture registry, when a fault is specified so, then it is refused with a message
//! that says what to fix, or accepted with this blast radius.

use chaos_manager::experiment::fixtures::*;
use chaos_manager::fault::*;
use ic_principal::Principal;
use std::collections::{BTreeMap, BTreeSet};

fn set(ns: &[u8]) -> BTreeSet<Principal> {
    ns.iter().map(|n| principal(*n)).collect()
}

fn invalid_field(r: Result<BlastRadius, FaultError>) -> String {
    match r {
        Err(FaultError::InvalidParameter { field, .. }) => field,
        other => panic!("expected an invalid parameter, got {other:?}"),
    }
}

fn one_of_each() -> Vec<FaultSpec> {
    let v = principal(VAULT);
    vec![
        FaultSpec::NetworkPartition {
            groups: vec![
                PartitionGroup { members: vec![v] },
                PartitionGroup {
                    members: vec![principal(ORACLE)],
                },
            ],
            methods: vec![],
        },
        FaultSpec::ResourceExhaustion {
            target: v,
            mode: ExhaustionMode::Freeze {
                freezing_threshold_secs: 100_000_000,
            },
        },
        FaultSpec::ServiceFailure {
            target: v,
            mode: FailureMode::Stop,
        },
        FaultSpec::LatencyInjection {
            target: v,
            methods: vec!["deposit".into()],
            rounds: 5,
            probability: Ppm(250_000),
        },
        FaultSpec::DataCorruption {
            target: v,
            intensity: 10,
        },
        FaultSpec::SecurityBreach {
            target: v,
            methods: vec![],
        },
        FaultSpec::CascadingFailure {
            dependency: v,
            mode: FailureMode::Stop,
            dependents: vec![],
        },
        FaultSpec::ByzantineFault {
            target: principal(ORACLE),
            methods: vec!["price".into()],
            probability: Ppm::ALWAYS,
            consumers: vec![],
        },
    ]
}

#[test]
fn all_eight_fault_types_validate_and_round_trip_through_cbor() {
    let fleet = fleet();
    let specs = one_of_each();
    let kinds: Vec<FaultKind> = specs.iter().map(FaultSpec::kind).collect();
    assert_eq!(kinds, FaultKind::ALL.to_vec());
    for spec in specs {
        spec.validate(&fleet)
            .unwrap_or_else(|e| panic!("{}: {e}", spec.kind()));
        let bytes = minicbor::to_vec(&spec).unwrap();
        let back: FaultSpec = minicbor::decode(&bytes).unwrap();
        assert_eq!(back, spec);
    }
}

#[test]
fn only_hook_faults_that_expire_may_skip_their_rollback_and_destructive_ones_are_marked() {
    let table: Vec<(FaultKind, bool, bool)> = one_of_each()
        .iter()
        .map(|s| (s.kind(), s.is_destructive(), s.undoes_itself()))
        .collect();
    use FaultKind::*;
    assert_eq!(
        table,
        vec![
            (NetworkPartition, false, true),
            (ResourceExhaustion, true, false),
            (ServiceFailure, true, false),
            (LatencyInjection, false, true),
            (DataCorruption, true, false),
            (SecurityBreach, true, true),
            (CascadingFailure, true, false),
            (ByzantineFault, true, true),
        ]
    );
    let reject = FaultSpec::ServiceFailure {
        target: principal(VAULT),
        mode: FailureMode::Reject {
            methods: vec![],
            probability: Ppm::ALWAYS,
        },
    };
    assert!(!reject.is_destructive() && reject.undoes_itself());
}

#[test]
fn unknown_protected_disallowed_and_unhooked_targets_are_refused_with_the_fix() {
    let fleet = fleet();
    let stop = |n: u8| FaultSpec::ServiceFailure {
        target: principal(n),
        mode: FailureMode::Stop,
    };
    let latency = |n: u8| FaultSpec::LatencyInjection {
        target: principal(n),
        methods: vec![],
        rounds: 2,
        probability: Ppm::ALWAYS,
    };

    let e = stop(99).validate(&fleet).unwrap_err();
    assert_eq!(
        e,
        FaultError::UnknownTarget {
            canister: principal(99)
        }
    );
    assert!(e.to_string().contains("register it first"));

    let e = stop(PROTECTED).validate(&fleet).unwrap_err();
    assert_eq!(
        e,
        FaultError::Protected {
            canister: principal(PROTECTED)
        }
    );

    let e = stop(LATENCY_ONLY).validate(&fleet).unwrap_err();
    assert_eq!(
        e,
        FaultError::NotAllowed {
            canister: principal(LATENCY_ONLY),
            kind: FaultKind::ServiceFailure
        }
    );
    assert!(e.to_string().contains("allowed faults"));
    latency(LATENCY_ONLY)
        .validate(&fleet)
        .expect("latency is allowed there");

    let e = latency(NO_HOOKS).validate(&fleet).unwrap_err();
    assert!(matches!(e, FaultError::NoHooks { .. }));
    assert!(e.to_string().contains("embed crates/chaos_hooks"));
    // Stopping needs no hooks: IC primitives only.
    stop(NO_HOOKS)
        .validate(&fleet)
        .expect("stop needs no hooks");
}

#[test]
fn a_fault_whose_dependent_is_protected_is_refused() {
    let mut fleet = fleet();
    fleet
        .targets
        .get_mut(&principal(VAULT))
        .unwrap()
        .profile
        .dependents = vec![principal(PROTECTED)];
    let e = FaultSpec::ServiceFailure {
        target: principal(VAULT),
        mode: FailureMode::Stop,
    }
    .validate(&fleet)
    .unwrap_err();
    assert_eq!(
        e,
        FaultError::ProtectedDependent {
            canister: principal(VAULT),
            dependent: principal(PROTECTED)
        }
    );
}

#[test]
fn blast_radius_is_the_target_and_its_declared_dependents() {
    let r = FaultSpec::ServiceFailure {
        target: principal(VAULT),
        mode: FailureMode::Stop,
    }
    .validate(&fleet())
    .unwrap();
    assert_eq!(r.acted_on, set(&[VAULT]));
    assert_eq!(r.affected, set(&[CONSUMER]));
    assert_eq!(r.touched(), set(&[VAULT, CONSUMER]));
    // Probing privileged methods degrades nobody.
    let r = FaultSpec::SecurityBreach {
        target: principal(VAULT),
        methods: vec![],
    }
    .validate(&fleet())
    .unwrap();
    assert_eq!(r.touched(), set(&[VAULT]));
}

#[test]
fn partition_groups_are_checked_and_its_radius_covers_members_and_dependents() {
    let fleet = fleet();
    let group = |ns: &[u8]| PartitionGroup {
        members: ns.iter().map(|n| principal(*n)).collect(),
    };
    let part = |groups: Vec<PartitionGroup>| FaultSpec::NetworkPartition {
        groups,
        methods: vec![],
    };
    assert_eq!(
        invalid_field(part(vec![group(&[VAULT])]).validate(&fleet)),
        "groups"
    );
    assert_eq!(
        invalid_field(part(vec![group(&[VAULT]), group(&[])]).validate(&fleet)),
        "groups"
    );
    let dup = part(vec![group(&[VAULT, ORACLE]), group(&[ORACLE])])
        .validate(&fleet)
        .unwrap_err();
    assert!(dup.to_string().contains("in two groups"), "{dup}");
    // Nothing could enforce a partition between an unhooked target and an outsider.
    let nobody = part(vec![group(&[NO_HOOKS]), group(&[77])])
        .validate(&fleet)
        .unwrap_err();
    assert!(
        nobody.to_string().contains("nothing could enforce"),
        "{nobody}"
    );
    let e = part(vec![group(&[VAULT]), group(&[PROTECTED])])
        .validate(&fleet)
        .unwrap_err();
    assert_eq!(
        e,
        FaultError::Protected {
            canister: principal(PROTECTED)
        }
    );

    let r = part(vec![group(&[VAULT, 77]), group(&[ORACLE, NO_HOOKS])])
        .validate(&fleet)
        .unwrap();
    assert_eq!(r.acted_on, set(&[VAULT, ORACLE]));
    // The unhooked member is cut off without being acted on; the consumer depends on both.
    assert_eq!(r.affected, set(&[NO_HOOKS, CONSUMER]));
}

#[test]
fn partition_plans_block_the_other_groups_members() {
    let fleet = fleet();
    let spec = FaultSpec::NetworkPartition {
        groups: vec![
            PartitionGroup {
                members: vec![principal(VAULT), principal(77)],
            },
            PartitionGroup {
                members: vec![principal(ORACLE)],
            },
        ],
        methods: vec!["transfer".into()],
    };
    let plan = RunPlan::new(&spec, &spec.validate(&fleet).unwrap(), &fleet);
    let blocked: BTreeMap<Principal, Vec<Principal>> = plan
        .inject
        .iter()
        .map(|s| match s {
            FaultStep::SetPlan { canister, faults } => match &faults[..] {
                [HookFault::Partition {
                    blocked_callers,
                    methods,
                }] => {
                    assert_eq!(methods, &vec!["transfer".to_string()]);
                    (*canister, blocked_callers.clone())
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(blocked[&principal(VAULT)], vec![principal(ORACLE)]);
    assert_eq!(
        blocked[&principal(ORACLE)],
        vec![principal(VAULT), principal(77)]
    );
}

#[test]
fn exhaustion_parameters_are_bounded() {
    let fleet = fleet();
    let ex = |n: u8, mode| FaultSpec::ResourceExhaustion {
        target: principal(n),
        mode,
    };
    use ExhaustionMode::*;
    assert_eq!(
        invalid_field(
            ex(
                VAULT,
                Freeze {
                    freezing_threshold_secs: 0
                }
            )
            .validate(&fleet)
        ),
        "freezing_threshold_secs"
    );
    let zero = ex(
        VAULT,
        SqueezeMemory {
            wasm_memory_limit_bytes: 0,
        },
    )
    .validate(&fleet)
    .unwrap_err();
    assert!(
        zero.to_string().contains("0 would remove the limit"),
        "{zero}"
    );
    assert!(ex(
        VAULT,
        SqueezeMemory {
            wasm_memory_limit_bytes: 4 << 30
        }
    )
    .validate(&fleet)
    .is_err());
    assert!(ex(VAULT, Ballast { bytes: 0 }).validate(&fleet).is_err());
    assert!(ex(VAULT, Ballast { bytes: 2 << 30 })
        .validate(&fleet)
        .is_err());
    assert!(ex(
        VAULT,
        BurnInstructions {
            methods: vec![],
            instructions: 0
        }
    )
    .validate(&fleet)
    .is_err());
    assert!(ex(
        VAULT,
        BurnInstructions {
            methods: vec![],
            instructions: 40_000_000_000
        }
    )
    .validate(&fleet)
    .is_err());
    assert!(ex(
        VAULT,
        BurnInstructions {
            methods: vec!["bad name".into()],
            instructions: 1
        }
    )
    .validate(&fleet)
    .is_err());
    // Settings need no hooks; ballast does.
    ex(
        NO_HOOKS,
        SqueezeMemory {
            wasm_memory_limit_bytes: 1 << 20,
        },
    )
    .validate(&fleet)
    .unwrap();
    assert!(matches!(
        ex(NO_HOOKS, Ballast { bytes: 1 }).validate(&fleet),
        Err(FaultError::NoHooks { .. })
    ));
}

#[test]
fn probabilities_rounds_and_intensities_are_bounded() {
    let fleet = fleet();
    let v = principal(VAULT);
    let reject = |p| FaultSpec::ServiceFailure {
        target: v,
        mode: FailureMode::Reject {
            methods: vec![],
            probability: Ppm(p),
        },
    };
    assert_eq!(
        invalid_field(reject(0).validate(&fleet)),
        "mode.probability_ppm"
    );
    assert!(reject(1_000_001).validate(&fleet).is_err());
    reject(1).validate(&fleet).unwrap();
    let latency = |rounds| FaultSpec::LatencyInjection {
        target: v,
        methods: vec![],
        rounds,
        probability: Ppm::ALWAYS,
    };
    assert_eq!(invalid_field(latency(0).validate(&fleet)), "rounds");
    assert_eq!(invalid_field(latency(101).validate(&fleet)), "rounds");
    latency(100).validate(&fleet).unwrap();
    let corrupt = |intensity| FaultSpec::DataCorruption {
        target: v,
        intensity,
    };
    assert_eq!(invalid_field(corrupt(0).validate(&fleet)), "intensity");
    assert!(corrupt(1_000_001).validate(&fleet).is_err());
}

#[test]
fn data_corruption_needs_an_invariant_check_and_plans_the_snapshot_first() {
    let mut fleet = fleet();
    let spec = FaultSpec::DataCorruption {
        target: principal(VAULT),
        intensity: 3,
    };
    let plan = RunPlan::new(&spec, &spec.validate(&fleet).unwrap(), &fleet);
    let c = principal(VAULT);
    assert_eq!(
        plan.inject,
        vec![
            FaultStep::Stop { canister: c },
            FaultStep::Snapshot { canister: c },
            FaultStep::Start { canister: c },
            FaultStep::SetPlan {
                canister: c,
                faults: vec![HookFault::Corrupt { intensity: 3 }]
            },
        ]
    );
    assert_eq!(
        plan.watches,
        vec![Watch {
            canister: c,
            method: "check_invariants".into(),
            purpose: WatchPurpose::Invariant
        }]
    );
    fleet.targets.get_mut(&c).unwrap().profile.invariant_method = None;
    assert_eq!(
        spec.validate(&fleet).unwrap_err(),
        FaultError::NoInvariantMethod { canister: c }
    );
}

#[test]
fn security_breach_probes_only_declared_privileged_methods() {
    let fleet = fleet();
    let sb = |n: u8, m: &[&str]| FaultSpec::SecurityBreach {
        target: principal(n),
        methods: m.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(
        sb(ORACLE, &[]).validate(&fleet).unwrap_err(),
        FaultError::NoPrivilegedMethods {
            canister: principal(ORACLE)
        }
    );
    let e = sb(VAULT, &["drain"]).validate(&fleet).unwrap_err();
    assert_eq!(
        e,
        FaultError::UndeclaredMethod {
            canister: principal(VAULT),
            method: "drain".into()
        }
    );
    let spec = sb(VAULT, &[]);
    let plan = RunPlan::new(&spec, &spec.validate(&fleet).unwrap(), &fleet);
    assert_eq!(
        plan.inject,
        vec![FaultStep::ProbeAccess {
            target: principal(VAULT),
            methods: vec!["admin_withdraw".into(), "set_owner".into()]
        }]
    );
}

#[test]
fn cascades_and_byzantine_faults_watch_declared_dependents_only() {
    let fleet = fleet();
    let cascade = |dep: u8, ds: &[u8]| FaultSpec::CascadingFailure {
        dependency: principal(dep),
        mode: FailureMode::Stop,
        dependents: ds.iter().map(|d| principal(*d)).collect(),
    };
    assert_eq!(
        cascade(LEDGER, &[]).validate(&fleet).unwrap_err(),
        FaultError::NoDependents {
            canister: principal(LEDGER)
        }
    );
    assert_eq!(
        cascade(VAULT, &[LEDGER]).validate(&fleet).unwrap_err(),
        FaultError::NotADependent {
            dependency: principal(VAULT),
            dependent: principal(LEDGER)
        }
    );
    let spec = cascade(VAULT, &[]);
    let plan = RunPlan::new(&spec, &spec.validate(&fleet).unwrap(), &fleet);
    assert_eq!(
        plan.watches,
        vec![Watch {
            canister: principal(CONSUMER),
            method: "health".into(),
            purpose: WatchPurpose::DependentHealth
        }]
    );

    let byz = |methods: Vec<String>| FaultSpec::ByzantineFault {
        target: principal(ORACLE),
        methods,
        probability: Ppm::ALWAYS,
        consumers: vec![],
    };
    assert_eq!(invalid_field(byz(vec![]).validate(&fleet)), "methods");
    let spec = byz(vec!["price".into()]);
    let plan = RunPlan::new(&spec, &spec.validate(&fleet).unwrap(), &fleet);
    assert_eq!(plan.watches[0].purpose, WatchPurpose::ConsumerCheck);
    assert_eq!(plan.watches[0].canister, principal(CONSUMER));
}

#[test]
fn corruption_intensity_follows_the_hook_contract_range() {
    let fleet = fleet();
    let corrupt = |intensity: u32| FaultSpec::DataCorruption {
        target: principal(VAULT),
        intensity,
    };
    assert!(corrupt(1).validate(&fleet).is_ok());
    assert!(corrupt(1_000).validate(&fleet).is_ok());
    assert_eq!(invalid_field(corrupt(0).validate(&fleet)), "intensity");
    // chaos_hooks refuses a Corrupt above 1,000: the core refuses it before anything runs.
    assert_eq!(invalid_field(corrupt(1_001).validate(&fleet)), "intensity");
}
