use super::*;
use candid::Principal;

const NOW: u64 = 1_000_000_000_000;
const HOUR: u64 = 3_600 * 1_000_000_000;

fn plan(faults: Vec<Fault>) -> FaultPlan {
    FaultPlan {
        plan_id: 1,
        expires_at_ns: NOW + HOUR,
        seed: 7,
        faults,
    }
}

fn declared() -> Declared {
    Declared {
        guarded_methods: vec!["deposit".into(), "total_supply".into()],
        perturbable_methods: vec!["total_supply".into()],
        has_corruption: true,
    }
}

fn check(faults: Vec<Fault>) -> Result<(), HookError> {
    validate(&plan(faults), NOW, &HookCaps::default(), &declared())
}

fn reject(methods: &[&str], ppm: u32) -> Fault {
    Fault::Reject {
        methods: methods.iter().map(|m| m.to_string()).collect(),
        probability_ppm: ppm,
    }
}

fn is_invalid(r: Result<(), HookError>, needle: &str) {
    match r {
        Err(HookError::InvalidPlan(m)) => assert!(m.contains(needle), "{m}"),
        other => panic!("expected InvalidPlan({needle}), got {other:?}"),
    }
}

fn is_cap(r: Result<(), HookError>) {
    assert!(matches!(r, Err(HookError::CapExceeded(_))), "{r:?}");
}

#[test]
fn a_plan_of_every_kind_within_caps_is_accepted() {
    let caps = HookCaps::default();
    check(vec![
        reject(&[], 0),
        Fault::Trap {
            methods: vec!["deposit".into()],
            probability_ppm: PPM_ALWAYS,
        },
        Fault::Delay {
            methods: vec![],
            rounds: caps.max_delay_rounds,
            probability_ppm: 500_000,
        },
        Fault::Partition {
            blocked_callers: vec![Principal::anonymous()],
            methods: vec![],
        },
        Fault::Perturb {
            methods: vec!["total_supply".into()],
            probability_ppm: 1,
        },
        Fault::Corrupt { intensity: 1 },
        Fault::BurnInstructions {
            methods: vec![],
            instructions: caps.max_burn_instructions,
        },
        Fault::Ballast {
            bytes: caps.max_ballast_bytes,
        },
    ])
    .unwrap();
}

#[test]
fn empty_and_oversized_plans_are_refused() {
    is_invalid(check(vec![]), "no faults");
    is_invalid(
        check(vec![reject(&[], 1); hard_limits::MAX_FAULTS + 1]),
        "faults; at most",
    );
}

#[test]
fn expiry_must_be_in_the_future_and_within_the_duration_cap() {
    let mut p = plan(vec![reject(&[], 1)]);
    p.expires_at_ns = NOW;
    is_invalid(
        validate(&p, NOW, &HookCaps::default(), &declared()),
        "not after",
    );
    p.expires_at_ns = NOW + HookCaps::default().max_plan_duration_ns + 1;
    is_cap(validate(&p, NOW, &HookCaps::default(), &declared()));
}

#[test]
fn probabilities_above_one_million_ppm_are_refused() {
    check(vec![reject(&[], PPM_ALWAYS)]).unwrap();
    is_invalid(check(vec![reject(&[], PPM_ALWAYS + 1)]), "probability_ppm");
}

#[test]
fn unknown_methods_are_refused_when_the_canister_declares_its_methods() {
    is_invalid(check(vec![reject(&["total_suply"], 1)]), "unknown method");
    // deposit is guarded but does not perturb its answer.
    is_invalid(
        check(vec![Fault::Perturb {
            methods: vec!["deposit".into()],
            probability_ppm: 1,
        }]),
        "unknown method",
    );
    // Undeclared canisters accept any name.
    let open = Declared::default();
    validate(
        &plan(vec![reject(&["anything"], 1)]),
        NOW,
        &HookCaps::default(),
        &open,
    )
    .unwrap();
    is_invalid(check(vec![reject(&[""], 1)]), "method name");
}

#[test]
fn delay_burn_and_ballast_are_capped_and_never_zero() {
    let caps = HookCaps::default();
    let delay = |rounds| Fault::Delay {
        methods: vec![],
        rounds,
        probability_ppm: 1,
    };
    is_invalid(check(vec![delay(0)]), "0 rounds");
    is_cap(check(vec![delay(caps.max_delay_rounds + 1)]));
    let burn = |instructions| Fault::BurnInstructions {
        methods: vec![],
        instructions,
    };
    is_invalid(check(vec![burn(0)]), "of 0");
    is_cap(check(vec![burn(caps.max_burn_instructions + 1)]));
    is_invalid(check(vec![Fault::Ballast { bytes: 0 }]), "0 bytes");
    is_cap(check(vec![Fault::Ballast {
        bytes: caps.max_ballast_bytes + 1,
    }]));
    is_invalid(
        check(vec![
            Fault::Ballast { bytes: 1 },
            Fault::Ballast { bytes: 1 },
        ]),
        "second Ballast",
    );
}

#[test]
fn corruption_needs_a_registered_function_and_a_sane_intensity() {
    let mut d = declared();
    d.has_corruption = false;
    assert_eq!(
        validate(
            &plan(vec![Fault::Corrupt { intensity: 1 }]),
            NOW,
            &HookCaps::default(),
            &d
        ),
        Err(HookError::NoCorruptionHook)
    );
    is_invalid(check(vec![Fault::Corrupt { intensity: 0 }]), "intensity");
    is_invalid(
        check(vec![Fault::Corrupt {
            intensity: hard_limits::MAX_CORRUPTION_INTENSITY + 1,
        }]),
        "intensity",
    );
    is_invalid(
        check(vec![
            Fault::Corrupt { intensity: 1 },
            Fault::Corrupt { intensity: 1 },
        ]),
        "second Corrupt",
    );
}

#[test]
fn a_partition_needs_blocked_callers() {
    is_invalid(
        check(vec![Fault::Partition {
            blocked_callers: vec![],
            methods: vec![],
        }]),
        "blocked_callers",
    );
}

#[test]
fn embedder_caps_are_clamped_to_the_hard_limits() {
    let huge = HookCaps {
        max_delay_rounds: u32::MAX,
        max_burn_instructions: u64::MAX,
        max_ballast_bytes: u64::MAX,
        max_plan_duration_ns: u64::MAX,
    }
    .clamped();
    assert_eq!(huge.max_delay_rounds, hard_limits::MAX_DELAY_ROUNDS);
    assert_eq!(
        huge.max_burn_instructions,
        hard_limits::MAX_BURN_INSTRUCTIONS
    );
    assert_eq!(huge.max_ballast_bytes, hard_limits::MAX_BALLAST_BYTES);
    assert_eq!(huge.max_plan_duration_ns, hard_limits::MAX_PLAN_DURATION_NS);
    assert_eq!(HookCaps::default().clamped(), HookCaps::default());
}

#[test]
fn targeting_and_plan_wide_quantities() {
    let f = reject(&["deposit"], 1);
    assert!(targets(&f, "deposit"));
    assert!(!targets(&f, "withdraw"));
    assert!(targets(&reject(&[], 1), "anything"));
    let p = plan(vec![
        Fault::Ballast { bytes: 9 },
        Fault::Corrupt { intensity: 3 },
    ]);
    assert_eq!(ballast_bytes(&p), 9);
    assert_eq!(corruption_intensity(&p), Some(3));
    let none = plan(vec![reject(&[], 1)]);
    assert_eq!(
        (ballast_bytes(&none), corruption_intensity(&none)),
        (0, None)
    );
}
