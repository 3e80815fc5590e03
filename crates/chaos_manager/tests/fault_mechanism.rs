//! The fault mechanism below the catalog: when a freeze freezes, how steps resolve into actions
//! (and refuse to when unsafe), what rollback is owed, least-privilege defaults, and how
//! findings score.

use chaos_manager::experiment::fixtures::*;
use chaos_manager::fault::*;
use chaos_manager::hardening::{Cycles, RunStatus, SettingsChange};
use ic_principal::Principal;
use std::collections::BTreeMap;

fn status(threshold: u64, limit: Option<u64>, cycles: u128, idle: u128) -> TargetStatus {
    TargetStatus {
        status: RunStatus::Running,
        freezing_threshold_secs: threshold,
        wasm_memory_limit_bytes: limit,
        cycles: Cycles(cycles),
        idle_cycles_burned_per_day: Cycles(idle),
    }
}

#[test]
fn freezing_is_computed_from_the_balance_and_the_idle_burn() {
    // 100T cycles burning 1B a day idle last 100,000 days: the threshold must exceed that.
    let s = status(2_592_000, Some(1), 100_000_000_000_000, 1_000_000_000);
    assert_eq!(min_freezing_secs(&s), Some(8_640_000_001));
    assert!(!freezes(8_640_000_000, &s));
    assert!(freezes(8_640_000_001, &s));
    // A canister that burns nothing idle cannot be frozen this way.
    assert!(!freezes(u64::MAX, &status(1, None, 5, 0)));
    assert_eq!(min_freezing_secs(&status(1, None, 5, 0)), None);
}

