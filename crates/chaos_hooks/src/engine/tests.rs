use super::*;
use crate::plan::hard_limits;
use crate::types::PPM_ALWAYS;
use proptest::prelude::*;

const NOW: u64 = 1_700_000_000_000_000_000;
const HOUR: u64 = 3_600 * 1_000_000_000;

fn p(n: u8) -> Principal {
    Principal::from_slice(&[n; 10])
}

fn chaos() -> Principal {
    p(200)
}

/// A context that counts how often the hooks asked for the time or the caller.
struct Ctx {
    now: u64,
    caller: Principal,
    reads: u32,
}

impl Ctx {
    fn new(caller: Principal) -> Self {
        Self {
            now: NOW,
            caller,
            reads: 0,
        }
    }
    fn at(now: u64, caller: Principal) -> Self {
        Self {
            now,
            caller,
            reads: 0,
        }
    }
}

impl CallContext for Ctx {
    fn now_ns(&mut self) -> u64 {
        self.reads += 1;
        self.now
    }
    fn caller(&mut self) -> Principal {
        self.reads += 1;
        self.caller
    }
}

fn hooks() -> Hooks {
    let mut h = Hooks::new(HookCaps::default(), Declared::default());
    h.set_has_corruption(true);
    h.set_chaos_system(Some(chaos())).unwrap();
    h
}

fn plan(id: u64, seed: u64, faults: Vec<Fault>) -> FaultPlan {
    FaultPlan {
        plan_id: id,
        expires_at_ns: NOW + HOUR,
        seed,
        faults,
    }
}

fn m(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn with(faults: Vec<Fault>) -> Hooks {
    let mut h = hooks();
    h.set_plan(plan(1, 42, faults), NOW).unwrap();
    h
}

fn update(h: &mut Hooks, method: &str, caller: Principal) -> Option<Decision> {
    h.decide_update(method, &mut Ctx::new(caller))
}

#[test]
fn the_fast_path_reads_nothing_and_draws_nothing() {
    let mut h = hooks();
    let mut ctx = Ctx::new(p(1));
    for _ in 0..10_000 {
        assert_eq!(h.decide_update("deposit", &mut ctx), None);
        assert_eq!(h.decide_query("total_supply", &mut ctx), None);
        assert_eq!(h.perturb_draw("total_supply", &mut ctx), None);
    }
    assert_eq!(ctx.reads, 0, "no time or caller read without a plan");
    assert_eq!(h.guarded_calls(), 0);
    assert_eq!(h.generator_draws(), None);
    assert!(!h.is_active());
    // After a plan is cleared, the fast path is back.
    h.set_plan(plan(1, 1, vec![reject(&[], PPM_ALWAYS)]), NOW)
        .unwrap();
    assert!(h.clear());
    assert_eq!(h.decide_update("deposit", &mut ctx), None);
    assert_eq!(ctx.reads, 0);
}

fn reject(methods: &[&str], ppm: u32) -> Fault {
    Fault::Reject {
        methods: m(methods),
        probability_ppm: ppm,
    }
}

#[test]
fn untargeted_methods_pass_without_drawing() {
    let mut h = with(vec![reject(&["withdraw"], PPM_ALWAYS)]);
    let d = update(&mut h, "deposit", p(1)).unwrap();
    assert_eq!(d.action, Action::Proceed { delay_rounds: 0 });
    assert_eq!(h.generator_draws(), Some(0));
}

#[test]
fn reject_at_zero_ppm_never_and_at_one_million_always() {
    let mut never = with(vec![reject(&[], 0)]);
    let mut always = with(vec![reject(&[], PPM_ALWAYS)]);
    for i in 0..1_000u64 {
        let caller = p((i % 7) as u8);
        let n = update(&mut never, "deposit", caller).unwrap();
        assert_eq!(n.action, Action::Proceed { delay_rounds: 0 });
        let a = update(&mut always, "deposit", caller).unwrap();
        assert!(
            matches!(a.action, Action::Reject { ref reason } if reason.contains("injected reject of deposit (plan 1)"))
        );
        let mut q = Ctx::at(NOW + i, caller);
        assert!(matches!(
            always.decide_query("total_supply", &mut q).unwrap().action,
            Action::Reject { .. }
        ));
        assert_eq!(
            never.decide_query("total_supply", &mut q).unwrap().action,
            Action::Proceed { delay_rounds: 0 }
        );
    }
    assert_eq!(always.status(NOW, 0).counts.rejected, 1_000);
    assert_eq!(always.status(NOW, 0).injected, 1_000);
    assert_eq!(never.status(NOW, 0).injected, 0);
    assert_eq!(never.guarded_calls(), 1_000);
    // One draw per targeted probabilistic fault per call, whatever the probability.
    assert_eq!(never.generator_draws(), Some(1_000));
}

#[test]
fn trap_wins_over_reject_and_is_not_counted() {
    let mut h = with(vec![
        reject(&[], PPM_ALWAYS),
        Fault::Trap {
            methods: vec![],
            probability_ppm: PPM_ALWAYS,
        },
    ]);
    let d = update(&mut h, "deposit", p(1)).unwrap();
    assert!(
        matches!(d.action, Action::Trap { ref reason } if reason.contains("injected trap in deposit"))
    );
    assert_eq!(h.status(NOW, 0).counts.rejected, 0);
}

#[test]
fn delay_applies_to_updates_and_never_to_queries() {
    let mut h = with(vec![
        Fault::Delay {
            methods: vec![],
            rounds: 3,
            probability_ppm: PPM_ALWAYS,
        },
        Fault::Delay {
            methods: m(&["deposit"]),
            rounds: 7,
            probability_ppm: PPM_ALWAYS,
        },
    ]);
    assert_eq!(
        update(&mut h, "deposit", p(1)).unwrap().action,
        Action::Proceed { delay_rounds: 7 },
        "overlapping delays take the longest"
    );
    assert_eq!(
        update(&mut h, "withdraw", p(1)).unwrap().action,
        Action::Proceed { delay_rounds: 3 }
    );
    assert_eq!(
        h.decide_query("deposit", &mut Ctx::new(p(1)))
            .unwrap()
            .action,
        Action::Proceed { delay_rounds: 0 }
    );
    assert_eq!(h.status(NOW, 0).counts.delayed, 2);
}

#[test]
fn a_partition_rejects_only_blocked_callers_on_targeted_methods_and_draws_nothing() {
    let mut h = with(vec![
        Fault::Partition {
            blocked_callers: vec![p(9)],
            methods: m(&["total_supply"]),
        },
        reject(&[], 0),
    ]);
    let blocked = update(&mut h, "total_supply", p(9)).unwrap();
    assert!(
        matches!(blocked.action, Action::Reject { ref reason } if reason.contains("is partitioned from total_supply"))
    );
    assert_eq!(
        h.generator_draws(),
        Some(0),
        "a partition is decided by the caller alone"
    );
    assert_eq!(
        update(&mut h, "total_supply", p(8)).unwrap().action,
        Action::Proceed { delay_rounds: 0 }
    );
    assert_eq!(
        update(&mut h, "deposit", p(9)).unwrap().action,
        Action::Proceed { delay_rounds: 0 }
    );
    let q = h.decide_query("total_supply", &mut Ctx::new(p(9))).unwrap();
    assert!(matches!(q.action, Action::Reject { .. }));
    let s = h.status(NOW, 0);
    assert_eq!((s.counts.partitioned, s.counts.rejected), (1, 0));
}

#[test]
fn burns_add_up_and_stop_at_the_caps() {
    let burn = |methods: &[&str], instructions| Fault::BurnInstructions {
        methods: m(methods),
        instructions,
    };
    let mut h = with(vec![burn(&[], 1_000), burn(&["deposit"], 2_000)]);
    assert_eq!(
        update(&mut h, "deposit", p(1)).unwrap().burn_instructions,
        3_000
    );
    assert_eq!(
        update(&mut h, "withdraw", p(1)).unwrap().burn_instructions,
        1_000
    );
    assert_eq!(h.status(NOW, 0).counts.burned, 2);

    let cap = HookCaps::default().max_burn_instructions;
    let mut big = with(vec![burn(&[], cap), burn(&[], cap)]);
    assert_eq!(
        update(&mut big, "deposit", p(1)).unwrap().burn_instructions,
        cap
    );
    let q = big.decide_query("deposit", &mut Ctx::new(p(1))).unwrap();
    assert_eq!(
        q.burn_instructions,
        hard_limits::MAX_QUERY_BURN_INSTRUCTIONS
    );
}

#[test]
fn a_partitioned_call_burns_nothing() {
    let mut h = with(vec![
        Fault::Partition {
            blocked_callers: vec![p(9)],
            methods: vec![],
        },
        Fault::BurnInstructions {
            methods: vec![],
            instructions: 5,
        },
    ]);
    assert_eq!(
        update(&mut h, "deposit", p(9)).unwrap().burn_instructions,
        0
    );
}

#[test]
fn ballast_is_wanted_only_while_the_plan_is_in_force() {
    let mut h = with(vec![Fault::Ballast { bytes: 4_096 }]);
    assert_eq!(h.ballast_target(), 4_096);
    h.clear();
    assert_eq!(h.ballast_target(), 0);
    let mut h = with(vec![Fault::Ballast { bytes: 4_096 }]);
    assert!(h.expire_if_due(NOW + HOUR));
    assert_eq!(h.ballast_target(), 0);
}

#[test]
fn an_expired_plan_clears_itself_on_the_next_update_and_reads_as_inactive() {
    let mut h = with(vec![reject(&[], PPM_ALWAYS)]);
    let later = NOW + HOUR;
    // Status and queries see it inactive without changing anything.
    assert_eq!(h.status(later, 0).active_plan, None);
    assert_eq!(h.status(later - 1, 0).active_plan, Some(1));
    assert_eq!(h.decide_query("deposit", &mut Ctx::at(later, p(1))), None);
    assert_eq!(h.perturb_draw("deposit", &mut Ctx::at(later, p(1))), None);
    assert!(h.is_active(), "queries cannot clear");
    assert_eq!(h.decide_update("deposit", &mut Ctx::at(later, p(1))), None);
    assert!(!h.is_active(), "the update cleared it");
    assert_eq!(h.guarded_calls(), 0);
}

#[test]
fn the_same_seed_and_calls_give_the_same_decisions() {
    let faults = || {
        vec![
            reject(&[], 300_000),
            Fault::Trap {
                methods: m(&["withdraw"]),
                probability_ppm: 100_000,
            },
            Fault::Delay {
                methods: vec![],
                rounds: 4,
                probability_ppm: 500_000,
            },
        ]
    };
    let run = |seed| {
        let mut h = hooks();
        h.set_plan(plan(1, seed, faults()), NOW).unwrap();
        (0..200u8)
            .map(|i| {
                let method = ["deposit", "withdraw", "transfer"][usize::from(i % 3)];
                update(&mut h, method, p(i % 5)).unwrap()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
    let decisions = run(42);
    assert!(decisions
        .iter()
        .any(|d| matches!(d.action, Action::Reject { .. })));
    assert!(decisions
        .iter()
        .any(|d| matches!(d.action, Action::Trap { .. })));
    assert!(decisions
        .iter()
        .any(|d| d.action == Action::Proceed { delay_rounds: 4 }));
    assert!(decisions
        .iter()
        .any(|d| d.action == Action::Proceed { delay_rounds: 0 }));
}

#[test]
fn query_decisions_are_stable_within_a_round_and_vary_across_rounds() {
    let h = with(vec![reject(&[], 500_000)]);
    let at = |t| {
        h.decide_query("total_supply", &mut Ctx::at(t, p(1)))
            .unwrap()
            .action
    };
    assert_eq!(at(NOW), at(NOW));
    let rejected = (0..200)
        .filter(|i| matches!(at(NOW + i), Action::Reject { .. }))
        .count();
    assert!((50..150).contains(&rejected), "{rejected} of 200");
}

#[test]
fn perturbation_follows_its_probability_and_targets() {
    let fault = |ppm| Fault::Perturb {
        methods: m(&["total_supply"]),
        probability_ppm: ppm,
    };
    let mut always = with(vec![fault(PPM_ALWAYS)]);
    let mut never = with(vec![fault(0)]);
    let mut ctx = Ctx::new(p(1));
    assert!(always.perturb_draw("total_supply", &mut ctx).is_some());
    assert_eq!(always.perturb_draw("balance_of", &mut ctx), None);
    assert_eq!(never.perturb_draw("total_supply", &mut ctx), None);
    assert_eq!(always.status(NOW, 0).counts.perturbed, 1);
    // Perturb is not a guard fault: guarded calls pass.
    assert_eq!(
        update(&mut always, "total_supply", p(1)).unwrap().action,
        Action::Proceed { delay_rounds: 0 }
    );
}

#[test]
fn setting_the_active_plan_again_is_a_no_op_and_keeps_the_generator() {
    let faults = vec![reject(&[], 500_000), Fault::Corrupt { intensity: 2 }];
    let mut h = hooks();
    let first = h.set_plan(plan(5, 1, faults.clone()), NOW).unwrap();
    assert_eq!(first.corrupt, Some(2));
    assert!(!first.unchanged);
    h.record_corruption(CorruptionReport {
        plan_id: 5,
        at_ns: NOW,
        intensity: 2,
        items_changed: 1,
        detail: "x".into(),
    });
    update(&mut h, "deposit", p(1));
    let retry = h.set_plan(plan(5, 1, faults.clone()), NOW + 1).unwrap();
    assert!(retry.unchanged);
    assert_eq!(retry.corrupt, None);
    assert_eq!(h.generator_draws(), Some(1), "the retry did not reseed");

    let other = h.set_plan(plan(5, 1, vec![reject(&[], 1)]), NOW);
    assert!(matches!(other, Err(HookError::InvalidPlan(m)) if m.contains("other faults")));

    // Cleared and set again under the same id: corruption does not run twice in a row.
    h.clear();
    assert_eq!(
        h.set_plan(plan(5, 1, faults.clone()), NOW).unwrap().corrupt,
        None
    );
    assert_eq!(
        h.set_plan(plan(6, 1, faults), NOW).unwrap().corrupt,
        Some(2)
    );
}

#[test]
fn a_refused_plan_leaves_the_previous_one_in_force() {
    let mut h = with(vec![reject(&[], PPM_ALWAYS)]);
    let bad = plan(2, 1, vec![reject(&[], PPM_ALWAYS + 1)]);
    assert!(h.set_plan(bad, NOW).is_err());
    assert_eq!(h.active_plan(NOW), Some(1));
}

fn caller(principal: Principal, is_controller: bool, is_self: bool) -> Caller {
    Caller {
        principal,
        is_controller,
        is_self,
    }
}

#[test]
fn who_may_control_the_hooks() {
    let h = hooks();
    let chaos = caller(chaos(), false, false);
    let controller = caller(p(2), true, false);
    let me = caller(p(3), false, true);
    let stranger = caller(p(4), false, false);
    use Control::*;
    assert_eq!(h.authorize(SetPlan, &chaos), Ok(()));
    assert_eq!(
        h.authorize(SetPlan, &controller),
        Err(HookError::NotChaosSystem)
    );
    assert_eq!(
        h.authorize(SetPlan, &stranger),
        Err(HookError::NotChaosSystem)
    );
    assert_eq!(h.authorize(Clear, &controller), Ok(()));
    assert_eq!(
        h.authorize(Clear, &stranger),
        Err(HookError::NotChaosSystem)
    );
    assert_eq!(h.authorize(Status, &me), Ok(()));
    assert_eq!(
        h.authorize(Status, &stranger),
        Err(HookError::NotChaosSystem)
    );
    assert_eq!(h.authorize(Configure, &controller), Ok(()));
    assert_eq!(
        h.authorize(Configure, &chaos),
        Err(HookError::NotController)
    );

    let unconfigured = Hooks::new(HookCaps::default(), Declared::default());
    assert_eq!(
        unconfigured.authorize(SetPlan, &chaos),
        Err(HookError::NotConfigured)
    );
    assert_eq!(
        unconfigured.authorize(SetPlan, &controller),
        Err(HookError::NotConfigured)
    );
}

#[test]
fn the_anonymous_principal_cannot_be_chaos_system() {
    let mut h = hooks();
    assert!(matches!(
        h.set_chaos_system(Some(Principal::anonymous())),
        Err(HookError::InvalidConfig(_))
    ));
    assert_eq!(h.chaos_system(), Some(chaos()));
    h.set_chaos_system(None).unwrap();
    assert_eq!(h.chaos_system(), None);
}

fn arb_fault() -> impl Strategy<Value = Fault> {
    let methods = prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 0..3)
        .prop_map(|v| v.into_iter().map(String::from).collect::<Vec<_>>());
    let ppm = prop_oneof![Just(0u32), Just(PPM_ALWAYS), 0..=PPM_ALWAYS];
    prop_oneof![
        (methods.clone(), ppm.clone()).prop_map(|(methods, probability_ppm)| Fault::Reject {
            methods,
            probability_ppm
        }),
        (methods.clone(), 1..=50u32, ppm.clone()).prop_map(|(methods, rounds, probability_ppm)| {
            Fault::Delay {
                methods,
                rounds,
                probability_ppm,
            }
        }),
        (methods.clone(), 1..=10_000_000_000u64).prop_map(|(methods, instructions)| {
            Fault::BurnInstructions {
                methods,
                instructions,
            }
        }),
        (methods, 0..4u8).prop_map(|(methods, n)| Fault::Partition {
            blocked_callers: vec![p(n)],
            methods
        }),
    ]
}

proptest! {
    #[test]
    fn decisions_respect_caps_and_zero_probabilities(
        faults in prop::collection::vec(arb_fault(), 1..6),
        seed in any::<u64>(),
        calls in prop::collection::vec((prop::sample::select(vec!["a", "b", "c"]), 0..6u8), 1..40),
    ) {
        let mut h = hooks();
        h.set_plan(plan(1, seed, faults.clone()), NOW).unwrap();
        let caps = h.caps();
        for (method, who) in calls {
            let d = update(&mut h, method, p(who)).unwrap();
            prop_assert!(d.burn_instructions <= caps.max_burn_instructions);
            if let Action::Proceed { delay_rounds } = d.action {
                prop_assert!(delay_rounds <= caps.max_delay_rounds);
            }
            let may_reject = faults.iter().any(|f| plan::targets(f, method) && match f {
                Fault::Reject { probability_ppm, .. } => *probability_ppm > 0,
                Fault::Partition { blocked_callers, .. } => blocked_callers.contains(&p(who)),
                _ => false,
            });
            if !may_reject {
                prop_assert!(!matches!(d.action, Action::Reject { .. }), "{d:?}");
            }
        }
    }
}