#[test]
fn resolution_refuses_unsafe_steps() {
    let c = principal(VAULT);
    let mut originals = BTreeMap::new();
    let snapshots = BTreeMap::new();
    fn ctx<'a>(
        o: &'a BTreeMap<Principal, TargetStatus>,
        snapshots: &'a BTreeMap<Principal, chaos_manager::SnapshotId>,
    ) -> ResolveContext<'a> {
        ResolveContext {
            plan_id: 7,
            seed: 9,
            plan_expires_at: chaos_manager::TimestampNs(1),
            originals: o,
            snapshots,
        }
    }
    let squeeze = FaultStep::ApplySettings {
        canister: c,
        change: SettingsChange {
            wasm_memory_limit_bytes: Some(1 << 20),
            ..Default::default()
        },
    };
    let e = resolve(&squeeze, &ctx(&originals, &snapshots)).unwrap_err();
    assert!(e.contains("were not recorded"), "{e}");
    originals.insert(c, status(100, None, 1, 1));
    let e = resolve(&squeeze, &ctx(&originals, &snapshots)).unwrap_err();
    assert!(e.contains("could not be undone"), "{e}");
    originals.insert(c, status(100, Some(3 << 30), 1, 1));
    assert!(matches!(
        resolve(&squeeze, &ctx(&originals, &snapshots)),
        Ok(Action::UpdateSettings { .. })
    ));

    let corrupt = FaultStep::SetPlan {
        canister: c,
        faults: vec![HookFault::Corrupt { intensity: 1 }],
    };
    let e = resolve(&corrupt, &ctx(&originals, &snapshots)).unwrap_err();
    assert!(e.contains("never corrupted without one"), "{e}");
    let delay = FaultStep::SetPlan {
        canister: c,
        faults: vec![HookFault::Delay {
            methods: vec![],
            rounds: 1,
            probability: Ppm::ALWAYS,
        }],
    };
    match resolve(&delay, &ctx(&originals, &snapshots)).unwrap() {
        Action::SetFaultPlan { plan, .. } => {
            assert_eq!((plan.plan_id, plan.seed, plan.expires_at.0), (7, 9, 1))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn owed_rollback_clears_plans_restores_settings_reloads_and_restarts_in_that_order() {
    let (a, b) = (principal(VAULT), principal(ORACLE));
    let mut originals = BTreeMap::new();
    originals.insert(b, status(2_592_000, Some(3 << 30), 1, 1));
    let mut owed = Owed::default();
    owed.on_issued(&FaultStep::Stop { canister: a }, &originals);
    owed.on_issued(
        &FaultStep::SetPlan {
            canister: a,
            faults: vec![HookFault::Corrupt { intensity: 1 }],
        },
        &originals,
    );
    owed.on_issued(
        &FaultStep::ApplySettings {
            canister: b,
            change: SettingsChange {
                freezing_threshold_secs: Some(9),
                ..Default::default()
            },
        },
        &originals,
    );
    owed.on_issued(&FaultStep::Stop { canister: b }, &originals);
    let steps = owed.rollback_steps();
    assert_eq!(
        steps,
        vec![
            FaultStep::ClearPlan { canister: a },
            FaultStep::RestoreSettings {
                canister: b,
                change: SettingsChange {
                    freezing_threshold_secs: Some(2_592_000),
                    ..Default::default()
                }
            },
            FaultStep::Stop { canister: a },
            FaultStep::LoadRestorePoint { canister: a },
            FaultStep::Start { canister: a },
            FaultStep::Start { canister: b },
        ]
    );
    for s in &steps {
        owed.on_issued(s, &originals);
        owed.on_succeeded(s);
    }
    assert!(owed.is_empty(), "{owed:?}");
}

#[test]
fn fault_profile_validation_and_least_privilege_default() {
    let owner = principal(VAULT);
    let p = FaultProfile::default();
    assert!(
        FaultKind::ALL.iter().all(|k| !p.allows(*k)),
        "an old registration allows nothing"
    );
    let dup = FaultProfile {
        allowed_faults: vec![FaultKind::ServiceFailure, FaultKind::ServiceFailure],
        ..Default::default()
    };
    assert_eq!(dup.validate(&owner).unwrap_err().0, "allowed_faults");
    let selfdep = FaultProfile {
        dependents: vec![owner],
        ..Default::default()
    };
    assert_eq!(selfdep.validate(&owner).unwrap_err().0, "dependents");
    let badm = FaultProfile {
        privileged_methods: vec!["no spaces".into()],
        ..Default::default()
    };
    assert!(badm.validate(&owner).is_err());
    // A missing profile field in an old log decodes as None (read as the default).
    #[derive(minicbor::Encode, minicbor::Decode)]
    struct Old {
        #[n(0)]
        name: String,
    }
    #[derive(minicbor::Encode, minicbor::Decode, Debug)]
    struct New {
        #[n(0)]
        name: String,
        #[n(8)]
        fault_profile: Option<FaultProfile>,
    }
    let bytes = minicbor::to_vec(Old {
        name: "vault".into(),
    })
    .unwrap();
    let new: New = minicbor::decode(&bytes).unwrap();
    assert_eq!((new.name.as_str(), new.fault_profile), ("vault", None));
}

#[test]
fn findings_score_detection_containment_and_refusals() {
    let w = |canister, purpose| Watch {
        canister,
        method: "m".into(),
        purpose,
    };
    let ok = Observation::Probed {
        reading: ProbeReading {
            invariant_holds: Some(true),
            ..Default::default()
        },
    };
    let bad = Observation::Probed {
        reading: ProbeReading {
            invariant_holds: Some(false),
            ..Default::default()
        },
    };
    let window = chaos_manager::DurationNs::from_secs(60);
    let mut f = FaultFindings::new(&[w(principal(VAULT), WatchPurpose::Invariant)]);
    f.record_watch(0, &ok, chaos_manager::DurationNs::from_secs(10));
    assert_eq!(
        (f.detection_time(), f.fault_permille(window)),
        (None, Some(0))
    );
    f.record_watch(0, &bad, chaos_manager::DurationNs::from_secs(30));
    assert_eq!(
        f.detection_time(),
        Some(chaos_manager::DurationNs::from_secs(30))
    );
    assert_eq!(f.fault_permille(window), Some(750));

    let mut f = FaultFindings::new(&[
        w(principal(CONSUMER), WatchPurpose::DependentHealth),
        w(principal(ORACLE), WatchPurpose::DependentHealth),
    ]);
    f.record_watch(
        0,
        &Observation::failed(chaos_manager::effect::RejectCode::CanisterError, "x"),
        chaos_manager::DurationNs::from_secs(12),
    );
    f.record_watch(1, &ok, chaos_manager::DurationNs::from_secs(12));
    assert_eq!(
        f.propagation_map(),
        vec![
            (
                principal(CONSUMER),
                Some(chaos_manager::DurationNs::from_secs(12))
            ),
            (principal(ORACLE), None)
        ]
    );
    assert_eq!(f.fault_permille(window), Some(500));

    let mut f = FaultFindings::default();
    f.record_access_probe(
        &["a".into(), "b".into(), "c".into(), "d".into()],
        &Observation::AccessProbed {
            accepted: vec!["b".into()],
            inconclusive: vec![],
        },
    );
    assert_eq!(f.fault_permille(window), Some(750));
    // Inconclusive methods count neither way: 1 of 2 conclusive methods refused.
    let mut f = FaultFindings::default();
    f.record_access_probe(
        &["a".into(), "b".into(), "c".into(), "d".into()],
        &Observation::AccessProbed {
            accepted: vec!["b".into()],
            inconclusive: vec!["c: stopped".into(), "d: stopped".into()],
        },
    );
    assert_eq!(f.fault_permille(window), Some(500));
    assert_eq!(FaultFindings::default().fault_permille(window), None);
}
